"""The map layers' data versions, kept cheap to read without ever serving a stale tile.

A cached tile (and the locator's in-memory stations) is only as fresh as the version that keys
it, so the version must reflect every commit that finished before the request arrived. Reading
it from ``layer_versions`` on every request is correct but costs a pool round trip per tile.
This module keeps one dedicated connection per worker and **coalesces** the reads: a request
joins the next read on that connection (never one already under way, which may predate a commit
the client has seen), so under load one query answers many requests, and every answer is as
fresh as a read made after the request arrived.

There used to be a dormant second mode, versions trusted in memory while LISTEN/NOTIFY vouched
for them. It was removed (issue 19): measured, it saved no CPU per request (BENCHMARKS.md), it
let a request inside the notification's delivery window get a stale tile, and a read replica
cannot LISTEN at all.

The locator alone may take a **recent** read (``recent()``): one that started at most
``RECENT_S`` (50 ms) ago and after every write through this worker finished. Its answers are
not cached anywhere, a worker at a roadside cannot tell 50 ms, and under load a read per few
requests was 7 % of a locator answer's CPU and ~500 queries a second per worker on the
database (BENCHMARKS.md); with it, at most 20 a second. So a commit through this worker is in
its very next locator answer, as before; one through another worker or process, within 50 ms
(issue 19 asks for one second). Tiles are cached by browsers and CDNs under their ETag, so they
keep the strict read.

When the dedicated connection is down, ``current()`` returns ``None`` and the caller reads the
version itself through the pool, as before. Only touched from the event loop: no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import asyncpg

APPLICATION_NAME = "nuanxin-tile-versions"
PING_S = 2.0  # a silent connection is noticed within PING_S + TIMEOUT_S
TIMEOUT_S = 1.0
RETRY_S = (0.05, 0.2, 0.5, 1.0, 2.0)  # reconnect back-off
RECENT_S = 0.05  # how old a read the locator may use (see above)
_READ = "SELECT layer, version, changed_at FROM layer_versions"
# The same read, joined into a larger statement (a tile and the version it was drawn from come
# from one snapshot): ``lv.version`` and ``lv.changed_at`` of ``{layer}``.
VERSION_JOIN = "LEFT JOIN layer_versions AS lv ON lv.layer = '{layer}'"
Versions = dict[str, tuple[int, str]]  # layer -> (version, changed_at as ISO text)
VERSIONS_KEY = "nuanxin.tile_versions"  # in the ASGI scope: versions read for this request
log = logging.getLogger("nuanxin.tiles")


class LayerVersions:
    """Versions for the tile paths and the locator; ``start()`` in the app's lifespan, ``stop()``
    at its end."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: asyncpg.Connection | None = None
        self._next: asyncio.Future[Versions | None] | None = None  # the read to join
        self._reader: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_read = 0.0
        self.reads = 0  # queries issued, for tests and curiosity
        # The newest versions ever read: while the database cannot be reached, what the tiles
        # cached under them still show (served as they are, never as fresh).
        self.last_known: Versions | None = None
        # The newest successful read: (monotonic start, write epoch at its start, versions).
        self._recent: tuple[float, int, Versions] | None = None
        self._writing = 0  # primary connections handed out by this worker and not yet back
        self._epoch = 0  # moves as each is taken and given back: reads before it are too old

    @property
    def connected(self) -> bool:
        return self._conn is not None

    async def current(self) -> Versions | None:
        """Versions at least as new as every commit before this call; ``None``: read yourself."""
        if self._conn is None:
            return None
        return await self._join()

    async def recent(self) -> Versions | None:
        """Versions from a read that started at most ``RECENT_S`` ago, after every write through
        this worker ended; else as :meth:`current`."""
        last = self._recent
        if (last is not None and not self._writing and last[1] == self._epoch
                and self._conn is not None and time.monotonic() - last[0] <= RECENT_S):  # fmt: skip
            return last[2]
        return await self.current()

    def write_began(self) -> None:
        """A primary connection is handed out (it may write): no recent read until it is back."""
        self._writing += 1
        self._epoch += 1

    def write_ended(self) -> None:
        """It is back (committed or not): only reads that start from now on are recent."""
        self._writing -= 1
        self._epoch += 1

    async def _join(self) -> Versions | None:
        """Join the next read: one that starts after this call (shielded: shared)."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_loop())
        return await asyncio.shield(self._next)

    # --- reads ------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        while self._next is not None:
            future, self._next = self._next, None
            versions: Versions | None = None
            try:
                conn = self._conn
                versions = await self._read(conn) if conn is not None else None
            finally:  # whatever happened (even a cancel at stop), waiters get an answer:
                if not future.done():  # None sends them to the pool
                    future.set_result(versions)

    async def _read(self, conn: asyncpg.Connection) -> Versions | None:
        self.reads += 1
        self._last_read = started = time.monotonic()
        epoch = self._epoch
        try:
            rows = await conn.fetch(_READ, timeout=TIMEOUT_S)
        except asyncpg.PostgresError as exc:  # e.g. the table is missing: the pool path says so
            log.warning("reading layer versions failed: %s", exc)
            return None
        except (OSError, TimeoutError, asyncpg.InterfaceError) as exc:
            log.warning("tile version connection lost: %r", exc)
            conn.terminate()  # the supervisor reconnects
            return None
        versions = {row["layer"]: (row["version"], row["changed_at"].isoformat()) for row in rows}
        self.last_known = versions
        self._recent = (started, epoch, versions)
        return versions

    # --- the connection ---------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="tile-versions")

    async def stop(self) -> None:
        for task in (self._task, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._conn is not None:
            self._conn.terminate()
        self._down()
        if self._next is not None and not self._next.done():
            self._next.set_result(None)  # nobody waits forever on a read that will not run

    async def _supervise(self) -> None:
        attempt = 0
        while True:
            try:
                conn = await _connect(self._url)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                delay = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                if not attempt:  # once per outage, not every retry
                    log.warning("tile version connection failed (%r); retrying", exc)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            attempt, unexpected = 0, False
            try:
                await self._serve(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("tile version connection lost: %r", exc)
            except Exception:  # never let the supervisor die: requests would read forever
                log.exception("tile version connection failed unexpectedly")
                unexpected = True
            finally:
                self._down()
                conn.terminate()
            if unexpected:
                await asyncio.sleep(RETRY_S[-1])

    async def _serve(self, conn: asyncpg.Connection) -> None:
        """Ping until the connection is lost."""
        lost = asyncio.Event()

        def on_lost(_conn: asyncpg.Connection) -> None:
            if self._conn is conn:  # at once: later requests read through the pool
                self._down()
            lost.set()

        conn.add_termination_listener(on_lost)
        self._conn = conn
        while not lost.is_set():
            await self._ping()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), PING_S)

    async def _ping(self) -> None:
        """Read when nothing else did lately: notices a dead connection."""
        if time.monotonic() - self._last_read >= PING_S:
            await self._join()

    def _down(self) -> None:
        self._conn = None
        self._recent = None


async def read_versions(conn: asyncpg.Connection, layers: Sequence[str] | None = None) -> Versions:
    """The versions of ``layers`` (all when ``None``) as of now, through any connection: what a
    caller without :class:`LayerVersions` (no lifespan, its connection down) reads itself.
    Layers never changed are absent; callers treat them as ``(0, "")``."""
    if layers is None:
        rows = await conn.fetch(_READ)
    else:
        rows = await conn.fetch(_READ + " WHERE layer = ANY($1::text[])", list(layers))
    return {row["layer"]: (row["version"], row["changed_at"].isoformat()) for row in rows}


async def versions_now(versions: LayerVersions | None, conn: asyncpg.Connection) -> Versions:
    """As fresh as a read of every commit before this call: the shared versions when the app
    keeps them, else read through ``conn``."""
    known = await versions.current() if versions is not None else None
    return known if known is not None else await read_versions(conn)


async def _connect(url: str) -> asyncpg.Connection:
    """The dedicated connection (a module function, so tests can make it fail)."""
    return await asyncpg.connect(
        url, timeout=5, server_settings={"application_name": APPLICATION_NAME}
    )
