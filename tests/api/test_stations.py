"""``/stations``: GeoJSON that matches its model, filters that filter, limits that hold."""

from __future__ import annotations

import pytest

from api.schemas import StationsPublic

pytestmark = pytest.mark.anyio


async def test_lists_every_station_as_valid_geojson(client):
    response = await client.get("/stations")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = StationsPublic.model_validate(response.json())
    names = {f.properties.name for f in body.features}
    assert names == {"西街道工会服务站", "烤鸭店暖心驿站", "西街道第三工会服务站"}
    duck = next(f for f in body.features if f.properties.name == "烤鸭店暖心驿站")
    assert duck.geometry.coordinates == (116.27, 39.86)
    assert [str(a) for a in duck.properties.amenities] == [
        "hot_water",
        "microwave",
        "phone_charging",
    ]
    assert duck.properties.boundary_name == "东街道"
    assert body.numberReturned == 3


async def test_filters_by_kind_status_amenity_and_bbox(client):
    async def names(query: str) -> set[str]:
        response = await client.get(f"/stations?{query}")
        assert response.status_code == 200, response.text
        return {f["properties"]["name"] for f in response.json()["features"]}

    assert await names("kind=rest_point") == {"烤鸭店暖心驿站"}
    assert await names("status=planned") == {"西街道第三工会服务站"}
    assert await names("status=open&amenity=toilet") == {"西街道工会服务站"}
    assert await names("amenity=hot_water&amenity=microwave") == {"烤鸭店暖心驿站"}
    assert await names("bbox=116.2,39.8,116.25,39.9") == {
        "西街道工会服务站",
        "西街道第三工会服务站",
    }


async def test_sees_rows_written_in_the_same_test_transaction(client, api_conn):
    await api_conn.execute(
        "INSERT INTO stations (source, external_id, kind, name, geom) "
        "VALUES ('api-test', 'w1', 'water_point', '临时饮水点', ST_Point(116.26, 39.83, 4326))"
    )
    response = await client.get("/stations?kind=water_point")
    assert [f["properties"]["name"] for f in response.json()["features"]] == ["临时饮水点"]


async def test_paging_gives_next_link_until_the_end(client):
    first = (await client.get("/stations?limit=2")).json()
    assert first["numberReturned"] == 2
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = (await client.get(next_link)).json()
    assert second["numberReturned"] == 1
    assert not [link for link in second["links"] if link["rel"] == "next"]
    ids = [f["id"] for f in first["features"] + second["features"]]
    assert len(set(ids)) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=teahouse", "kind"),
        ("amenity=sauna", "amenity"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=117,39,116,40", "bbox"),
        ("bbox=0,0,200,10", "bbox"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("offset=-1", "offset"),
    ],
)
async def test_bad_parameters_get_a_problem_naming_the_field(client, query, field):
    response = await client.get(f"/stations?{query}")
    assert response.status_code in {400, 422}
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == response.status_code
    assert field in body["detail"] or body.get("field") == field


async def test_coords_shift_stations_and_boundaries_for_chinese_basemaps(client):
    from geo.crs import wgs84_to_bd09, wgs84_to_gcj02

    gcj = (await client.get("/stations?kind=rest_point&coords=gcj02")).json()
    assert gcj["features"][0]["geometry"]["coordinates"] == pytest.approx(
        list(wgs84_to_gcj02(116.27, 39.86)), abs=1e-6
    )
    bd = (await client.get("/boundaries?within=110106017000&level=subdistrict&coords=bd09"
                           "&simplify_m=0")).json()  # fmt: skip
    corner = bd["features"][0]["geometry"]["coordinates"][0][0][0]
    assert corner == pytest.approx(list(wgs84_to_bd09(116.2, 39.8)), abs=1e-5)
    wrong = await client.get("/stations?coords=mars")
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
