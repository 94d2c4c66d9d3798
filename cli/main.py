"""The ``nuanxin`` command's one Typer app: every command registered here, nowhere else.

``nuanxin up`` is the main job: database, schema, data, service.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from cli import coverage, data, db, report_map, serve, site, users

app = typer.Typer(help="Nuanxin: map service for union stations and outdoor-worker rest points.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip


def _version(asked: bool) -> None:
    if asked:
        try:
            typer.echo(f"nuanxin {version('nuanxin')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("nuanxin (not installed)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Nuanxin: map service for union stations and outdoor-worker rest points."""


app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.command("load")(data.load)
app.command("import")(data.import_)
app.command("export")(data.export)
app.command("coverage")(coverage.coverage)
app.command("site")(site.site_command)
app.command("map")(report_map.map_command)
app.command("serve")(serve.serve)
app.command("up")(serve.up)


def main() -> None:
    app()
