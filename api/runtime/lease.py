"""This worker's lease: an advisory lock held on its own connection for as long as it lives.

Siting jobs run inside the API worker that accepted them (a child process of it), so a job is
only alive while that worker is. Each worker takes one session-level advisory lock, keyed by
its own ``owner`` name, and stamps that name on every job it accepts. PostgreSQL drops the lock
the moment the worker's connection ends — a clean stop, a crash, SIGKILL, a lost machine — so
"the owner's lock is free" is exactly "its worker is gone", on any host, with no heartbeat
and no clock to trust. :func:`api.planning.jobs.fail_orphans` asks that of every active job.

Without the lock (the database is down, or the connection was lost and is being re-made) the
worker accepts no job: another worker would rightly take it for an orphan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

import asyncpg

LEASE_NAMESPACE = 0x6E78  # "nx": the first key of the two-key advisory lock, ours alone
APPLICATION_NAME = "nuanxin-lease"
PING_S = 2.0
TIMEOUT_S = 2.0
RETRY_S = (0.1, 0.5, 1.0, 2.0, 5.0)
log = logging.getLogger("nuanxin.jobs")


def new_owner() -> str:
    """``host:pid:random``: unique even for two apps in one process (the tests serve several)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class WorkerLease:
    """``start()`` in the app's lifespan, ``stop()`` at its end; ``held`` while the lock is."""

    def __init__(self, url: str, owner: str | None = None) -> None:
        self.owner = owner or new_owner()
        self._url = url
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.acquired = asyncio.Event()  # set while the lock is held

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep(), name="worker-lease")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.acquired.clear()
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), TIMEOUT_S)

    async def _keep(self) -> None:
        failures = 0
        while True:
            try:
                await self._hold()
                failures = 0
            except (OSError, RuntimeError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    TimeoutError) as exc:  # fmt: skip
                log.warning("worker lease lost (%s); re-taking it", exc)
            finally:
                await self._drop()
            await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])
            failures += 1

    async def _hold(self) -> None:
        """Connect, take the lock, and keep the connection alive until it fails."""
        named = {"application_name": APPLICATION_NAME}
        conn = await asyncpg.connect(self._url, timeout=TIMEOUT_S, server_settings=named)
        self._conn = conn
        taken = await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))",
                                    LEASE_NAMESPACE, self.owner)  # fmt: skip
        if not taken:  # only a second app with this very owner name could hold it
            raise RuntimeError(f"worker lease {self.owner} is held elsewhere")
        self.acquired.set()
        while True:
            await asyncio.sleep(PING_S)
            await asyncio.wait_for(conn.fetchval("SELECT 1"), TIMEOUT_S)
