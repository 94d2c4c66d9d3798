"""The ``nuanxin`` command's one Typer app: every command registered here, nowhere else.

``nuanxin up`` is the main job: database, schema, data, service.
"""

from __future__ import annotations

import typer

from cli import coverage, data, db, report_map, serve, site, users

app = typer.Typer(help="Nuanxin: map service for union stations and outdoor-worker rest points.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
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
