"""``Services``: everything the app keeps for its lifetime, in one typed object.

``create_app`` builds it (settings, metrics, caches, job slots) and stores it as
``app.state.services``, the only attribute the app keeps on its state; the lifespan fills in
what needs I/O (the pool, layer versions, the locator's snapshot, the walking network) and
empties it again at shutdown. Without a lifespan (some tests) those stay ``None`` and every
reader knows what to do then: routes read through ``pool`` or fail with a 503.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api.middleware import Metrics
from api.runtime.caches import SCOPE_ENTRIES, LruCache, TileCache
from geo.config import Settings

if TYPE_CHECKING:
    import asyncpg

    from api.runtime.freshness import LayerVersions
    from api.runtime.lease import WorkerLease
    from api.runtime.places import LivePlaces
    from geo.coverage.query import CoverageRun
    from geo.network.router import WalkRouter

RUNNING_JOBS_PER_WORKER = 1  # siting runs at once per process; the rest wait (queued)


@dataclass(eq=False)
class JobSlots:
    """This process's background jobs: a cap on those running, and a reference to each task
    (an unreferenced task may be collected mid-run) so shutdown can cancel them."""

    running: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(RUNNING_JOBS_PER_WORKER)
    )
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def keep(self, task: asyncio.Task[Any]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def cancel_all(self) -> None:
        """Cancel every job (each marks itself failed, with a reason) and wait for them."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(eq=False)
class Services:
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    tile_cache: TileCache = field(default_factory=TileCache)
    coverage_cache: LruCache[CoverageRun] = field(default_factory=LruCache)
    # api.planning.coverage.ScopeData (typed there: runtime does not import the routes)
    scope_cache: LruCache[Any] = field(default_factory=lambda: LruCache(SCOPE_ENTRIES))
    jobs: JobSlots = field(default_factory=JobSlots)
    # Filled by the lifespan:
    pool: asyncpg.Pool | None = None  # the primary: writes, and editors' reads
    read_pool: asyncpg.Pool | None = None  # a replica, when NUANXIN_DATABASE_READ_URL
    versions: LayerVersions | None = None  # shared layer versions (freshness)
    places: LivePlaces | None = None  # the locator's in-memory stations
    walk_router: WalkRouter | None = None  # when settings name a walking network
    lease: WorkerLease | None = None  # this worker's advisory lock: its jobs are alive

    @property
    def reads(self) -> asyncpg.Pool | None:
        """Where public reads go: the replica's pool when there is one, else the primary's."""
        return self.read_pool if self.read_pool is not None else self.pool


def services_of(app: Any) -> Services:
    """The app's services (``app`` a Starlette app, e.g. ``request.app`` or ``scope["app"]``)."""
    services: Services = app.state.services
    return services
