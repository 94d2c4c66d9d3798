"""Tiles with the app's lifespan running: versions from the dedicated connection (coalesced
reads), the fallback when it is down, and the fast path that answers cached tiles before
routing with the route's own headers.

Every test commits in its own scratch database, as a real deployment (another worker, an
import, psql) would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from api.app import create_app
from api.runtime import freshness as tile_versions
from api.runtime.freshness import APPLICATION_NAME, LayerVersions
from geo.config import DEV_TOKEN_SECRET, ApiSettings, Settings
from geo.store import migrate
from geo.store.db import make_engine
from geo.store.tokens import secret_hash
from tests.api.ogc.test_tiles import ONLY_S1, by_name

pytestmark = pytest.mark.anyio
PARTNER = "https://partner.example"


@pytest.fixture(scope="module")
def migrated_url(scratch_database_url: str) -> str:
    engine = make_engine(scratch_database_url)
    migrate.upgrade(engine)
    engine.dispose()
    return scratch_database_url


class Live:
    def __init__(self, http: httpx.AsyncClient, versions: LayerVersions,
                 writer: asyncpg.Connection, app: Any) -> None:  # fmt: skip
        self.http, self.versions, self.writer, self.app = http, versions, writer, app

    async def names(self, path: str = ONLY_S1) -> tuple[set[str], httpx.Response]:
        response = await self.http.get(path, headers={"Accept-Encoding": "gzip"})
        return (set(by_name(response.content)) if response.status_code == 200 else set()), response


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def live(migrated_url: str) -> AsyncIterator[Live]:
    url = migrated_url
    writer = await asyncpg.connect(url)  # stands for psql, an import or another worker
    await writer.execute("TRUNCATE stations CASCADE")
    await writer.execute(
        "INSERT INTO stations (source, external_id, kind, name, geom) "
        "VALUES ('t', 'p1', 'rest_point', '甲', ST_Point(116.22, 39.85, 4326))"
    )
    settings = Settings(environment="test", database_url=url,
                        api=ApiSettings(cors_origins=[PARTNER]))  # fmt: skip
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            versions: LayerVersions = app.state.services.versions
            await until(lambda: versions.connected)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield Live(http, versions, writer, app)
    finally:
        await writer.close()


class DownPool:
    """A pool whose database is unreachable."""

    def acquire(self) -> Any:
        raise OSError("connection refused")


# --- freshness ------------------------------------------------------------------------------
async def test_a_commit_anywhere_is_in_the_next_tile(live):
    """No waiting: an edit through this app, or a commit by another process, is in the very
    next answer (each request reads the version after it arrives)."""
    station = await live.writer.fetchval("SELECT id FROM stations WHERE external_id = 'p1'")
    secret = "fresh-secret-0123456789abcdef"
    token = await live.writer.fetchval(
        "INSERT INTO api_tokens (name, role, district_code, secret_hash) "
        "VALUES ('fresh', 'admin', NULL, $1) RETURNING id",
        secret_hash(secret, DEV_TOKEN_SECRET),
    )
    assert (await live.names())[0] == {"甲"}
    assert (await live.names())[1].headers["x-tile-cache"] == "hit"
    bearer = {"Authorization": f"Bearer nx_{token}_{secret}"}
    edit = await live.http.patch(f"/stations/{station}", json={"name": "丙"}, headers=bearer)
    assert edit.status_code == 200, edit.text
    assert (await live.names())[0] == {"丙"}
    await live.writer.execute("UPDATE stations SET name = '丁' WHERE external_id = 'p1'")
    names, response = await live.names()
    assert names == {"丁"} and response.headers["x-tile-cache"] == "miss"


# --- the fallback ---------------------------------------------------------------------------
async def test_with_the_dedicated_connection_down_each_request_reads_the_version(live, monkeypatch):
    async def refused(url: str) -> asyncpg.Connection:
        raise OSError("refused for the test")

    assert (await live.names())[0] == {"甲"}
    monkeypatch.setattr(tile_versions, "_connect", refused)
    monkeypatch.setattr(tile_versions, "RETRY_S", (0.02,))
    killed = await live.writer.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = $1 AND datname = current_database()",
        APPLICATION_NAME,
    )
    assert killed == 1
    await until(lambda: not live.versions.connected)
    await live.writer.execute("UPDATE stations SET name = '乙' WHERE external_id = 'p1'")
    names, response = await live.names()  # read through the pool, per request
    assert names == {"乙"} and response.headers["x-tile-cache"] == "miss"
    assert (await live.names())[1].headers["x-tile-cache"] == "hit"  # the route's cache

    monkeypatch.undo()  # the database is back: the dedicated connection again
    await until(lambda: live.versions.connected)
    await live.writer.execute("UPDATE stations SET name = '丙' WHERE external_id = 'p1'")
    assert (await live.names())[0] == {"丙"}


async def test_reads_are_coalesced_and_fresh(live):
    coalesced = live
    versions = coalesced.versions
    await until(lambda: versions.reads > 0)
    assert versions.connected
    assert (await coalesced.names())[0] == {"甲"}
    await coalesced.writer.execute("UPDATE stations SET name = '乙' WHERE external_id = 'p1'")
    before = versions.reads
    names, response = await coalesced.names()  # no waiting: the next request reads
    assert names == {"乙"} and response.headers["x-tile-cache"] == "miss"
    assert versions.reads - before == 1  # the route used the fast path's read
    before = versions.reads
    answers = await asyncio.gather(*(coalesced.names() for _ in range(20)))
    assert all(names == {"乙"} for names, _ in answers)
    assert versions.reads - before < 20  # concurrent requests shared reads


# --- the fast path answers as the route does ------------------------------------------------
async def test_a_hit_carries_the_routes_headers_cors_included(live):
    headers = {"Accept-Encoding": "gzip", "Origin": PARTNER}
    drawn = await live.http.get(ONLY_S1, headers=headers)
    fast = await live.http.get(ONLY_S1, headers=headers)
    live.app.state.services.versions = None  # as without the lifespan: the route answers all
    try:
        routed = await live.http.get(ONLY_S1, headers=headers)
    finally:
        live.app.state.services.versions = live.versions
    assert [r.headers["x-tile-cache"] for r in (drawn, fast, routed)] == ["miss", "hit", "hit"]
    skip = {"x-tile-cache", "x-request-id"}
    for response in (drawn, fast):
        assert [(k, v) for k, v in routed.headers.items() if k not in skip] == [
            (k, v) for k, v in response.headers.items() if k not in skip
        ]
    assert fast.headers["access-control-allow-origin"] == PARTNER
    assert fast.headers["x-content-type-options"] == "nosniff"
    assert fast.content == routed.content
    again = await live.http.get(ONLY_S1, headers={**headers, "If-None-Match": fast.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == fast.headers["etag"]
    stranger = await live.http.get(ONLY_S1, headers={**headers, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers

    metrics = (await live.http.get("/metrics")).text
    line = next(line for line in metrics.splitlines() if line.startswith(
        'nuanxin_http_request_duration_seconds_count{method="GET",route="/tiles/{layer}/{z}/'
        '{x}/{y}.mvt",status="200"}'))  # fmt: skip
    assert line.endswith(" 4.0")  # drawn, fast, routed and the stranger's


async def test_what_the_fast_path_does_not_know_goes_to_the_route(live):
    await live.names()
    cases = {"/tiles/stations/7/105/48.mvt": 404, "/tiles/stations/14/99999/6211.mvt": 400,
             f"{ONLY_S1}?v=-1": 422, "/tiles/nowhere/14/1/1.mvt": 404}  # fmt: skip
    for path, status in cases.items():
        response = await live.http.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == status, path
        assert response.headers["content-type"] == "application/problem+json"
    plain = await live.http.get(ONLY_S1, headers={"Accept-Encoding": "identity"})
    assert plain.headers["x-tile-cache"] == "hit" and "content-encoding" not in plain.headers
    assert set(by_name(plain.content)) == {"甲"}


async def test_a_miss_that_fails_is_explained_by_the_route(live):
    pool, live.app.state.services.pool = live.app.state.services.pool, DownPool()
    try:
        response = await live.http.get(ONLY_S1, headers={"Accept-Encoding": "gzip"})
    finally:
        live.app.state.services.pool = pool
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "database_unavailable"


async def test_stopping_during_a_read_answers_its_waiters():
    """A request waiting on a version read that is cancelled (at shutdown) gets None, which
    sends it to the pool, instead of waiting until its own timeout."""

    class Hanging:
        def terminate(self) -> None:
            pass

    versions = LayerVersions("postgresql://unused@127.0.0.1:1/none")

    async def never(_conn: object) -> None:
        await asyncio.sleep(3600)

    versions._read = never  # type: ignore[method-assign]
    versions._conn = Hanging()  # type: ignore[assignment]
    waiter = asyncio.create_task(versions.current())
    await asyncio.sleep(0.05)  # the read is under way
    await versions.stop()
    assert await asyncio.wait_for(waiter, timeout=1) is None
