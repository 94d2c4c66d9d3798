"""The API benchmark's baseline: the smallest FastAPI + asyncpg nearest-10 endpoint.

One SQL statement, ``ORDER BY geom <-> point LIMIT 10`` (KNN on the GiST index, so by degrees),
with the true distance in metres alongside; rows go out as JSON through FastAPI's default
serialisation. No validation beyond FastAPI's float parsing, no opening hours, no links.

Run by ``bench/api.py`` as ``uvicorn bench.api_minimal:create_app --factory`` with
``BENCH_DATABASE_URL`` set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request

NEAREST_SQL = """
SELECT s.id, s.name, s.kind, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
       ST_Distance(s.geom::geography, p.pt::geography) AS distance_m
  FROM stations AS s, (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS pt) AS p
 WHERE s.status = 'open'
 ORDER BY s.geom <-> p.pt
 LIMIT 10
"""


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            os.environ["BENCH_DATABASE_URL"], min_size=1, max_size=10
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/nearest")
    async def nearest(request: Request, lon: float, lat: float) -> list[dict[str, Any]]:
        async with request.app.state.pool.acquire() as conn:
            rows = await conn.fetch(NEAREST_SQL, lon, lat)
        return [dict(row) for row in rows]

    return app
