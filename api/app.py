"""``create_app(settings)``: the FastAPI application. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from threadpoolctl import ThreadpoolController

from api import boundaries, health, pages, stations
from api.editing import console, reports, service, sessions, uploads
from api.editing import routes as editing
from api.errors import install_error_handlers
from api.fastpath import GZIP_LEVEL, GZIP_MIN
from api.locator import route as locator
from api.locator.fastpath import LocateFastPath
from api.middleware import OperationsMiddleware
from api.ogc import features, styles, tiles, tilesets
from api.ogc.tile_fastpath import TileFastPath
from api.openapi import document_operations
from api.planning import coverage, jobs, national, national_siting, workbench
from api.runtime.database import open_pool
from api.runtime.freshness import LayerVersions
from api.runtime.lease import WorkerLease
from api.runtime.places import LivePlaces
from api.runtime.services import Services
from geo.config import Settings, get_settings
from geo.network.router import WalkRouter
from geo.store.db import resolve_database_url
from maps.pages import STATIC_DIR

log = logging.getLogger("nuanxin.api")
LEASE_WAIT_S = 3.0  # at start-up, for this worker's lease before sweeping orphaned jobs


async def _fail_orphaned_jobs(services: Services) -> None:
    """At start-up: jobs left by a worker that died are failed, not left queued forever. With
    the database down this waits a little and moves on (every job creation and poll sweeps)."""
    assert services.lease is not None and services.pool is not None
    try:
        await asyncio.wait_for(services.lease.acquired.wait(), LEASE_WAIT_S)
        async with services.pool.acquire() as conn:
            orphans = await jobs.fail_orphans(conn)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        log.warning("orphaned jobs not checked at start-up (%s); the next poll will", exc)
        return
    if orphans:
        log.warning("failed %d jobs whose worker had stopped: %s", len(orphans),
                    ", ".join(map(str, orphans)))  # fmt: skip


# In this order: /stations/due before /stations/{id}; /coverage/national before /coverage's.
ROUTERS = (
    health.router, service.router, stations.router, boundaries.router, features.router,
    locator.router, national.router, national_siting.router, coverage.router, jobs.router,
    workbench.router, editing.router, uploads.router, reports.router, sessions.router,
    console.router, pages.router, tiles.router, tilesets.router, styles.router,
)  # fmt: skip


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    services = Services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = resolve_database_url(settings)
        services.pool = await open_pool(url)
        # Public reads, and the versions and snapshot they are checked against, come from one
        # server: the replica when there is one (consistent with itself, a little behind).
        read_url = settings.database_read_url or url
        if settings.database_read_url:
            services.read_pool = await open_pool(read_url, name="nuanxin-api-read")
        services.versions = LayerVersions(read_url)
        services.versions.start()
        services.lease = WorkerLease(url)
        services.lease.start()
        await _fail_orphaned_jobs(services)
        if settings.api.walk_network is not None:  # a bad file stops start-up, saying why
            services.walk_router = await load_walk_router(settings.api.walk_network)
        # pykdtree (the locator's shortlist) runs each query on an OpenMP team: for one point
        # the team only costs, and its idle threads spin on another core (3-4.5x the CPU per
        # /locate, measured). One thread for every OpenMP library loaded in this process.
        ThreadpoolController().limit(limits=1, user_api="openmp")
        services.places = LivePlaces(services.reads)
        await services.places.rebuild()  # before the freeze below; SQL if it fails
        # What exists after start-up lives as long as the app: keep it out of the collector's
        # scans (a full collection of it took ~80 ms and made every endpoint's p99).
        gc.freeze()
        try:
            yield
        finally:  # graceful: stop our jobs (marked failed, with a reason), then the pool
            await services.jobs.cancel_all()
            await services.lease.stop()
            await services.places.stop()
            await services.versions.stop()
            await services.pool.close()
            if services.read_pool is not None:
                await services.read_pool.close()
            services.pool = services.versions = services.places = services.walk_router = None
            services.read_pool = None
            services.lease = None

    app = FastAPI(
        title="Nuanxin 暖心 API",
        summary="Union service stations and outdoor-worker rest points",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services  # the only attribute on the state: see api/runtime/services
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN, compresslevel=GZIP_LEVEL)
    # The console's cookie-authenticated writes need its CSRF token (api/editing/sessions.py).
    app.add_middleware(sessions.ConsoleCsrf, secret=settings.token_secret.get_secret_value(),
                       secure=settings.environment == "production")  # fmt: skip
    cors: dict[str, Any] | None = None
    if settings.api.cors_origins:
        cors = {"allow_origins": settings.api.cors_origins, "allow_headers": ["*"],
                "allow_methods": ["GET", "POST", "PATCH", "DELETE"],
                "expose_headers": ["X-Request-ID", "Location"]}  # fmt: skip
        app.add_middleware(CORSMiddleware, **cors)
    app.add_middleware(TileFastPath, cors=cors)  # cached tiles, before routing and GZip
    app.add_middleware(LocateFastPath, cors=cors)  # the locator, likewise
    # Outermost: ids, limits, shedding and metrics apply to everything, errors included.
    app.add_middleware(OperationsMiddleware, settings=settings.api, metrics=services.metrics)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    document_operations(app, ROUTERS)
    return app


async def load_walk_router(path: Path) -> WalkRouter:
    """The locator's street network, read once (in a thread: a city extract takes seconds)."""
    router = await asyncio.to_thread(WalkRouter.from_file, path)
    log.info("walking network %s: %d nodes, %d edges", path.name,
             len(router.network.node_xy), router.network.edges)  # fmt: skip
    return router
