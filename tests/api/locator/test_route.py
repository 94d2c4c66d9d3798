"""``/locate``: true-metre ranking, Chinese coordinates, opening hours on the Chinese calendar."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pytest
from pyproj import Geod

from api.locator.schemas import LocateResponse
from geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from geo.standards import BEIJING

pytestmark = pytest.mark.anyio
GEOD = Geod(ellps="WGS84")
OFFICE = (
    "kind=subdistrict_station"  # the fixture's 西街道工会服务站: Mo-Fr 09:00-20:00; Sa 09:00-20:00
)


async def _add(conn, external_id: str, lon: float, lat: float, hours: str = "24/7",
               kind: str = "rest_point", amenities: tuple[str, ...] = ()) -> int:  # fmt: skip
    return await conn.fetchval(
        "INSERT INTO stations (source, external_id, kind, name, status, amenities, "
        "opening_hours, geom) VALUES ('t', $1, $2, $1, 'open', $3, $4, "
        "ST_SetSRID(ST_MakePoint($5, $6), 4326)) RETURNING id",
        external_id, kind, list(amenities), hours, lon, lat,
    )  # fmt: skip


async def _locate(client, query: str) -> LocateResponse:
    response = await client.get(f"/locate?{query}")
    assert response.status_code == 200, response.text
    return LocateResponse.model_validate(response.json())


async def test_ranks_by_true_metres_where_degrees_would_mislead(client, api_conn):
    """At 39.9°N 0.010° east is ~853 m and 0.009° north ~999 m: degrees rank them the other way."""
    east = await _add(api_conn, "east", 116.410, 39.90)
    north = await _add(api_conn, "north", 116.400, 39.909)
    far = await _add(api_conn, "far", 116.400, 39.93)
    body = await _locate(client, "lon=116.4&lat=39.9&k=3&open=any")
    assert [p.id for p in body.results] == [east, north, far]
    for place, (lon, lat) in zip(body.results, [(116.41, 39.9), (116.4, 39.909), (116.4, 39.93)],
                                 strict=True):  # fmt: skip
        metres = GEOD.inv(116.4, 39.9, lon, lat)[2]
        assert place.distance_m == pytest.approx(metres, abs=0.1)
        assert place.walk_min == pytest.approx(metres * 1.3 / 80, abs=0.1)
    assert "straight-line metres" in body.method


async def test_a_gcj02_point_in_gives_the_same_places_with_gcj02_out(client, api_conn):
    await _add(api_conn, "near", 116.4003, 39.9004)
    wgs = await _locate(client, "lon=116.4&lat=39.9&k=1&open=any")
    g_lon, g_lat = wgs84_to_gcj02(116.4, 39.9)
    gcj = await _locate(client, f"lon={g_lon}&lat={g_lat}&coords=gcj02&k=1&open=any")
    assert [p.id for p in gcj.results] == [p.id for p in wgs.results]
    assert gcj.results[0].distance_m == pytest.approx(wgs.results[0].distance_m, abs=0.05)
    assert gcj.query["wgs84"] == pytest.approx([116.4, 39.9], abs=1e-8)
    assert (gcj.results[0].lon, gcj.results[0].lat) == pytest.approx(
        wgs84_to_gcj02(116.4003, 39.9004), abs=1e-6
    )
    # About 500 m apart in Beijing: treating GCJ-02 as WGS-84 would have mis-measured it.
    assert GEOD.inv(116.4, 39.9, g_lon, g_lat)[2] > 300


async def test_everything_closed_at_three_in_the_morning_is_said_plainly(client):
    body = await _locate(client, f"lon=116.22&lat=39.851&{OFFICE}&at=2026-11-24T03:00")
    assert body.results == []
    assert body.notice.code == "nothing_open"
    assert body.notice.next_open == datetime(2026, 11, 24, 9, 0, tzinfo=BEIJING)
    assert "西街道工会服务站 at 2026-11-24 09:00" in body.notice.message
    # The 24-hour rest point 4.3 km away is open, so without the kind filter it is the answer.
    anything = await _locate(client, "lon=116.22&lat=39.851&at=2026-11-24T03:00")
    assert [p.name for p in anything.results] == ["烤鸭店暖心驿站"]
    assert anything.notice is None


async def test_a_public_holiday_shuts_the_office_and_a_make_up_sunday_opens_it(client):
    national_day = await _locate(client, f"lon=116.22&lat=39.851&{OFFICE}&at=2026-10-01T10:00")
    assert national_day.results == [] and national_day.notice.code == "nothing_open"
    shown = await _locate(client, f"lon=116.22&lat=39.851&{OFFICE}&open=any&at=2026-10-01T10:00")
    assert shown.results[0].open_now.day_type == "holiday"
    assert shown.results[0].open_now.is_open is False
    makeup = await _locate(client, f"lon=116.22&lat=39.851&{OFFICE}&at=2026-09-20T10:00")
    assert [p.name for p in makeup.results] == ["西街道工会服务站"]  # a Sunday, but 调休
    assert makeup.results[0].open_on_arrival.day_type == "makeup_workday"
    plain_sunday = await _locate(client, f"lon=116.22&lat=39.851&{OFFICE}&at=2026-11-29T10:00")
    assert plain_sunday.results == []


async def test_open_on_arrival_is_not_open_now(client):
    """About 1 km away: a 16-minute walk. At 19:50 it is open now but shut when you get there."""
    point = "lon=116.22&lat=39.859"
    now = await _locate(client, f"{point}&{OFFICE}&open=now&at=2026-11-24T19:50")
    assert [p.name for p in now.results] == ["西街道工会服务站"]
    assert now.results[0].open_on_arrival.is_open is False
    assert now.results[0].walk_min == pytest.approx(16.2, abs=0.2)
    arrival = await _locate(client, f"{point}&{OFFICE}&at=2026-11-24T19:50")
    assert arrival.results == [] and arrival.notice.code == "nothing_open"
    soon = await _locate(client, f"{point}&{OFFICE}&at=2026-11-24T19:30")
    assert soon.results[0].closes_soon is True
    assert soon.results[0].open_on_arrival.closes_at == datetime(2026, 11, 24, 20, 0,
                                                                 tzinfo=BEIJING)  # fmt: skip
    early = await _locate(client, f"{point}&{OFFICE}&at=2026-11-24T10:00")
    assert early.results[0].closes_soon is False


async def test_needs_and_profiles_filter_and_mark(client, api_conn):
    care = await _add(api_conn, "care", 116.2201, 39.8501, kind="sanitation_care_point",
                      amenities=("hot_water",))  # fmt: skip
    await api_conn.execute("UPDATE stations SET last_verified_at = now() WHERE id = $1", care)
    point = "lon=116.22&lat=39.851&open=any"
    assert [p.name for p in (await _locate(client, f"{point}&need=microwave")).results] == [
        "烤鸭店暖心驿站"
    ]
    both = await _locate(client, f"{point}&need=hot_water&need=toilet")
    assert [p.name for p in both.results] == ["西街道工会服务站"]
    sanitation = await _locate(client, f"{point}&profile=sanitation")
    assert sanitation.results[0].id == care
    courier = await _locate(client, f"{point}&profile=courier")
    assert care not in [p.id for p in courier.results]
    duck = next(p for p in courier.results if p.name == "烤鸭店暖心驿站")
    assert duck.profile_matches == ["phone_charging", "hot_water"]
    assert duck.amenity_labels == ["热水", "微波炉", "手机充电"]


async def test_navigation_links_carry_each_apps_coordinates(client):
    body = await _locate(client, "lon=116.27&lat=39.861&k=1&open=any")
    duck = body.results[0]
    links = duck.navigation
    g_lon, g_lat = wgs84_to_gcj02(116.27, 39.86)
    b_lon, b_lat = wgs84_to_bd09(116.27, 39.86)
    amap = parse_qs(urlparse(links["amap"]).query)
    assert amap["to"] == [f"{g_lon:.6f},{g_lat:.6f},烤鸭店暖心驿站"] and amap["mode"] == ["walk"]
    baidu = parse_qs(urlparse(links["baidu"]).query)
    assert baidu["destination"] == [f"latlng:{b_lat:.6f},{b_lon:.6f}|name:烤鸭店暖心驿站"]
    assert baidu["coord_type"] == ["bd09ll"]
    tencent = parse_qs(urlparse(links["tencent"]).query)
    assert tencent["tocoord"] == [f"{g_lat:.6f},{g_lon:.6f}"]
    assert links["geo"].startswith("geo:39.860000,116.270000?")


async def test_outside_the_area_and_nothing_near_are_said_plainly(client):
    paris = await _locate(client, "lon=2.35&lat=48.85")
    assert paris.results == [] and paris.notice.code == "outside_area"
    assert paris.notice.nearest_m > 7_000_000
    corner = await _locate(client, "lon=116.29&lat=39.801&max_km=1&open=any")
    assert corner.notice.code == "nothing_within"
    expected = GEOD.inv(116.29, 39.801, 116.27, 39.86)[2]  # the rest point is the nearest
    assert corner.notice.nearest_m == pytest.approx(expected, abs=0.5)
    assert "6.8 km" in corner.notice.message or "6.7 km" in corner.notice.message


@pytest.mark.parametrize("query", ["lon=116.3&lat=95", "lon=116.3&lat=39.9&k=0",
                                   "lon=116.3&lat=39.9&k=21", "lon=116.3&lat=39.9&max_km=50",
                                   "lon=116.3&lat=39.9&coords=mars", "lat=39.9",
                                   "lon=116.3&lat=39.9&need=jacuzzi",
                                   "lon=116.3&lat=39.9&at=yesterday",
                                   "lon=116.3&lat=39.9&at=9999-12-31T23:59",
                                   "lon=116.3&lat=39.9&open=now&at=0001-01-01T00:00",
                                   "lon=116.3&lat=39.9&open=any&at=2101-01-01T00:00"])  # fmt: skip
async def test_bad_requests_are_problems_without_internals(client, query):
    response = await client.get(f"/locate?{query}")
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text


@pytest.mark.parametrize("at", ["2000-01-01T00:00", "2100-12-31T23:59"])
async def test_the_years_a_plan_may_ask_about_are_answered(client, at):
    response = await client.get(f"/locate?lon=116.22&lat=39.851&at={at}")
    assert response.status_code == 200, response.text


async def test_stale_places_are_marked_and_rank_after_a_sure_one_nearby(client, api_conn):
    """Never verified 600 m away vs verified 800 m away: 600 × 1.5 = 900 > 800."""
    never = await _add(api_conn, "never", 116.4070, 39.90)  # ~597 m east
    sure = await _add(api_conn, "sure", 116.4094, 39.90)  # ~802 m east
    old = await _add(api_conn, "old", 116.4, 39.9030)  # ~333 m north, verified long ago
    await api_conn.execute("UPDATE stations SET last_verified_at = $2 WHERE id = $1", sure,
                           datetime(2026, 11, 1, tzinfo=BEIJING))  # fmt: skip
    await api_conn.execute("UPDATE stations SET last_verified_at = $2 WHERE id = $1", old,
                           datetime(2025, 1, 1, tzinfo=BEIJING))  # fmt: skip
    body = await _locate(client, "lon=116.4&lat=39.9&k=3&open=any&at=2026-11-23T10:00")
    assert [p.id for p in body.results] == [old, sure, never]  # 500 < 802 < 896
    by_id = {p.id: p for p in body.results}
    assert (by_id[sure].verified_days_ago, by_id[sure].stale) == (22, False)
    assert by_id[never].verified_days_ago is None and by_id[never].stale
    assert by_id[old].stale and by_id[old].verified_days_ago > 180
    assert "rank as if 1.5× as far" in body.method
