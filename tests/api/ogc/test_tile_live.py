"""Tiles with the app's lifespan running: versions from the dedicated connection (LISTEN/NOTIFY
or coalesced reads), the fallback when it is down, the write barrier, and the fast path that
answers cached tiles before routing with the route's own headers.

Every test commits in its own scratch database, as a real deployment would: a notification is
only sent on commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

import asyncpg
import httpx
import psycopg
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


class VersionFunctions(NamedTuple):
    plain: str  # migration 0003's, as the database holds it: no notification
    notify: str  # the same with a notification: what would enable the in-memory mode
    elsewhere: str  # notifying a channel nobody here listens to


@pytest.fixture(scope="module")
def migrated_url(scratch_database_url: str) -> str:
    engine = make_engine(scratch_database_url)
    migrate.upgrade(engine)
    engine.dispose()
    return scratch_database_url


@pytest.fixture(scope="module")
def functions(migrated_url: str) -> VersionFunctions:
    """The version trigger's function read back from the migrated database (so it follows any
    migration that redefines it), and the proposed notifying variant (not shipped; see
    docs/api-tiles.md) made from it."""
    with psycopg.connect(migrated_url) as conn:
        row = conn.execute("SELECT pg_get_functiondef("
                           "'nuanxin_bump_layer_version()'::regprocedure)").fetchone()  # fmt: skip
    assert row is not None
    plain: str = row[0]
    head, tail = plain.rsplit("RETURN NULL;", 1)
    notify = f"{head}PERFORM pg_notify('nuanxin_layer_versions', TG_ARGV[0]);\nRETURN NULL;{tail}"
    elsewhere = notify.replace("'nuanxin_layer_versions'", "'elsewhere'")
    return VersionFunctions(plain, notify, elsewhere)


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


async def _live(url: str, function_sql: str) -> AsyncIterator[Live]:
    writer = await asyncpg.connect(url)  # stands for psql, an import or another worker
    await writer.execute(function_sql)
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


@pytest.fixture
async def live(migrated_url: str, functions: VersionFunctions) -> AsyncIterator[Live]:
    """The app with the proposed notifying trigger (not shipped)."""
    async for value in _live(migrated_url, functions.notify):
        yield value


@pytest.fixture
async def coalesced(migrated_url: str, functions: VersionFunctions) -> AsyncIterator[Live]:
    """The app on migration 0003's trigger, which does not notify."""
    async for value in _live(migrated_url, functions.plain):
        yield value


class NoPool:
    """Stands in for the pool: any use by a request fails the test."""

    def acquire(self) -> Any:
        raise AssertionError("the pool was used")


class DownPool:
    """A pool whose database is unreachable."""

    def acquire(self) -> Any:
        raise OSError("connection refused")


# --- LISTEN/NOTIFY ---------------------------------------------------------------------------
async def test_cached_tiles_need_no_query_while_listening(live):
    await until(lambda: live.versions.cached() is not None)
    assert (await live.names())[0] == {"甲"}  # a miss: drawn by the route
    reads, pool = live.versions.reads, live.app.state.services.pool
    live.app.state.services.pool = NoPool()
    try:
        for _ in range(5):
            names, response = await live.names()
            assert names == {"甲"} and response.headers["x-tile-cache"] == "hit"
    finally:
        live.app.state.services.pool = pool
    assert live.versions.reads == reads  # nothing read, not even the version


async def test_a_commit_elsewhere_is_seen_once_notified(live):
    assert (await live.names())[0] == {"甲"}
    await until(lambda: live.versions.cached() is not None)
    trusted = live.versions.cached()
    await live.writer.execute("UPDATE stations SET name = '乙' WHERE external_id = 'p1'")
    await until(lambda: live.versions.cached() is not trusted)  # the notification arrived
    names, response = await live.names()
    assert names == {"乙"} and response.headers["x-tile-cache"] == "miss"
    assert (await live.names())[1].headers["x-tile-cache"] == "hit"


async def test_an_edit_through_this_worker_shows_at_once_even_unnotified(live, functions):
    """The write barrier: notifications go elsewhere, yet an API edit is seen by the next GET."""
    await live.writer.execute(functions.elsewhere)  # still "notifies", never to us
    await until(lambda: live.versions.cached() is not None)
    station = await live.writer.fetchval("SELECT id FROM stations WHERE external_id = 'p1'")
    secret = "barrier-secret-0123456789abcdef"
    token = await live.writer.fetchval(
        "INSERT INTO api_tokens (name, role, district_code, secret_hash) "
        "VALUES ('barrier', 'admin', NULL, $1) RETURNING id",
        secret_hash(secret, DEV_TOKEN_SECRET),
    )
    assert (await live.names())[0] == {"甲"}
    assert (await live.names())[1].headers["x-tile-cache"] == "hit"
    bearer = {"Authorization": f"Bearer nx_{token}_{secret}"}
    edit = await live.http.patch(f"/stations/{station}", json={"name": "丙"}, headers=bearer)
    assert edit.status_code == 200, edit.text
    assert (await live.names())[0] == {"丙"}
    # A commit by another process is what the notification is for: unseen here by design.
    await live.writer.execute("UPDATE stations SET name = '丁' WHERE external_id = 'p1'")
    await asyncio.sleep(0.05)
    assert (await live.names())[0] == {"丙"}


# --- the fallback ---------------------------------------------------------------------------
async def test_with_the_listener_down_each_request_reads_the_version(live, monkeypatch):
    async def refused(url: str) -> asyncpg.Connection:
        raise OSError("refused for the test")

    assert (await live.names())[0] == {"甲"}
    await until(lambda: live.versions.cached() is not None)
    monkeypatch.setattr(tile_versions, "_connect", refused)
    monkeypatch.setattr(tile_versions, "RETRY_S", (0.02,))
    killed = await live.writer.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = $1 AND datname = current_database()",
        APPLICATION_NAME,
    )
    assert killed == 1
    await until(lambda: not live.versions.connected)
    assert live.versions.cached() is None
    await live.writer.execute("UPDATE stations SET name = '乙' WHERE external_id = 'p1'")
    names, response = await live.names()  # no notification can arrive: read per request
    assert names == {"乙"} and response.headers["x-tile-cache"] == "miss"
    assert (await live.names())[1].headers["x-tile-cache"] == "hit"  # the route's cache

    monkeypatch.undo()  # the database is back: reconnect, listen, trust again
    await until(lambda: live.versions.cached() is not None)
    trusted = live.versions.cached()
    await live.writer.execute("UPDATE stations SET name = '丙' WHERE external_id = 'p1'")
    await until(lambda: live.versions.cached() is not trusted)
    assert (await live.names())[0] == {"丙"}


async def test_without_a_notifying_trigger_reads_are_coalesced_and_fresh(coalesced):
    versions = coalesced.versions
    await until(lambda: versions.reads > 0)
    assert versions.connected and not versions.listening and versions.cached() is None
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
    await until(lambda: live.versions.cached() is not None)
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
    await until(lambda: live.versions.cached() is not None)
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
    await until(lambda: live.versions.cached() is not None)
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
