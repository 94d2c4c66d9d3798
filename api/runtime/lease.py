"""This worker's lease: an advisory lock held on its own connection for as long as it lives.

Siting jobs run inside the API worker that accepted them (a child process of it), so a job is
only alive while that worker is. Each worker takes one session-level advisory lock, keyed by
its own ``owner`` name, and stamps that name on every job it accepts. PostgreSQL drops the lock
the moment the worker's connection ends — a clean stop, a crash, SIGKILL, a lost machine — so
"the owner's lock is free" is "its worker is gone", on any host. But every lock is lost at
once when PostgreSQL restarts or the network blips, and re-taken a few seconds later; so the
lease also touches its jobs' ``heartbeat_at`` at every ping, and
:func:`api.planning.jobs.fail_orphans` fails a job only when its owner holds no lock *and* has
not touched it for a grace period: a dead worker's jobs go, a live one's survive the restart.

The lease's session ends itself after ``IDLE_S`` without a ping (``idle_session_timeout``), so a
connection cut on the client's side (a partition) does not hold the lock for the hours TCP takes
to notice. Without the lock the worker accepts no job: another worker would take it for an
orphan.
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
PING_S = 2.0  # and heartbeat
TIMEOUT_S = 2.0
IDLE_S = 15  # the server ends a lease session silent this long: its lock is free again
RETRY_S = (0.1, 0.5, 1.0, 2.0, 5.0)
log = logging.getLogger("nuanxin.jobs")
_HEARTBEAT = (
    "UPDATE jobs SET heartbeat_at = now() WHERE owner = $1 AND status IN ('queued', 'running')"
)


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
        return self.acquired.is_set() and self._conn is not None and not self._conn.is_closed()

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
            except (OSError, RuntimeError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    TimeoutError) as exc:  # fmt: skip
                log.warning("worker lease lost (%s); re-taking it", exc)
            except Exception:  # never let the lease die: this worker would refuse jobs forever
                log.exception("worker lease failed unexpectedly; re-taking it")
            finally:
                if self.acquired.is_set():  # it was held: the next loss starts the back-off anew
                    failures = 0
                await self._drop()
            await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])
            failures += 1

    async def _hold(self) -> None:
        """Connect, take the lock, and keep the connection alive until it fails."""
        named = {"application_name": APPLICATION_NAME, "idle_session_timeout": f"{IDLE_S}s"}
        conn = await asyncpg.connect(self._url, timeout=TIMEOUT_S, server_settings=named)
        self._conn = conn
        taken = await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))",
                                    LEASE_NAMESPACE, self.owner)  # fmt: skip
        if not taken:  # our previous session, not yet ended by the server (within IDLE_S)
            raise RuntimeError(f"worker lease {self.owner} is still held by an old session")
        self.acquired.set()
        while True:
            await asyncio.wait_for(conn.execute(_HEARTBEAT, self.owner), TIMEOUT_S)
            await asyncio.sleep(PING_S)
