"""``/healthz``: is the service able to answer from the database right now?"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from api.deps import ConnectionDep
from api.schemas import Health
from geo.errors import DatabaseUnavailableError

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT_S = 3.0


_STATE_SQL = """
SELECT (SELECT extversion FROM pg_extension WHERE extname = 'postgis') AS postgis,
       to_regclass('alembic_version') IS NOT NULL AS migrated
"""


@router.get("/healthz", response_model=Health, summary="Database reachable and migrated")
async def healthz(conn: ConnectionDep) -> Health:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            state = await conn.fetchrow(_STATE_SQL)
            revision = (
                await conn.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
                if state["migrated"]
                else None
            )
    except TimeoutError as exc:
        raise DatabaseUnavailableError("database health check timed out") from exc
    if state["postgis"] is None or revision is None:
        raise DatabaseUnavailableError("database schema is not migrated (run nuanxin db upgrade)")
    return Health(status="ok", database="ok", postgis=state["postgis"], schema_revision=revision)
