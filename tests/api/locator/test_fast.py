"""``/locate``'s fast path: pre-serialised bodies, per-station parts cached by their inputs,
the KNN shortlist and its fallback to the whole radius."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pytest

from api.locator import route as locator
from api.locator.schemas import LocateResponse
from api.locator.sql import COLUMNS
from geo.crs import CoordSystem, wgs84_to_gcj02
from geo.locator.rules import Candidate
from geo.locator.search import KNN_SHORTLIST
from geo.standards import BEIJING

pytestmark = pytest.mark.anyio


async def _add(conn, external_id: str, lon: float, lat: float, hours: str = "24/7",
               verified: datetime | None = None) -> int:  # fmt: skip
    return await conn.fetchval(
        "INSERT INTO stations (source, external_id, kind, name, status, amenities, "
        "opening_hours, last_verified_at, geom) VALUES ('t', $1, 'rest_point', $1, 'open', "
        "'{hot_water}', $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326)) RETURNING id",
        external_id, hours, verified, lon, lat,
    )  # fmt: skip


async def _body(client, query: str) -> bytes:
    response = await client.get(f"/locate?{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.content


def test_rows_map_onto_candidates():
    assert Candidate._fields == COLUMNS


@pytest.mark.parametrize("query", [
    "lon=116.27&lat=39.861&k=3&open=any",
    "lon=116.27&lat=39.861&k=3&open=any&coords=gcj02&profile=courier",
    "lon=116.27&lat=39.861&coords=bd09&need=hot_water&at=2026-10-10T02:00Z",
    "lon=116.22&lat=39.851&kind=subdistrict_station&at=2026-11-24T03:00",  # nothing open
    "lon=2.35&lat=48.85",  # outside the area
])  # fmt: skip
async def test_the_body_is_what_the_response_model_serialises(client, query):
    """Same members, order, numbers and datetimes ('Z' for UTC) as the documented model."""
    body = await _body(client, query)
    assert body == LocateResponse.model_validate_json(body).model_dump_json().encode()


async def test_an_edited_station_shows_its_new_name_place_and_boundary(client, api_conn):
    sid = await _add(api_conn, "before", 116.4003, 39.9004)
    query = "lon=116.4&lat=39.9&k=1&open=any&coords=gcj02"
    first = LocateResponse.model_validate_json(await _body(client, query)).results[0]
    assert (first.id, first.name) == (sid, "before")
    await api_conn.execute(
        "UPDATE stations SET name = 'after', amenities = '{toilet}', last_verified_at = $2, "
        "geom = ST_SetSRID(ST_MakePoint(116.4005, 39.9006), 4326) WHERE id = $1",
        sid, datetime(2026, 11, 1, tzinfo=BEIJING),
    )  # fmt: skip
    again = LocateResponse.model_validate_json(await _body(client, query)).results[0]
    assert (again.id, again.name, again.amenities, again.amenity_labels) == (
        sid, "after", ["toilet"], ["卫生间"])  # fmt: skip
    assert again.last_verified_at == datetime(2026, 11, 1, tzinfo=BEIJING)
    g_lon, g_lat = wgs84_to_gcj02(116.4005, 39.9006)
    assert (again.lon, again.lat) == pytest.approx((g_lon, g_lat), abs=1e-6)
    amap = parse_qs(urlparse(again.navigation["amap"]).query)
    assert amap["to"] == [f"{g_lon:.6f},{g_lat:.6f},after"]
    # a boundary renamed or re-assigned shows too
    code = await api_conn.fetchval("SELECT code FROM boundaries WHERE valid_to IS NULL LIMIT 1")
    await api_conn.execute("UPDATE boundaries SET name = '新名字' WHERE code = $1", code)
    await api_conn.execute(
        "UPDATE stations SET boundary_id = (SELECT id FROM boundaries "
        "WHERE code = $2 AND valid_to IS NULL) WHERE id = $1", sid, code,
    )  # fmt: skip
    moved = LocateResponse.model_validate_json(await _body(client, query)).results[0]
    assert (moved.boundary_code, moved.boundary_name) == (code, "新名字")


async def test_past_the_knn_shortlist_the_whole_radius_is_searched(client, api_conn):
    """More closed places than the shortlist holds, nearer than the one open place."""
    for i in range(KNN_SHORTLIST + 5):
        await _add(api_conn, f"closed-{i}", 116.4 + 0.00001 * i, 39.9001, hours="off")
    open_id = await _add(api_conn, "open", 116.4, 39.905)  # ~555 m north
    body = LocateResponse.model_validate_json(await _body(client, "lon=116.4&lat=39.9&k=1"))
    assert [p.id for p in body.results] == [open_id]


async def test_a_verified_place_beyond_the_shortlist_beats_nearer_stale_ones(client, api_conn):
    """41 never-verified places ~100 m away rank as 150 m; a verified one at ~140 m wins."""
    for i in range(KNN_SHORTLIST + 1):
        await _add(api_conn, f"stale-{i}", 116.4 + 0.00001 * (i % 7), 39.9009 + 0.000001 * i)
    sure = await _add(api_conn, "sure", 116.4, 39.90126,
                      verified=datetime(2026, 11, 1, tzinfo=BEIJING))  # fmt: skip
    body = LocateResponse.model_validate_json(
        await _body(client, "lon=116.4&lat=39.9&k=1&open=any&at=2026-11-23T10:00")
    )
    assert [p.id for p in body.results] == [sure]
    assert 130 < body.results[0].distance_m < 150


async def test_static_parts_are_reused_not_rebuilt(client, api_conn):
    await _add(api_conn, "reused", 116.4003, 39.9004)
    query = "lon=116.4&lat=39.9&k=1&open=any"
    await _body(client, query)
    misses = locator.STATIC.misses
    await _body(client, query)
    assert locator.STATIC.misses == misses


def test_a_full_static_cache_keeps_this_calls_hits_while_it_evicts():
    """A hit that was the oldest entry must survive the eviction its call's misses cause."""
    from api.locator.render import StaticPlaces

    def place(i: int) -> Candidate:
        return Candidate(i, f"驿站{i}", "rest_point", 116.2 + i / 100, 39.85, 100.0 * i,
                         ("hot_water",), "24/7")  # fmt: skip

    cache = StaticPlaces(max_entries=2)
    cache.get_many([place(1)])
    cache.get_many([place(2)])
    both = cache.get_many([place(1), place(3)])  # 1 is the oldest; 3 pushes one out
    assert [b'"id":1,' in p.head[CoordSystem.WGS84] for p in both] == [True, False]
    assert len(cache) == 2
    again = cache.get_many([place(1), place(3)])
    assert cache.hits == 3 and len(again) == 2  # 1 and 3 kept; 2 was the one evicted


def test_open_states_render_their_own_values_past_the_memo_size():
    """The JSON of an opening state is kept by the state's identity: distinct states, equal or
    not, each give their own values (as the schema serialises them), also after the memo has
    filled and started again."""
    from dataclasses import asdict

    from api.locator.render import _OPEN_INFOS_MAX, open_info
    from api.locator.schemas import OpenInfo
    from geo.hours import OpenState

    opens = datetime(2026, 11, 25, 8, 30, tzinfo=BEIJING)
    states = [OpenState(i % 2 == 0, None, opens.replace(minute=i % 60), "workday", True)
              for i in range(_OPEN_INFOS_MAX + 10)]  # fmt: skip
    for _ in range(2):
        for state in states:
            assert open_info(state) == OpenInfo(**asdict(state)).model_dump_json().encode()
    twin = OpenState(**asdict(states[0]))
    assert twin is not states[0] and open_info(twin) == open_info(states[0])
