"""The ``nuanxin`` command. ``nuanxin up`` is the main job: database, schema, data, service.

Errors this project raises on purpose print their message and exit 1, without a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from geo import migrate
from geo.config import Settings, get_settings
from geo.db import make_engine, resolve_database_url, session_scope
from geo.errors import GeoError
from geo.importers._validate import ImportReport, write_rejections
from geo.importers.files import ImportKind, import_file

app = typer.Typer(help="Nuanxin: map service for union stations and outdoor-worker rest points.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
db_app = typer.Typer(help="Create, start and migrate the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Show a GeoError or a lost database as one readable line and exit 1.

    Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GeoError as exc:
            typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from exc
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
            typer.secho(f"error: cannot reach the database: {reason}", fg=typer.colors.RED,
                        err=True)  # fmt: skip
            raise typer.Exit(1) from exc

    return wrapper  # type: ignore[return-value]


def _engine(settings: Settings) -> Engine:
    return make_engine(resolve_database_url(settings))


def _print_report(report: ImportReport, limit: int = 20) -> None:
    typer.echo(report.summary())
    for item in report.rejected[:limit]:
        typer.echo(f"  {item.location}: {item.column or 'row'}: {item.reason}")
    if len(report.rejected) > limit:
        typer.echo(f"  … and {len(report.rejected) - limit} more")


@db_app.command("url")
@friendly_errors
def db_url() -> None:
    """Start the local cluster if needed and print the database URL (contains the password)."""
    typer.echo(resolve_database_url(get_settings()))


@db_app.command("upgrade")
@friendly_errors
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    engine = _engine(get_settings())
    migrate.upgrade(engine, revision)
    typer.echo(f"schema at revision {migrate.current_revision(engine)}")


@db_app.command("downgrade")
@friendly_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="target, e.g. base")]) -> None:
    """Revert migrations down to REVISION ('base' drops every table of the project)."""
    engine = _engine(get_settings())
    migrate.downgrade(engine, revision)
    typer.echo(f"schema at revision {migrate.current_revision(engine) or 'base'}")


@db_app.command("current")
@friendly_errors
def db_current() -> None:
    """Print the schema revision the database is at, and the newest one available."""
    engine = _engine(get_settings())
    typer.echo(f"current: {migrate.current_revision(engine) or 'base'}")
    typer.echo(f"head:    {migrate.head_revision()}")


@app.command("load")
@friendly_errors
def load(
    data_dir: Annotated[Path | None, typer.Option(help="default: the bundled data/")] = None,
) -> None:
    """Load the bundled dataset (idempotent: a second run changes nothing)."""
    from geo.bundled import load_bundled

    settings = get_settings()
    for report in load_bundled(_engine(settings), data_dir or settings.data_dir):
        _print_report(report)


@app.command("import")
@friendly_errors
def import_(
    kind: Annotated[ImportKind, typer.Argument(help="what the file holds")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    strict: Annotated[bool, typer.Option(help="abort on the first bad row")] = False,
) -> None:
    """Import a GeoJSON file; rejected rows are listed and written to FILE.rejected.csv."""
    with session_scope(_engine(get_settings())) as session:
        report = import_file(session, path, kind, strict=strict)
    _print_report(report)
    if report.rejected:
        out = write_rejections(report, path.with_suffix(path.suffix + ".rejected.csv"))
        typer.echo(f"rejected rows written to {out}")


@app.command("serve")
@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(help="default from settings")] = None,
    port: Annotated[int | None, typer.Option(help="default from settings")] = None,
) -> None:
    """Serve the API and map (the database must be migrated; see `nuanxin up`)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run("api.app:create_app", factory=True, host=host or settings.api.host,
                port=port or settings.api.port, proxy_headers=False)  # fmt: skip


@app.command("up")
@friendly_errors
def up(
    host: Annotated[str | None, typer.Option(help="default from settings")] = None,
    port: Annotated[int | None, typer.Option(help="default from settings")] = None,
) -> None:
    """The main job: start the database, migrate, load the bundled data, serve."""
    from geo.bundled import load_bundled

    settings = get_settings()
    engine = _engine(settings)
    migrate.upgrade(engine)
    for report in load_bundled(engine, settings.data_dir):
        _print_report(report)
    engine.dispose()
    serve(host, port)


def main() -> None:
    app()
