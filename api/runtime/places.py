"""The locator's in-memory stations (:class:`geo.locator.index.PlaceIndex`), kept current.

A snapshot is read in one repeatable-read transaction together with the ``stations`` and
``boundaries`` layer versions it reflects (migration 0003: every committed change to either
table gives its layer a new, never reused version). A request may use it only when the versions
it read after arriving (:class:`api.runtime.freshness.LayerVersions`) are the snapshot's own: an
edit committed by any process before the request arrived is in the answer, exactly as with the
SQL path. Otherwise the request takes the SQL path and one rebuild starts in the background;
rebuilds run one at a time, so a stream of edits costs at most one snapshot at a time.

Only touched from the event loop; the CPU-bound part of a rebuild runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.runtime.freshness import Versions, read_versions
from geo.locator.index import PlaceIndex
from geo.locator.rules import Candidate

INDEX_MAX_PLACES = 500_000  # beyond (~1 KB each in memory), the locator stays on SQL alone
REBUILD_GAP_S = 0.5  # between two rebuilds: an import of many statements is not N snapshots
LAYERS = ("stations", "boundaries")  # what a located place shows comes from these two tables
log = logging.getLogger("nuanxin.locator")

# The columns of api.locator.sql (distance_m filled per request), every open station.
SNAPSHOT_SQL = """
SELECT s.id, s.name, s.kind, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, 0.0::float8 AS distance_m,
       s.amenities, s.opening_hours, s.last_verified_at, s.address, s.phone, s.host_type,
       s.host_name, b.code AS boundary_code, b.name AS boundary_name, s.access,
       s.access_condition
  FROM stations AS s
  LEFT JOIN boundaries AS b ON b.id = s.boundary_id
 WHERE s.status = 'open' AND s.deleted_at IS NULL
"""
_COUNT_SQL = "SELECT count(*) FROM stations WHERE status = 'open' AND deleted_at IS NULL"

Key = tuple[int, ...]  # the layers' versions, in LAYERS order


@dataclass(slots=True)
class Snapshot:
    """An index, and what the API derives per place while it is current (a snapshot never
    changes: an edit makes a new one)."""

    index: PlaceIndex
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # when it was read
    statics: dict[int, Any] = field(default_factory=dict)  # station id -> its fixed JSON parts
    hours_filters: dict[Any, Any] = field(default_factory=dict)  # api.locator.route._hours_filter


def key_of(versions: Versions) -> Key:
    return tuple(versions.get(layer, (0, ""))[0] for layer in LAYERS)


async def read_snapshot(conn: asyncpg.Connection, max_places: int = INDEX_MAX_PLACES,
                        ) -> tuple[Key, list[Candidate] | None]:  # fmt: skip
    """The layers' versions and the open stations as of one moment; ``None``: too many.
    Inside a transaction of the caller's (tests), its isolation applies."""
    one_moment = conn.transaction(isolation="repeatable_read", readonly=True)
    async with nullcontext() if conn.is_in_transaction() else one_moment:
        by_layer = await read_versions(conn, LAYERS)
        key = tuple(by_layer.get(layer, (0, ""))[0] for layer in LAYERS)
        if await conn.fetchval(_COUNT_SQL) > max_places:
            return key, None
        return key, [Candidate._make(row) for row in await conn.fetch(SNAPSHOT_SQL)]


class LivePlaces:
    """The newest snapshot's index and the versions it reflects; rebuilt when they move on."""

    def __init__(self, pool: asyncpg.Pool, max_places: int = INDEX_MAX_PLACES) -> None:
        self._pool = pool
        self._max_places = max_places
        self._key: Key | None = None
        self._snapshot: Snapshot | None = None  # None with a key: too many places for memory
        self._task: asyncio.Task[None] | None = None
        self._wanted: Key | None = None  # the newest versions a request has seen
        self._built_at = -REBUILD_GAP_S
        self.builds = 0  # snapshots read, for tests and curiosity

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot read, current or not."""
        return self._snapshot

    def snapshot_for(self, versions: Versions) -> Snapshot | None:
        """The snapshot when it reflects exactly ``versions``; else ``None`` (and catch up)."""
        key = key_of(versions)
        if key == self._key:
            return self._snapshot
        self._wanted = key
        self.refresh()
        return None

    def refresh(self) -> None:
        """Start a rebuild unless one is running (it re-checks what is wanted when done)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.rebuild(), name="locator-places")

    async def rebuild(self) -> None:
        """Read a snapshot (again while requests have seen newer versions than it holds)."""
        while True:
            await asyncio.sleep(max(0.0, self._built_at + REBUILD_GAP_S - time.monotonic()))
            reading = datetime.now(UTC)
            try:
                async with self._pool.acquire() as conn:
                    key, places = await read_snapshot(conn, self._max_places)
                index = None if places is None else await asyncio.to_thread(PlaceIndex, places)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("locator snapshot failed (%r); the locator uses SQL meanwhile", exc)
                return  # the next request with other versions tries again
            finally:
                self._built_at = time.monotonic()
            if places is None and (self._key is None or self._snapshot is not None):
                log.info("more than %d open stations: the locator uses SQL alone",
                         self._max_places)  # fmt: skip
            self.builds += 1
            self._key, self._snapshot = key, None if index is None else Snapshot(index, reading)
            if self._wanted is None or _older(self._wanted, key):
                return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _older(wanted: Key, built: Key) -> bool:
    """Not newer than what was built (versions only grow): no need to read again; a request
    that saw older versions than the snapshot's is answered by SQL anyway."""
    return all(w <= b for w, b in zip(wanted, built, strict=True))
