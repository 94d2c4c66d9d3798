"""``/coverage``: the analysis over HTTP, equal to the library's, cached until the data changes."""

from __future__ import annotations

import geopandas
import pytest

import api.planning.coverage
from geo.coverage.analysis import analyse
from geo.crs import wgs84_to_gcj02
from tests.conftest import FIXTURES

pytestmark = pytest.mark.anyio
WEST, EAST = "110106017000", "110106001000"


def _library_result():
    boundaries = geopandas.read_file(FIXTURES / "boundaries_tiny.geojson")
    # In code order, as the API reads them: the 90th percentile of equal-weight cells sits on a
    # tie, and a different cell order can round it to the neighbouring cell.
    boundaries = boundaries[boundaries.level == "subdistrict"].sort_values("code")
    stations = geopandas.read_file(FIXTURES / "stations_tiny.geojson")
    return analyse(boundaries, stations[stations.status == "open"], with_gaps=False)


async def test_figures_equal_the_library_run_on_the_same_data(client):
    response = await client.get("/coverage?boundary=110106000000&workers=false")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    by_code = {f["id"]: f["properties"] for f in body["features"]}
    assert set(by_code) == {WEST, EAST}
    expected = _library_result().per_boundary.set_index("code")
    for code, props in by_code.items():
        for column in ("residents", "share_within_walk", "share_two_plus", "p90_nearest_m",
                       "uncovered_residents", "rank"):  # fmt: skip
            wanted = expected.loc[code, column]  # the API rounds to 6 decimals
            assert props[column] == pytest.approx(wanted, rel=1e-6, abs=1e-6), column
    assert "uniformly by area" in body["method"]["demand"]
    assert body["parameters"]["walk_min"] == 15
    assert body["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


async def test_a_sunday_before_dawn_counts_only_what_is_open(client):
    weekday = (await client.get(f"/coverage?boundary={WEST}&f=json&workers=false")).json()
    sunday = (await client.get(f"/coverage?boundary={WEST}&f=json&workers=false"
                               "&at=2026-11-29T05:00")).json()  # fmt: skip
    assert "open at 2026-11-29T05:00+08:00" in sunday["method"]["supply"]
    west_now, west_sunday = weekday["boundaries"][0], sunday["boundaries"][0]
    # The office station (Mo-Fr, Sa) is shut; only the 24/7 rest point in the east still counts.
    assert west_sunday["stations"] == 0 and west_now["stations"] == 1
    assert west_sunday["share_within_walk"] < west_now["share_within_walk"]
    assert west_sunday["residents_per_station"] is None  # no infinity in JSON


async def test_cached_until_a_station_moves(client, api_conn):
    url = f"/coverage?boundary={WEST}&f=json&workers=false"
    first = (await client.get(url)).json()["boundaries"][0]
    again = (await client.get(url)).json()["boundaries"][0]
    assert again == first
    cache = client._transport.app.state.services.coverage_cache
    assert len(cache) == 1
    scopes = client._transport.app.state.services.scope_cache  # the frames, read once
    plan = {"scope": {"boundary": [WEST], "workers": False, "walk_min": 10},
            "changes": [{"action": "close", "id": "s1"}]}  # fmt: skip
    assert (await client.post("/coverage/what-if", json=plan)).status_code == 200
    assert len(scopes) == 1 and len(cache) == 2  # another walk: another result, same frames
    # Move the office station 3 km north-west: the stations layer's version changes.
    await api_conn.execute("UPDATE stations SET geom = ST_SetSRID(ST_MakePoint(116.19, 39.88), "
                           "4326) WHERE external_id = 's1'")  # fmt: skip
    moved = (await client.get(url)).json()["boundaries"][0]
    assert len(cache) == 3 and len(scopes) == 2
    assert moved["share_within_walk"] != first["share_within_walk"]
    assert moved["stations"] == 0  # it left the subdistrict


async def test_cached_until_an_enterprise_changes(client, api_conn):
    url = f"/coverage?boundary={WEST}&f=json"
    first = (await client.get(url)).json()["boundaries"][0]
    assert first["workers"] == 80
    await api_conn.execute("UPDATE enterprises SET outdoor_workers = 100 WHERE external_id = 'e1'")
    assert (await client.get(url)).json()["boundaries"][0]["workers"] == 100
    await api_conn.execute("UPDATE enterprises SET deleted_at = now() WHERE external_id = 'e1'")
    assert (await client.get(url)).json()["boundaries"][0]["workers"] == 0


async def test_gcj02_output_and_workers(client):
    body = (await client.get(f"/coverage?boundary={WEST}&coords=gcj02")).json()
    ring = body["features"][0]["geometry"]["coordinates"]
    first = ring[0][0] if body["features"][0]["geometry"]["type"] == "Polygon" else ring[0][0][0]
    corners = [(116.2, 39.8), (116.25, 39.8), (116.25, 39.9), (116.2, 39.9)]
    assert any(first == pytest.approx(list(wgs84_to_gcj02(lon, lat)), abs=1e-5)
               for lon, lat in corners)  # fmt: skip
    props = body["features"][0]["properties"]
    assert props["workers"] == 80  # e1 (80 outdoor workers) is in 西街道; e2 is in 东街道
    assert "1 outside the boundaries left out" in body["method"]["workers"]


async def test_limits_and_bad_requests_are_problems(client, monkeypatch):
    monkeypatch.setattr(api.planning.coverage, "MAX_CELLS", 100)
    too_big = await client.get(f"/coverage?boundary={WEST}&resolution=10")
    assert too_big.status_code == 400
    assert "at most 100 per request" in too_big.json()["detail"]
    for query, status in [("boundary=12345", 400), ("boundary=110199000000", 404),
                          ("f=xml", 422), ("resolution=12", 422), ("walk_min=0", 422),
                          ("kind=teahouse", 422)]:  # fmt: skip
        response = await client.get(f"/coverage?{query}")
        assert response.status_code == status, (query, response.text)
        assert response.headers["content-type"] == "application/problem+json"
