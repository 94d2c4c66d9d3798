"""The ``nuanxin`` command. ``nuanxin up`` is the main job: database, schema, data, service.

Errors this project raises on purpose print their message and exit 1, without a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.progress import Progress
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from geo import migrate
from geo.config import Settings, get_settings
from geo.crs import CoordSystem, parse_coord_system
from geo.db import make_engine, resolve_database_url, session_scope
from geo.errors import GeoError, InvalidInputError
from geo.exporters import (
    ENTERPRISE_FIELDS,
    STATION_FIELDS,
    ExportLayout,
    fetch_rows,
    layout_crs,
    write_boundaries,
    write_rows,
)
from geo.hsds import write_hsds
from geo.importers._validate import ImportReport, report_as_json, write_rejections
from geo.importers.coords import parse_source_crs
from geo.importers.files import ImportKind, import_file
from geo.importers.tables import parse_mapping
from geo.models import explain_integrity_error

app = typer.Typer(help="Nuanxin: map service for union stations and outdoor-worker rest points.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
db_app = typer.Typer(help="Create, start and migrate the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="API tokens for editors: add, list, revoke.", no_args_is_help=True)
app.add_typer(users_app, name="users")

F = TypeVar("F", bound=Callable[..., Any])
# Options the analysis commands (coverage, site, map) share.
_BOUNDARY_HELP = "code of a subdistrict or of a district (its subdistricts); repeatable"
BoundaryCodes = Annotated[list[str] | None, typer.Option("--boundary", help=_BOUNDARY_HELP)]
Vintage = Annotated[str | None, typer.Option("--vintage", help="boundary edition, if several")]


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
        except IntegrityError as exc:
            _, message = explain_integrity_error(exc)
            typer.secho(f"error: {message}; nothing was written", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from exc
        except ValidationError as exc:  # settings from the environment that cannot be used
            reasons = "; ".join(str(e.get("msg", e)) for e in exc.errors())
            typer.secho(f"error: invalid settings: {reasons}", fg=typer.colors.RED, err=True)
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
    for label, items in (("rejected", report.rejected), ("warning", report.warnings)):
        for item in items[:limit]:
            typer.echo(f"  {label} {item.location}: {item.column or 'row'}: {item.reason}")
        if len(items) > limit:
            typer.echo(f"  … and {len(items) - limit} more {label}")


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


@db_app.command("backup")
@friendly_errors
def db_backup(path: Annotated[Path, typer.Argument(help="dump file to write (.dump)")]) -> None:
    """Dump the whole database with pg_dump (custom format); restore it with `db restore`."""
    from geo.backup import backup, row_counts

    url = resolve_database_url(get_settings())
    backup(url, path)
    typer.echo(f"backup written to {path} ({path.stat().st_size:,} bytes): {row_counts(url)}")


@db_app.command("restore")
@friendly_errors
def db_restore(path: Annotated[Path, typer.Argument(help="a dump from `db backup`")]) -> None:
    """Restore a dump into the configured database, which must be empty (one transaction)."""
    from geo.backup import restore, row_counts

    url = resolve_database_url(get_settings())
    restore(url, path)
    typer.echo(f"restored {path}: {row_counts(url)}")


@users_app.command("add")
@friendly_errors
def users_add(
    name: Annotated[str, typer.Argument(help="who the token is for, e.g. fengtai-union")],
    role: Annotated[str, typer.Option(help="admin | district_editor")] = "district_editor",
    district: Annotated[
        str | None, typer.Option(help="district code an editor may change (12 digits)")
    ] = None,
) -> None:
    """Make a token; it is printed once and only its keyed hash is stored."""
    from geo.tokens import Role, create_token

    try:
        chosen = Role(role)
    except ValueError as exc:
        raise InvalidInputError("--role is admin or district_editor", field="role") from exc
    settings = get_settings()
    with _engine(settings).begin() as conn:
        token = create_token(conn, name, chosen, district,
                             settings.token_secret.get_secret_value())  # fmt: skip
    typer.echo(f"token for {name} ({chosen.value}{', ' + district if district else ''}):")
    typer.echo(token)
    typer.echo("it is shown only now; send it as 'Authorization: Bearer <token>'", err=True)


@users_app.command("list")
@friendly_errors
def users_list() -> None:
    """Every token: name, role, district, created, last used, revoked."""
    from sqlalchemy import text

    with _engine(get_settings()).connect() as conn:
        rows = conn.execute(text("SELECT name, role, district_code, created_at, last_used_at, "
                                 "revoked_at FROM api_tokens ORDER BY name")).all()  # fmt: skip
    for name, role, district, created, used, revoked in rows:
        state = f"revoked {revoked:%Y-%m-%d}" if revoked else "active"
        last = f"{used:%Y-%m-%d %H:%M}" if used else "never"
        typer.echo(f"{name}\t{role}\t{district or '-'}\tcreated {created:%Y-%m-%d}\t"
                   f"last used {last}\t{state}")  # fmt: skip


@users_app.command("revoke")
@friendly_errors
def users_revoke(name: Annotated[str, typer.Argument(help="the token's name")]) -> None:
    """Revoke a token: refused from the next request on."""
    from geo.tokens import revoke_token

    with _engine(get_settings()).begin() as conn:
        revoke_token(conn, name)
    typer.echo(f"revoked {name}")


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
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, readable=True, help="GeoJSON, CSV, XLSX; boundaries also SHP/zip/GPKG/KML"
        ),
    ],
    crs: Annotated[str, typer.Option(help="wgs84 | gcj02 | bd09 | cgcs2000 | EPSG:n")] = "wgs84",
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="'header=field'; repeatable")
    ] = None,
    source: Annotated[str | None, typer.Option(help="source name for rows without one")] = None,
    level: Annotated[
        str | None, typer.Option(help="boundaries: level for rows without one")
    ] = None,
    vintage: Annotated[
        str | None, typer.Option(help="boundaries: vintage for rows without one")
    ] = None,
    ignore_unknown: Annotated[bool, typer.Option(help="boundaries: drop unmapped columns")] = False,
    strict: Annotated[bool, typer.Option(help="abort on the first bad row")] = False,
) -> None:
    """Import a file in one transaction; rejected rows are listed and saved beside it."""
    defaults = {
        k: v for k, v in {"source": source, "level": level, "vintage": vintage}.items() if v
    }
    with Progress(transient=True) as bar, session_scope(_engine(get_settings())) as session:
        task = bar.add_task(f"validating {path.name}", total=None)
        report = import_file(
            session, path, kind, strict=strict, crs=parse_source_crs(crs),
            mapping=parse_mapping(map_ or []), defaults=defaults, ignore_unknown=ignore_unknown,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
        bar.update(task, description=f"writing {path.name}")
    _print_report(report)
    report_path = path.with_name(path.name + ".import-report.json")
    report_path.write_text(report_as_json(report), encoding="utf-8")
    typer.echo(f"full report: {report_path}")
    if report.rejected:
        out = write_rejections(report, path.with_name(path.name + ".rejected.csv"))
        typer.echo(f"rejected rows written to {out}")


class ExportTable(StrEnum):
    STATIONS = "stations"
    ENTERPRISES = "enterprises"
    BOUNDARIES = "boundaries"


@app.command("export")
@friendly_errors
def export(
    table: Annotated[ExportTable, typer.Argument(help="what to export")],
    path: Annotated[Path, typer.Argument(help=".geojson, .gpkg, .csv or .xlsx; a folder for hsds")],
    crs: Annotated[str, typer.Option(help="wgs84 | gcj02 (Amap/Tencent) | bd09 (Baidu)")] = "wgs84",
    layout: Annotated[
        ExportLayout, typer.Option(help="records, a platform's bulk layout, or hsds (a folder)")
    ] = ExportLayout.RECORDS,
) -> None:
    """Export to a file; `records` files import back unchanged; `hsds` is Open Referral 3.0."""
    try:
        system = parse_coord_system(crs)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="crs") from exc
    if table is ExportTable.BOUNDARIES:
        with _engine(get_settings()).connect() as conn:
            count = write_boundaries(conn, path)
        typer.echo(f"{count} boundaries written to {path}")
        return
    fields = STATION_FIELDS if table is ExportTable.STATIONS else ENTERPRISE_FIELDS
    if layout is not ExportLayout.RECORDS and table is not ExportTable.STATIONS:
        raise InvalidInputError("platform layouts are for stations", field="layout")
    with _engine(get_settings()).connect() as conn:
        rows = fetch_rows(conn, table.value)
    if layout is ExportLayout.HSDS:
        if system is not CoordSystem.WGS84:
            raise InvalidInputError("HSDS locations are WGS-84 by definition", field="crs")
        written = write_hsds(rows, path)
        typer.echo(f"{len(rows)} stations written as HSDS 3.0: {len(written)} files in {path}")
        return
    count = write_rows(rows, path, fields=fields, crs=system, layout=layout)
    typer.echo(f"{count} {table.value} written to {path} ({layout}, {layout_crs(layout, system)})")


@app.command("serve")
@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(help="default from settings")] = None,
    port: Annotated[int | None, typer.Option(help="default from settings")] = None,
) -> None:
    """Serve the API and map (the database must be migrated; see `nuanxin up`)."""
    import uvicorn

    from api.middleware import configure_logging  # the CLI is where the app is composed

    settings = get_settings()
    configure_logging(settings.api.json_logs)
    # On SIGTERM/SIGINT uvicorn stops accepting, lets requests in flight finish (up to 10 s),
    # then the app's lifespan fails running jobs with a reason and closes the pool.
    uvicorn.run("api.app:create_app", factory=True, host=host or settings.api.host,
                port=port or settings.api.port, proxy_headers=False, log_config=None,
                timeout_graceful_shutdown=10)  # fmt: skip


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


# Commands in their own modules register themselves on ``app`` when imported.
from geo import cli_coverage, cli_site  # noqa: E402,F401
from maps import cli_map  # noqa: E402,F401
