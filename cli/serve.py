"""``nuanxin serve`` and ``nuanxin up``, the main job: database, schema, data, service."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.data import print_report
from cli.errors import friendly_errors
from cli.options import engine
from geo.config import get_settings
from geo.store import migrate

Host = Annotated[str | None, typer.Option(help="default from settings")]
Port = Annotated[int | None, typer.Option(help="default from settings")]


@friendly_errors
def serve(host: Host = None, port: Port = None) -> None:
    """Serve the API and map (the database must be migrated; see `nuanxin up`)."""
    import uvicorn

    from api.middleware import configure_logging

    settings = get_settings()
    configure_logging(settings.api.json_logs)
    # On SIGTERM/SIGINT uvicorn stops accepting, lets requests in flight finish (up to 10 s),
    # then the app's lifespan fails running jobs with a reason and closes the pool.
    uvicorn.run("api.app:create_app", factory=True, host=host or settings.api.host,
                port=port or settings.api.port, proxy_headers=False, log_config=None,
                timeout_graceful_shutdown=10)  # fmt: skip


@friendly_errors
def up(host: Host = None, port: Port = None) -> None:
    """The main job: start the database, migrate, load the bundled data, serve."""
    from geo.importers.bundled import load_bundled

    settings = get_settings()
    db = engine(settings)
    migrate.upgrade(db)
    for report in load_bundled(db, settings.data_dir):
        print_report(report)
    db.dispose()
    serve(host, port)
