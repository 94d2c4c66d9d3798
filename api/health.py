"""Operations: ``/healthz`` (the process answers), ``/readyz`` (it can serve: database reachable,
PostGIS present, schema at the code's revision) and ``/metrics`` (Prometheus).

A load balancer restarts on a failing ``/healthz`` and stops routing on a failing ``/readyz``;
a database outage must do the second, never the first.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ConnectionDep
from api.errors import DATABASE_DOWN
from api.runtime.services import services_of
from api.schemas import Health, Liveness
from geo.errors import DatabaseUnavailableError
from geo.store import migrate

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT_S = 3.0
STARTED = time.monotonic()

_STATE_SQL = """
SELECT (SELECT extversion FROM pg_extension WHERE extname = 'postgis') AS postgis,
       to_regclass('alembic_version') IS NOT NULL AS migrated
"""


# The primary's write position (as text: asyncpg has no pg_lsn codec) against the replica's.
_BEHIND_SQL = """
SELECT greatest(0, pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn()))::int8
"""


@router.get("/healthz", response_model=Liveness, summary="The process is alive")
async def healthz() -> Liveness:
    return Liveness(status="ok", uptime_s=round(time.monotonic() - STARTED, 1))


@router.get("/readyz", response_model=Health, summary="Database reachable and migrated")
async def readyz(request: Request, conn: ConnectionDep) -> Health:
    replica = services_of(request.app).read_pool
    behind = None
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            state = await conn.fetchrow(_STATE_SQL)
            revision = (
                await conn.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
                if state["migrated"]
                else None
            )
            if replica is not None:  # public reads need it: not ready without it
                behind = await _replica_behind(conn, replica)
    except TimeoutError as exc:
        raise DatabaseUnavailableError("database readiness check timed out") from exc
    if state["postgis"] is None or revision is None:
        raise DatabaseUnavailableError("database schema is not migrated (run nuanxin db upgrade)")
    head = migrate.head_revision()
    if revision != head:
        raise DatabaseUnavailableError(f"database schema is at {revision}, this code needs "
                                       f"{head} (run nuanxin db upgrade)")  # fmt: skip
    return Health(status="ok", database="ok", postgis=state["postgis"], schema_revision=revision,
                  replica_behind_bytes=behind)  # fmt: skip


async def _replica_behind(primary: asyncpg.Connection, replica: asyncpg.Pool) -> int:
    """Bytes of WAL the replica has yet to replay (0: caught up)."""
    written = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
    try:
        async with replica.acquire() as conn:
            behind = await conn.fetchval(_BEHIND_SQL, written)
    except DATABASE_DOWN as exc:
        raise DatabaseUnavailableError("the read replica is not reachable") from exc
    return int(behind or 0)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    services = services_of(request.app)
    metrics, pool = services.metrics, services.pool
    if pool is not None:  # read at scrape time: always current
        metrics.pool.labels("open").set(pool.get_size())
        metrics.pool.labels("idle").set(pool.get_idle_size())
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
