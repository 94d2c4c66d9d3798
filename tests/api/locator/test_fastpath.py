"""``/locate`` ahead of FastAPI (api.locator.fastpath) with the app's lifespan running: the route's
body and headers, only for queries it fully understands, and commits in its answers: one through
this app in the very next, any other within ``RECENT_S`` (the in-memory stations follow the layer
versions).

The tests commit in the module's own database, as a deployment would; a percent-encoded query
is one the fast path leaves to the route, which makes the route's answer to compare with.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from threadpoolctl import ThreadpoolController, threadpool_info

from api.app import create_app
from api.locator import fastpath as locate_fastpath
from api.locator.query import LocateParams, parse_query
from api.runtime import freshness
from api.runtime.places import LivePlaces
from geo.config import ApiSettings, Settings
from geo.crs import CoordSystem
from geo.locator.rules import OpenMode, WorkerProfile
from geo.vocab import Amenity, StationKind
from tests.conftest import token_headers

pytestmark = pytest.mark.anyio
PARTNER = "https://partner.example"
NEAR_DUCK = "lon=116.2701&lat=39.8601"  # the tiny fixture's 24/7 烤鸭店暖心驿站 is ~14 m away


# --- the parser ------------------------------------------------------------------------------
P = LocateParams


@pytest.mark.parametrize(("query", "expected"), [
    ("lon=116.4&lat=39.9", P(lon=116.4, lat=39.9)),
    ("lat=39.9&lon=-116.25&k=20&open=any&coords=gcj02",
     P(lon=-116.25, lat=39.9, coords=CoordSystem.GCJ02, k=20, open=OpenMode.ANY)),
    ("lon=116.4&lat=39.9&need=toilet&need=hot_water&kind=rest_point&profile=courier",
     P(lon=116.4, lat=39.9, need=[Amenity.TOILET, Amenity.HOT_WATER],
       kind=[StationKind.REST_POINT], profile=WorkerProfile.COURIER)),
    ("lon=116.4&lat=39.9&at=2026-11-25T03:00&max_km=0.5",
     P(lon=116.4, lat=39.9, at=datetime(2026, 11, 25, 3, 0), max_km=0.5)),
    ("lon=180&lat=-90&at=2026-11-25T03:00:59&max_km=20&unknown=1",  # unknown: ignored
     P(lon=180.0, lat=-90.0, at=datetime(2026, 11, 25, 3, 0, 59), max_km=20.0)),
    # Read as the route reads them (one model): exponents, leading zeros, a zone.
    ("lon=1.164e2&lat=39.9&k=05", P(lon=116.4, lat=39.9, k=5)),
    ("lon=116.4&lat=39.9&at=2026-11-24T19:00Z",
     P(lon=116.4, lat=39.9, at=datetime(2026, 11, 24, 19, 0, tzinfo=UTC))),
])  # fmt: skip
def test_plain_queries_are_understood(query, expected):
    assert parse_query(query.encode()) == expected


@pytest.mark.parametrize("query", [
    "",
    "lat=39.9",  # no lon: the route says what is missing
    "lon=116.4&lat=39.9&lon=116.5",  # duplicate
    "lon=116%2E4&lat=39.9",  # percent-encoding
    "lon=116.4&lat=39.9&at=2026-11-25T03:00%2B08:00",
    "lon=116.4&lat=39.9&at=2026-02-30T03:00",  # no such day
    "lon=180.1&lat=39.9", "lon=116.4&lat=90.5", "lon=nan&lat=39.9", "lon=inf&lat=39.9",
    "lon=116.4&lat=39.9&k=0", "lon=116.4&lat=39.9&k=21", "lon=116.4&lat=39.9&k=2.5",
    "lon=116.4&lat=39.9&max_km=0", "lon=116.4&lat=39.9&max_km=20.5",
    "lon=116.4&lat=39.9&need=jacuzzi", "lon=116.4&lat=39.9&kind=", "lon=116.4&lat=39.9&open",
    "lon=116.4&lat=39.9&coords=WGS84", "lon=116.4&lat=39.9&profile=pilot",
    "lon=116.4&lat=39.9&open=later", "lon=١١٦&lat=39.9",
])  # fmt: skip
def test_anything_unusual_or_invalid_is_left_to_the_route(query):
    assert parse_query(query.encode()) is None


async def test_what_the_parser_refuses_the_route_refuses(client):
    """The fast path leaves invalid values to the route; the route explains them (one model)."""
    for query in ("lon=116.4&lat=39.9&k=0", "lon=116.4&lat=39.9&max_km=20.5",
                  "lon=116.4&lat=39.9&need=jacuzzi", "lon=nan&lat=39.9"):  # fmt: skip
        response = await client.get(f"/locate?{query}")
        assert response.status_code == 422, query
        assert response.headers["content-type"] == "application/problem+json"


# --- with the lifespan -----------------------------------------------------------------------
class Live:
    def __init__(self, http: httpx.AsyncClient, app: Any, writer: asyncpg.Connection,
                 fast_calls: list[LocateParams]) -> None:  # fmt: skip
        self.http, self.app, self.writer, self.fast_calls = http, app, writer, fast_calls

    @property
    def places(self) -> LivePlaces:
        places: LivePlaces = self.app.state.services.places
        return places

    async def locate(self, query: str, **headers: str) -> tuple[httpx.Response, Any]:
        response = await self.http.get(f"/locate?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return response, json.loads(response.content)


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def live(tiny_database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Live]:
    fast_calls: list[LocateParams] = []
    answer = locate_fastpath.answer

    async def counted(state: Any, acquire: Any, query: LocateParams) -> bytes:
        fast_calls.append(query)
        return await answer(state, acquire, query)

    monkeypatch.setattr(locate_fastpath, "answer", counted)
    settings = Settings(environment="test", database_url=tiny_database_url,
                        api=ApiSettings(cors_origins=[PARTNER]))  # fmt: skip
    app = create_app(settings)
    writer = await asyncpg.connect(tiny_database_url)
    try:
        async with app.router.lifespan_context(app):
            await until(lambda: app.state.services.versions.connected)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield Live(http, app, writer, fast_calls)
    finally:
        await writer.close()


QUERIES = [
    f"{NEAR_DUCK}&k=3&open=any&at=2026-11-25T10:30",
    f"{NEAR_DUCK}&open=arrival&at=2026-11-25T03:00&profile=courier&coords=bd09",
    f"{NEAR_DUCK}&open=now&at=2026-11-25T03:00&kind=subdistrict_station",  # nothing open
    f"{NEAR_DUCK}&need=toilet&at=2026-10-01T12:00&max_km=20",  # a holiday
    "lon=2.35&lat=48.85&at=2026-11-25T10:30",  # outside the area
    f"{NEAR_DUCK}&k=03&at=2026-11-24T19:00Z",  # a zone and a leading zero: read as the route does
]


@pytest.mark.parametrize("query", QUERIES)
async def test_the_fast_path_answers_as_the_route_does(live, query):
    fast, fast_body = await live.locate(query, **{"Accept-Encoding": "gzip"})
    assert len(live.fast_calls) == 1
    routed, routed_body = await live.locate(query.replace(".", "%2E", 1),
                                            **{"Accept-Encoding": "gzip"})  # fmt: skip
    assert len(live.fast_calls) == 1  # the route answered the encoded one
    assert fast.content == routed.content
    assert fast_body == routed_body
    for header in ("content-type", "content-encoding", "vary"):
        assert fast.headers.get(header) == routed.headers.get(header), header
    assert fast.headers["x-request-id"] and fast.headers["x-content-type-options"] == "nosniff"


async def test_identity_and_cors_as_the_route_gives_them(live):
    query = QUERIES[0]
    fast, _ = await live.locate(query, **{"Accept-Encoding": "identity", "Origin": PARTNER})
    routed, _ = await live.locate(
        query.replace(".", "%2E", 1), **{"Accept-Encoding": "identity", "Origin": PARTNER}
    )
    assert len(live.fast_calls) == 1
    assert "content-encoding" not in fast.headers and fast.content == routed.content
    assert fast.headers["access-control-allow-origin"] == PARTNER
    assert fast.headers["access-control-allow-origin"] == routed.headers[
        "access-control-allow-origin"]  # fmt: skip


async def test_a_commit_elsewhere_is_in_the_answers_within_the_recent_window(live):
    query = f"{NEAR_DUCK}&k=1&open=any"
    await until(lambda: live.places.builds >= 1)
    _, before = await live.locate(query)
    sid = before["results"][0]["id"]
    old_name = before["results"][0]["name"]
    try:
        await live.writer.execute("UPDATE stations SET name = '新名字' WHERE id = $1", sid)
        await asyncio.sleep(freshness.RECENT_S)  # another process's commit: the window's bound
        _, after = await live.locate(query)  # answered by SQL until the rebuild
        assert after["results"][0]["name"] == "新名字"
        builds = live.places.builds
        await until(lambda: live.places.builds > builds)  # the index caught up
        await live.writer.execute("UPDATE stations SET status = 'closed' WHERE id = $1", sid)
        await asyncio.sleep(freshness.RECENT_S)
        _, closed = await live.locate(query)
        assert sid not in [r["id"] for r in closed["results"]]
    finally:
        await live.writer.execute(
            "UPDATE stations SET name = $2, status = 'open' WHERE id = $1", sid, old_name
        )


async def test_a_recent_read_is_shared_for_its_window_then_read_again(live, monkeypatch):
    """Within the window the locator reuses one version read, so a commit by another process
    may wait for its end (issue 19 allows a second); after it, the next answer reads again."""
    query = f"{NEAR_DUCK}&k=1&open=any"
    versions = live.app.state.services.versions
    monkeypatch.setattr(freshness, "RECENT_S", 30.0)  # a window no test step outlasts
    _, before = await live.locate(query)
    sid, old_name = before["results"][0]["id"], before["results"][0]["name"]
    reads = versions.reads
    try:
        await live.writer.execute("UPDATE stations SET name = '窗口内' WHERE id = $1", sid)
        for _ in range(3):
            _, within = await live.locate(query)
            assert within["results"][0]["name"] == old_name
        assert versions.reads == reads  # one read served them all
        monkeypatch.setattr(freshness, "RECENT_S", 0.0)
        _, after = await live.locate(query)
        assert after["results"][0]["name"] == "窗口内" and versions.reads > reads
    finally:
        await live.writer.execute("UPDATE stations SET name = $2 WHERE id = $1", sid, old_name)


async def test_an_edit_through_this_app_is_in_its_very_next_answer(live, monkeypatch,
                                                                   tiny_database_url):  # fmt: skip
    """However long the window, a write through this worker ends it: the editor sees their
    edit at once (the primary connection it took is watched)."""
    query = f"{NEAR_DUCK}&k=1&open=any"
    monkeypatch.setattr(freshness, "RECENT_S", 30.0)
    _, before = await live.locate(query)
    sid, old_name = before["results"][0]["id"], before["results"][0]["name"]
    editor = token_headers(tiny_database_url, "recent-window", "admin", None)
    try:
        edit = await live.http.patch(f"/stations/{sid}", json={"name": "刚改的"}, headers=editor)
        assert edit.status_code == 200, edit.text
        _, after = await live.locate(query)
        assert after["results"][0]["name"] == "刚改的"
    finally:
        await live.writer.execute("UPDATE stations SET name = $2 WHERE id = $1", sid, old_name)


async def test_once_current_the_index_answers_without_the_pool(live):
    query = f"{NEAR_DUCK}&k=2&open=any&at=2026-11-25T10:30"
    _, first = await live.locate(query)
    await until(lambda: live.places.builds >= 1)
    versions = await live.app.state.services.versions.current()
    await until(lambda: live.places.snapshot_for(versions) is not None)

    class NoPool:
        def acquire(self) -> Any:
            raise AssertionError("the pool was used")

    pool, live.app.state.services.pool = live.app.state.services.pool, NoPool()
    live.fast_calls.clear()
    try:
        _, again = await live.locate(query)
    finally:
        live.app.state.services.pool = pool
    assert len(live.fast_calls) == 1 and again == first


async def test_too_many_places_for_memory_leaves_the_locator_on_sql(live):
    query = f"{NEAR_DUCK}&k=2&open=any&at=2026-11-25T10:30"
    _, from_memory = await live.locate(query)
    places = LivePlaces(live.app.state.services.pool, max_places=1)  # the tiny fixture has more
    await places.rebuild()
    live.app.state.services.places = places
    versions = await live.app.state.services.versions.current()
    assert places.snapshot_for(versions) is None
    for _ in range(3):
        _, from_sql = await live.locate(query)
        assert from_sql == from_memory
    await asyncio.sleep(0.05)
    assert places.builds == 1  # the versions were read: no rebuild per request


async def test_a_failed_snapshot_leaves_the_locator_on_sql(live, caplog):
    class DownPool:
        def acquire(self) -> Any:
            raise OSError("connection refused")

    query = f"{NEAR_DUCK}&k=2&open=any&at=2026-11-25T10:30"
    _, before = await live.locate(query)
    places = LivePlaces(DownPool())  # type: ignore[arg-type]
    live.app.state.services.places = places
    _, after = await live.locate(query)  # asks for a snapshot, answered by SQL meanwhile
    await until(lambda: "locator snapshot failed" in caplog.text)
    assert after == before and places.builds == 0
    versions = await live.app.state.services.versions.current()
    assert places.snapshot_for(versions) is None


async def test_with_the_database_down_the_route_explains(live):
    class DownPool:
        def acquire(self) -> Any:
            raise OSError("connection refused")

    pool = live.app.state.services.pool
    live.app.state.services.pool = DownPool()
    live.app.state.services.places = LivePlaces(DownPool())  # type: ignore[arg-type]
    try:
        response = await live.http.get(f"/locate?{NEAR_DUCK}")
    finally:
        live.app.state.services.pool = pool
    assert len(live.fast_calls) == 1  # tried, gave way
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text and "connection refused" not in response.text


def openmp_threads() -> dict[str, int]:
    return {i["filepath"]: i["num_threads"] for i in threadpool_info()
            if i["user_api"] == "openmp"}  # fmt: skip


async def test_the_app_runs_openmp_on_one_thread(tiny_database_url):
    """pykdtree (the shortlist) runs each query on an OpenMP team; for one point the team only
    costs, its idle threads spinning on another core. Started with two, the app keeps one."""
    with ThreadpoolController().limit(limits=2, user_api="openmp"):
        assert any("pykdtree" in path for path in openmp_threads())
        assert set(openmp_threads().values()) == {2}
        app = create_app(Settings(environment="test", database_url=tiny_database_url))
        async with app.router.lifespan_context(app):
            assert set(openmp_threads().values()) == {1}
