"""``/locate`` on foot: with a street network loaded, places rank by metres walked.

The network (tests/streets.py): two river banks 333 m apart, joined only by a bridge ~5.1 km
east. A worker on the south bank near its west end has a place across the water 333 m away
as the crow flies but ~10.3 km on foot, and another along their own bank 1.2 km away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from pyproj import Geod

from api.app import create_app, load_walk_router
from api.locator.schemas import LocateResponse
from geo.config import ApiSettings, Settings
from geo.errors import InvalidInputError
from geo.locator.rules import WALK_SPEED_M_PER_MIN
from tests.browser import served
from tests.conftest import app_client
from tests.streets import BRIDGE_LON, NORTH, SOUTH, write_banks

pytestmark = pytest.mark.anyio
GEOD = Geod(ellps="WGS84")
HERE = (116.201, SOUTH + 0.0002)  # on the south bank, 22 m from its street
ACROSS = (116.201, NORTH)  # straight across the water
ALONG = (116.215, SOUTH)  # 1.2 km east along the worker's own bank


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(*a, *b)[2])


@pytest.fixture
async def walking_client(settings: Settings, api_conn: asyncpg.Connection,
                         tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:  # fmt: skip
    for name, (lon, lat) in {"across": ACROSS, "along": ALONG}.items():
        await api_conn.execute(
            "INSERT INTO stations (source, external_id, kind, name, status, opening_hours, "
            "last_verified_at, geom) VALUES ('walk', $1, 'rest_point', $1, 'open', '24/7', "
            "now(), ST_SetSRID(ST_MakePoint($2, $3), 4326))", name, lon, lat,
        )  # fmt: skip
    app = create_app(settings)
    app.state.services.walk_router = await load_walk_router(write_banks(tmp_path / "banks.geojson"))
    async with app_client(app, api_conn) as http:
        yield http


async def _locate(http: httpx.AsyncClient, lon: float, lat: float, **params) -> LocateResponse:
    query = {"lon": lon, "lat": lat, "open": "any", "kind": "rest_point", "k": 5, **params}
    response = await http.get("/locate", params=query)
    assert response.status_code == 200, response.text
    return LocateResponse.model_validate(response.json())


async def test_the_place_across_the_river_is_far_on_foot(walking_client, client, monkeypatch):
    # walk far enough to cross the bridge
    monkeypatch.setattr("api.locator.route.WALK_MAX_KM", 20.0)
    walked = await _locate(walking_client, *HERE, max_km=20)
    straight = await _locate(client, *HERE, max_km=20)

    assert [r.name for r in straight.results[:2]] == ["across", "along"]  # by crow flight
    names = [r.name for r in walked.results]
    assert names.index("along") < names.index("across")
    across = next(r for r in walked.results if r.name == "across")
    round_by_bridge = _metres(HERE, (BRIDGE_LON, SOUTH)) + _metres((BRIDGE_LON, NORTH), ACROSS)
    assert across.distance_m == pytest.approx(round_by_bridge + 333, rel=0.01)
    along = next(r for r in walked.results if r.name == "along")
    onto_street = _metres(HERE, (HERE[0], SOUTH))  # 22 m, walked straight, then the bank
    assert along.distance_m == pytest.approx(
        onto_street + _metres((HERE[0], SOUTH), ALONG), rel=1e-3
    )
    # Minutes are the walked metres at walking pace: no detour factor on top of a real walk.
    assert along.walk_min == pytest.approx(along.distance_m / WALK_SPEED_M_PER_MIN, abs=0.05)
    assert "walked along the street network banks.geojson" in walked.method
    assert "straight-line" in straight.method


async def test_a_walk_longer_than_the_radius_is_out_even_if_near_as_the_crow_flies(
    walking_client,
):
    within = await _locate(walking_client, *HERE, max_km=5)
    assert "along" in [r.name for r in within.results]
    assert "across" not in [r.name for r in within.results]  # 333 m away, 10 km on foot


async def test_off_the_network_the_locator_says_so_and_ranks_straight(walking_client):
    off = (116.201, 39.8600)  # 770 m north of the north bank: outside the loaded streets
    answer = await _locate(walking_client, *off, max_km=5)
    assert answer.method.startswith("straight line: this point is more than 300 m")
    assert answer.results[0].name == "across"  # the straight-line order


async def test_a_search_wider_than_a_walk_ranks_straight_and_says_so(walking_client):
    wide = await _locate(walking_client, *HERE, max_km=20)
    assert wide.method.startswith("straight line: a 20 km search is beyond the 5 km walked")
    assert wide.results[0].name == "across"  # the crow's order: nobody walks 10 km for water


async def test_a_network_that_cannot_be_read_stops_start_up(tmp_path):
    broken = tmp_path / "streets.geojson"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"streets\.geojson"):
        await load_walk_router(broken)


def test_the_setting_loads_the_network_at_start_up(engine, database_url, tmp_path):
    banks = write_banks(tmp_path / "banks.geojson")
    settings = Settings(environment="test", database_url=database_url,
                        api=ApiSettings(walk_network=banks, json_logs=False))  # fmt: skip
    with served(settings) as base:
        answer = httpx.get(f"{base}/locate", params={"lon": HERE[0], "lat": HERE[1],
                                                     "open": "any"}).json()  # fmt: skip
    assert "walked along the street network banks.geojson" in answer["method"]


async def test_walks_are_searched_among_the_same_places_in_memory(walking_client, api_conn,
                                                                  monkeypatch):  # fmt: skip
    """With the in-memory stations current, the walk starts from their whole-radius list:
    the same answers as from PostGIS, and no connection taken."""
    from api.locator import route as locator
    from api.runtime.places import Snapshot, read_snapshot
    from geo.locator.index import PlaceIndex

    for i in range(40):  # more places along both banks, some beyond the first cut
        lon = 116.195 + i * 0.0009
        await api_conn.execute(
            "INSERT INTO stations (source, external_id, kind, name, status, opening_hours, "
            "geom) VALUES ('walk', $1, 'rest_point', $1, 'open', 'Mo-Fr 09:00-17:00', "
            "ST_SetSRID(ST_MakePoint($2, $3), 4326))",
            f"p{i}", lon, SOUTH if i % 2 else NORTH,
        )  # fmt: skip
    monkeypatch.setattr("api.locator.route.WALK_MAX_KM", 20.0)
    monkeypatch.setattr("geo.locator.search.WALK_SHORTLIST", 10)  # exercise the refetch too
    queries = [{"max_km": km, "open": mode, "k": k, "at": "2026-11-25T10:30"}
               for km in (1, 5, 12) for mode in ("any", "arrival") for k in (3, 20)]  # fmt: skip
    by_sql = [await _locate(walking_client, *HERE, **q) for q in queries]
    _, places = await read_snapshot(api_conn)
    assert places is not None
    snapshot = Snapshot(PlaceIndex(places))

    async def current(state: object) -> Snapshot:
        return snapshot

    monkeypatch.setattr(locator, "current_snapshot", current)
    acquired = []
    monkeypatch.setattr(locator, "_straight", _counting(locator._straight, acquired))
    by_memory = [await _locate(walking_client, *HERE, **q) for q in queries]
    assert len(acquired) > len(queries) and not any(acquired)  # refetches too, no connection
    for sql, memory in zip(by_sql, by_memory, strict=True):
        assert [r.id for r in memory.results] == [r.id for r in sql.results]
        for a, b in zip(memory.results, sql.results, strict=True):
            assert a.distance_m == pytest.approx(b.distance_m, abs=0.1)
        assert memory.method == sql.method and "walked along" in memory.method
    assert max(len(a.results) for a in by_sql) > 10  # past the first cut of 10: refetched


def _counting(within, acquired):
    """``_straight`` that records whether each call would have needed a connection."""

    async def counted(snapshot, acquire, *args):
        def refuse():
            raise AssertionError("a connection was taken")

        acquired.append(snapshot is None)
        return await within(snapshot, refuse, *args)

    return counted
