"""``nuanxin serve`` and ``nuanxin up``, the main job: database, schema, data, service."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.data import print_report
from cli.errors import friendly_errors
from cli.options import engine
from geo.config import ApiSettings, get_settings
from geo.store import migrate

Host = Annotated[str | None, typer.Option(help="default from settings")]
Port = Annotated[int | None, typer.Option(help="default from settings")]
Workers = Annotated[
    int | None, typer.Option(min=1, max=64, help="worker processes (default from settings)")
]
RootPath = Annotated[
    str | None, typer.Option(help="path prefix a reverse proxy serves us under, e.g. /nuanxin")
]
TrustedProxy = Annotated[
    list[str] | None,
    typer.Option("--trusted-proxy", help="a reverse proxy's address or CIDR network whose "
                 "X-Forwarded-For/-Proto are believed (repeat for several)"),
]  # fmt: skip


@friendly_errors
def serve(host: Host = None, port: Port = None, workers: Workers = None,
          root_path: RootPath = None, trusted_proxy: TrustedProxy = None) -> None:  # fmt: skip
    """Serve the API and map (the database must be migrated; see `nuanxin up`)."""
    import uvicorn

    from api.middleware import configure_logging
    from api.serving import uvicorn_options

    settings = get_settings()
    given = {"host": host, "port": port, "workers": workers, "root_path": root_path,
             "trusted_proxies": trusted_proxy or None}  # fmt: skip
    api = ApiSettings.model_validate(
        settings.api.model_dump() | {k: v for k, v in given.items() if v is not None}
    )
    configure_logging(settings.api.json_logs)
    # On SIGTERM/SIGINT uvicorn stops accepting, lets requests in flight finish (up to 10 s),
    # then the app's lifespan fails running jobs with a reason and closes the pool. Worker
    # processes get these options through uvicorn's config, the rest from the environment.
    uvicorn.run("api.app:create_app", factory=True, **uvicorn_options(api))


@friendly_errors
def up(host: Host = None, port: Port = None, workers: Workers = None,
       root_path: RootPath = None, trusted_proxy: TrustedProxy = None) -> None:  # fmt: skip
    """The main job: start the database, migrate, load the bundled data, serve."""
    from geo.importers.bundled import load_bundled

    settings = get_settings()
    db = engine(settings)
    migrate.upgrade(db)
    for report in load_bundled(db, settings.data_dir):
        print_report(report)
    db.dispose()
    serve(host, port, workers, root_path, trusted_proxy)
