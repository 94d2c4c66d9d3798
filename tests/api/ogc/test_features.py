"""``/ogc``: OGC API – Features Part 1 on the tiny fixtures, then read by GDAL's own client.

Pages are kept small on purpose (default 2, maximum 3 features) so that paging, clamping and
``next`` links are exercised by three stations, two enterprises and three boundaries.

Longer than ~400 lines: one standard's conformance, from the landing page to GDAL.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import pytest

from geo.config import ApiSettings, Settings
from geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from geo.vocab import StationKind
from tests.browser import served

pytestmark = pytest.mark.anyio

OGRINFO = Path("/usr/bin/ogrinfo")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
KIND_COLLECTIONS = {f"stations-{k.value}" for k in StationKind}
ALL_COLLECTIONS = {"stations", "enterprises", "boundaries", *KIND_COLLECTIONS}
WEST, DUCK, THIRD = "西街道工会服务站", "烤鸭店暖心驿站", "西街道第三工会服务站"
PUBLIC_ENTERPRISE_FIELDS = {"name", "address", "industry", "union_status", "employees",
                            "outdoor_workers", "boundary_code", "boundary_name"}  # fmt: skip


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Overrides conftest's: small pages so the tiny fixtures need several of them."""
    return Settings(environment="test", database_url=database_url,
                    api=ApiSettings(default_features=2, max_features=3))  # fmt: skip


def rels(body: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for link in body["links"]:
        found.setdefault(link["rel"], []).append(link)
    return found


def assert_problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    if field:
        assert body.get("field") == field, body
    return body


async def names(client, url: str) -> set[str]:
    """Names of every feature, following next links (each page checked on the way)."""
    found: list[str] = []
    while url:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["numberReturned"] == len(body["features"])
        found += [f["properties"]["name"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(found) == len(set(found))
    return set(found)


async def db_ids(api_conn, table: str, where: str = "TRUE") -> dict[str, int]:
    rows = await api_conn.fetch(f"SELECT id, name FROM {table} WHERE {where}")
    return {r["name"]: r["id"] for r in rows}


# ---- metadata -------------------------------------------------------------------------------


async def test_landing_page_links_to_everything_and_each_link_resolves(client):
    response = await client.get("/ogc")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["title"] and body["description"]
    links = rels(body)
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["data"][0]["href"] == "http://test/ogc/collections"
    assert links["alternate"][0]["type"] == "text/html"
    tiles_rel = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
    assert links[tiles_rel][0]["href"] == "http://test/ogc/tiles"
    assert links["stylesheet"][0]["href"] == "http://test/styles/nuanxin.json"
    for rel in (
        "service-desc",
        "service-doc",
        "conformance",
        "data",
        "alternate",
        tiles_rel,
        "stylesheet",
    ):
        assert (await client.get(links[rel][0]["href"])).status_code == 200, rel
    service_desc = (await client.get(links["service-desc"][0]["href"])).json()
    assert service_desc["servers"] == [{"url": "http://test/ogc"}]
    assert "/collections/{collectionId}/items" in service_desc["paths"]


async def test_landing_page_as_html_for_f_and_for_browsers(client):
    for response in [
        await client.get("/ogc?f=html"),
        await client.get("/ogc", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}),
    ]:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.text.startswith("<!DOCTYPE html>")
        assert 'href="http://test/ogc/collections"' in response.text
    assert (await client.get("/ogc?f=json")).headers["content-type"] == "application/json"


async def test_api_path_is_the_ogc_part_of_the_openapi_document(client):
    """Paths relative to /ogc (its ``servers``), so clients find the items path's parameters."""
    response = await client.get("/ogc/api")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    ours, whole = response.json(), (await client.get("/openapi.json")).json()
    assert ours["servers"] == [{"url": "http://test/ogc"}]
    expected = {p.removeprefix("/ogc") or "/" for p in whole["paths"] if p.startswith("/ogc")}
    assert set(ours["paths"]) == expected and "/" in expected
    items = ours["paths"]["/collections/{collectionId}/items"]
    assert items == whole["paths"]["/ogc/collections/{collectionId}/items"]
    assert ours["components"] == whole["components"]
    assert_problem(await client.get("/ogc/api?f=yaml"), 400, "f")


async def test_conformance_lists_the_implemented_classes(client):
    response = await client.get("/ogc/conformance")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    part2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/"
    part3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
    cql2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
    assert set(response.json()["conformsTo"]) == {
        f"{base}core", f"{base}geojson", f"{base}html", f"{base}oas30", f"{part2}crs",
        f"{part3}queryables", f"{part3}filter", f"{part3}features-filter",
        *(cql2 + c for c in ("cql2-text", "cql2-json", "basic-cql2", "property-property",
                             "advanced-comparison-operators", "case-insensitive-comparison",
                             "basic-spatial-functions", "basic-spatial-functions-plus",
                             "spatial-functions", "array-functions")),
        *(f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{c}"
          for c in ("core", "tileset", "tilesets-list", "geodata-tilesets", "dataset-tilesets",
                    "mvt", "oas30")),
    }  # fmt: skip
    html = await client.get("/ogc/conformance?f=html")
    assert html.headers["content-type"].startswith("text/html") and f"{base}core" in html.text


async def test_collections_have_extents_from_the_data_crs_and_links(client):
    response = await client.get("/ogc/collections")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(rels(body)) >= {"self", "alternate"}
    by_id = {c["id"]: c for c in body["collections"]}
    assert set(by_id) == ALL_COLLECTIONS
    for collection in by_id.values():
        assert collection["itemType"] == "feature" and collection["title"]
        assert CRS84 in collection["crs"]
        links = rels(collection)
        assert {link["type"] for link in links["items"]} == {"application/geo+json", "text/html"}
        assert links["self"][0]["href"].endswith(f"/ogc/collections/{collection['id']}")
        assert links["alternate"][0]["type"] == "text/html"
    extent = {cid: c.get("extent", {}).get("spatial", {}).get("bbox") for cid, c in by_id.items()}
    assert extent["stations"] == [[116.205, 39.85, 116.27, 39.86]]
    assert extent["stations-subdistrict_station"] == [[116.205, 39.85, 116.22, 39.85]]
    assert extent["stations-rest_point"] == [[116.27, 39.86, 116.27, 39.86]]
    assert extent["enterprises"] == [[116.23, 39.84, 116.28, 39.88]]
    assert extent["boundaries"] == [[116.2, 39.8, 116.3, 39.9]]
    assert extent["stations-water_point"] is None  # no such station: no extent to claim
    assert by_id["boundaries"]["extent"]["spatial"]["crs"] == CRS84


async def test_one_collection_and_an_unknown_one(client):
    response = await client.get("/ogc/collections/stations-rest_point")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["id"] == "stations-rest_point" and body["itemType"] == "feature"
    items = next(link for link in body["links"] if link["rel"] == "items"
                 and link["type"] == "application/geo+json")  # fmt: skip
    assert items["href"] == "http://test/ogc/collections/stations-rest_point/items"
    html = await client.get("/ogc/collections/boundaries?f=html")
    assert html.headers["content-type"].startswith("text/html")
    body = assert_problem(await client.get("/ogc/collections/teahouses"), 404)
    assert "teahouses" in body["detail"]


# ---- items ----------------------------------------------------------------------------------


async def test_items_page_has_counts_timestamp_and_links(client):
    response = await client.get("/ogc/collections/stations/items")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert (body["numberMatched"], body["numberReturned"], len(body["features"])) == (3, 2, 2)
    stamp = dt.datetime.fromisoformat(body["timeStamp"])
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 60
    links = rels(body)
    assert links["self"][0]["type"] == "application/geo+json"
    assert links["collection"][0]["href"] == "http://test/ogc/collections/stations"
    assert "prev" not in links
    assert links["next"][0]["href"] == (
        "http://test/ogc/collections/stations/items?offset=2&limit=2"
    )
    feature = body["features"][0]
    assert isinstance(feature["id"], int) and feature["geometry"]["type"] == "Point"


@pytest.mark.parametrize(
    ("collection", "table", "where"),
    [
        ("stations", "stations", "TRUE"),
        ("stations-subdistrict_station", "stations", "kind = 'subdistrict_station'"),
        ("enterprises", "enterprises", "TRUE"),
        ("boundaries", "boundaries", "valid_to IS NULL"),
    ],
)
async def test_following_next_links_gives_every_id_exactly_once(
    client, api_conn, collection, table, where
):
    expected = set((await db_ids(api_conn, table, where)).values())
    url, seen, pages = f"/ogc/collections/{collection}/items?limit=1", [], 0
    while url:
        body = (await client.get(url)).json()
        assert body["numberMatched"] == len(expected)
        assert body["numberReturned"] == len(body["features"]) == 1
        assert ("prev" in rels(body)) == (pages > 0)
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    assert sorted(seen) == sorted(expected) and pages == len(expected)


async def test_next_and_prev_links_keep_the_other_parameters(client):
    url = "/ogc/collections/stations/items?amenity=hot_water&limit=1&coords=gcj02&offset=1"
    body = (await client.get(url)).json()
    assert body["numberMatched"] == 2 and body["numberReturned"] == 1
    assert rels(body)["prev"][0]["href"] == (
        "http://test/ogc/collections/stations/items?amenity=hot_water&coords=gcj02&offset=0&limit=1"
    )
    assert "next" not in rels(body)
    repeated = (await client.get("/ogc/collections/stations/items?amenity=seating&amenity=toilet"
                                 "&limit=1&kind=subdistrict_station")).json()  # fmt: skip
    assert repeated["numberMatched"] == 1 and "next" not in rels(repeated)
    two = (await client.get("/ogc/collections/stations/items?status=open,planned&limit=1")).json()
    next_href = rels(two)["next"][0]["href"]
    assert "status=open%2Cplanned" in next_href and "offset=1" in next_href


async def test_limit_over_the_maximum_is_clamped_not_refused(client, api_conn):
    for n in range(2):  # five stations in this test's transaction; the maximum page is 3
        await api_conn.execute(
            "INSERT INTO stations (source, external_id, kind, name, geom) VALUES "
            "('ogc-test', $1, 'water_point', $2, ST_Point(116.26, 39.83, 4326))",
            f"w{n}",
            f"水{n}",
        )
    body = (await client.get("/ogc/collections/stations/items?limit=50")).json()
    assert (body["numberMatched"], body["numberReturned"], len(body["features"])) == (5, 3, 3)
    assert rels(body)["next"][0]["href"].endswith("offset=3&limit=3")
    assert await names(client, "/ogc/collections/stations/items?limit=50") == {
        WEST, DUCK, THIRD, "水0", "水1"}  # fmt: skip
    water = (await client.get("/ogc/collections/stations-water_point")).json()
    assert water["extent"]["spatial"]["bbox"] == [[116.26, 39.83, 116.26, 39.83]]


async def test_bbox_keeps_features_that_intersect_it(client):
    west = "bbox=116.2,39.8,116.25,39.9"  # the west subdistrict's own rectangle
    assert await names(client, f"/ogc/collections/stations/items?{west}") == {WEST, THIRD}
    assert await names(client, f"/ogc/collections/enterprises/items?{west}") == {"示例物流有限公司"}
    # Polygons that only touch the box at lon 116.25 intersect it too.
    assert await names(client, f"/ogc/collections/boundaries/items?{west}") == {
        "测试区", "西街道", "东街道"}  # fmt: skip
    east = "bbox=116.26,39.81,116.29,39.89"
    assert await names(client, f"/ogc/collections/boundaries/items?{east}") == {"测试区", "东街道"}
    assert await names(client, f"/ogc/collections/stations/items?{east}") == {DUCK}
    assert await names(client, "/ogc/collections/stations/items?bbox=116.21,39.849,116.23,39.851")\
        == {WEST}  # fmt: skip
    assert await names(client, "/ogc/collections/stations/items?bbox=0,0,1,1") == set()
    with_heights = "bbox=116.2,39.8,-10,116.25,39.9,100"
    assert await names(client, f"/ogc/collections/stations/items?{with_heights}") == {WEST, THIRD}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=rest_point", {DUCK}),
        ("kind=rest_point,subdistrict_station", {WEST, DUCK, THIRD}),
        ("kind=暖心驿站", {DUCK}),
        ("status=planned", {THIRD}),
        ("status=open&kind=subdistrict_station", {WEST}),
        ("amenity=hot_water&amenity=microwave", {DUCK}),
        ("amenity=hot_water,toilet", {WEST}),
        ("amenity=热水", {WEST, DUCK}),
        ("boundary=110106001000", {DUCK}),
        ("boundary=110106017000", {WEST, THIRD}),
        ("boundary=110106000000", {WEST, DUCK, THIRD}),  # the district: an ancestor
        ("boundary=110106001000,110106017000", {WEST, DUCK, THIRD}),
        ("boundary=110105000000", set()),
        ("datetime=2026-11-25", {WEST, DUCK}),  # the third opens on 2026-12-01
        ("datetime=2026-12-01", {WEST, DUCK, THIRD}),
        ("datetime=../2026-11-30", {WEST, DUCK}),
        ("datetime=2026-12-01/..", {WEST, DUCK, THIRD}),
        ("datetime=2026-11-30T16:30:00Z", {WEST, DUCK, THIRD}),  # 00:30 on 1 Dec in Beijing
        ("datetime=2026-11-30T23:30:00%2B08:00", {WEST, DUCK}),
    ],
)
async def test_station_filters(client, query, expected):
    assert await names(client, f"/ogc/collections/stations/items?{query}") == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/ogc/collections/stations-subdistrict_station/items", {WEST, THIRD}),
        ("/ogc/collections/stations-subdistrict_station/items?status=planned", {THIRD}),
        ("/ogc/collections/stations-subdistrict_station/items?kind=rest_point", set()),
        ("/ogc/collections/stations-water_point/items", set()),
        ("/ogc/collections/boundaries/items?level=subdistrict", {"西街道", "东街道"}),
        ("/ogc/collections/boundaries/items?level=district", {"测试区"}),
        ("/ogc/collections/boundaries/items?parent_code=110106000000", {"西街道", "东街道"}),
        ("/ogc/collections/boundaries/items?parent_code=110000000000", {"测试区"}),
        ("/ogc/collections/enterprises/items?union_status=unionised", {"示例物业管理公司"}),
        ("/ogc/collections/enterprises/items?union_status=未建会", {"示例物流有限公司"}),
        ("/ogc/collections/enterprises/items?boundary=110106001000", {"示例物业管理公司"}),
        ("/ogc/collections/enterprises/items?datetime=2026-01-01", {"示例物流有限公司",
                                                                    "示例物业管理公司"}),
    ],
)  # fmt: skip
async def test_collection_and_property_filters(client, url, expected):
    assert await names(client, url) == expected


async def test_superseded_boundaries_are_not_served(client, api_conn):
    await api_conn.execute("UPDATE boundaries SET valid_to = '2026-01-01' WHERE name = '东街道'")
    assert await names(client, "/ogc/collections/boundaries/items") == {"测试区", "西街道"}


# ---- single features, coordinates, private fields -------------------------------------------


async def test_one_feature_by_id_and_the_404s(client, api_conn):
    ids = await db_ids(api_conn, "stations")
    response = await client.get(f"/ogc/collections/stations/items/{ids[DUCK]}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "Feature" and body["id"] == ids[DUCK]
    assert body["geometry"] == {"type": "Point", "coordinates": [116.27, 39.86]}
    assert body["properties"]["amenities"] == ["hot_water", "microwave", "phone_charging"]
    assert body["properties"]["boundary_code"] == "110106001000"
    links = rels(body)
    assert links["collection"][0]["href"] == "http://test/ogc/collections/stations"
    assert links["self"][0]["href"].endswith(f"/items/{ids[DUCK]}")
    same = await client.get(f"/ogc/collections/stations-rest_point/items/{ids[DUCK]}")
    assert same.json()["id"] == ids[DUCK]
    html = await client.get(f"/ogc/collections/stations/items/{ids[DUCK]}?f=html")
    assert html.headers["content-type"].startswith("text/html") and DUCK in html.text
    for path in [
        f"/ogc/collections/stations-rest_point/items/{ids[WEST]}",  # another kind
        f"/ogc/collections/stations/items/{max(ids.values()) + 1000}",
        "/ogc/collections/stations/items/abc",
        "/ogc/collections/stations/items/99999999999999999999",
        f"/ogc/collections/teahouses/items/{ids[DUCK]}",
    ]:
        assert_problem(await client.get(path), 404)
    assert_problem(await client.get("/ogc/collections/teahouses/items"), 404)


async def test_coords_shift_output_to_gcj02_and_bd09(client, api_conn):
    ids = await db_ids(api_conn, "stations")
    lon, lat = 116.27, 39.86  # the duck restaurant's stored WGS-84 point
    for system, convert in [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)]:
        one = await client.get(f"/ogc/collections/stations/items/{ids[DUCK]}?coords={system}")
        assert one.json()["geometry"]["coordinates"] == pytest.approx(
            list(convert(lon, lat)), abs=1e-7
        )
        page = await client.get(f"/ogc/collections/stations-rest_point/items?coords={system}")
        assert page.headers["content-type"] == "application/geo+json"
        assert page.json()["features"][0]["geometry"]["coordinates"] == pytest.approx(
            list(convert(lon, lat)), abs=1e-7
        )
    gcj = wgs84_to_gcj02(lon, lat)
    assert abs(gcj[0] - lon) > 1e-3  # in Beijing the shift is hundreds of metres
    boundary = await client.get("/ogc/collections/boundaries/items?level=district&coords=gcj02")
    ring = boundary.json()["features"][0]["geometry"]["coordinates"][0][0]
    assert ring[0] == pytest.approx(list(wgs84_to_gcj02(116.2, 39.8)), abs=1e-7)
    plain = (await client.get(f"/ogc/collections/stations/items/{ids[DUCK]}")).json()
    assert plain["geometry"]["coordinates"] == [lon, lat]


async def test_enterprises_show_public_fields_only(client):
    response = await client.get("/ogc/collections/enterprises/items")
    body = response.json()
    assert body["numberMatched"] == 2
    for feature in body["features"]:
        assert set(feature["properties"]) == PUBLIC_ENTERPRISE_FIELDS
    for private in ("registration_code", "external_id", "source", "created_at", "phone"):
        assert f'"{private}"' not in response.text
    logistics = next(f for f in body["features"] if f["properties"]["name"] == "示例物流有限公司")
    assert logistics["properties"] | {"address": None} == {
        "name": "示例物流有限公司", "address": None, "industry": "物流快递",
        "union_status": "not_unionised", "employees": 120, "outdoor_workers": 80,
        "boundary_code": "110106017000", "boundary_name": "西街道"}  # fmt: skip


async def test_boundaries_carry_their_figures(client):
    body = (await client.get("/ogc/collections/boundaries/items?level=subdistrict&limit=3")).json()
    west = next(f for f in body["features"] if f["properties"]["name"] == "西街道")
    props = west["properties"]
    assert set(props) == {
        "code",
        "name",
        "level",
        "parent_code",
        "vintage",
        "population",
        "population_year",
        "population_source",
        "area_km2",
        "communities",
    }
    assert (props["code"], props["population"], props["communities"]) == (
        "110106017000",
        150000,
        12,
    )
    # 0.05° x 0.1° at 39.85°N: about 4.27 km x 11.1 km
    assert props["area_km2"] == pytest.approx(47.5, abs=0.5)
    assert west["geometry"]["type"] == "MultiPolygon"


async def test_items_as_html(client):
    response = await client.get("/ogc/collections/stations/items?f=html&limit=3")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert DUCK in response.text and "3 of 3 features" in response.text


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("bbox=1,2,3", "bbox", "minlon,minlat"),
        ("bbox=a,b,c,d", "bbox", "minlon,minlat"),
        ("bbox=nan,39,116,40", "bbox", "minlon,minlat"),
        ("bbox=117,39,116,40", "bbox", "min < max"),
        ("bbox=116,41,117,40", "bbox", "min < max"),
        ("bbox=0,0,200,10", "bbox", "-180..180"),
        ("bbox=110,30,120,40", "bbox", "at most 100,000 km²"),
        ("limit=0", "limit", "at least 1"),
        ("limit=abc", "limit", "whole number"),
        ("limit=1&limit=2", "limit", "only once"),
        ("offset=-1", "offset", "0..1000000"),
        ("datetime=yesterday", "datetime", "RFC 3339"),
        ("datetime=2026-12-02/2026-12-01", "datetime", "ends before"),
        ("kind=teahouse", "kind", "accepted: service_centre"),
        ("amenity=sauna", "amenity", "unknown Amenity"),
        ("boundary=1101", "boundary", "12-digit"),
        ("coords=mars", "coords", "unknown coordinate system"),
        ("f=xml", "f", "geojson, json, html"),
        ("color=red", "color", "accepts: amenity, bbox, bbox-crs, boundary"),
        ("level=district", "level", "accepts:"),  # a boundaries filter, not a stations one
    ],
)
async def test_bad_items_parameters_are_400_problems(client, query, field, words):
    body = assert_problem(await client.get(f"/ogc/collections/stations/items?{query}"), 400, field)
    assert words in body["detail"], body["detail"]


async def test_unknown_parameters_are_refused_everywhere(client, api_conn):
    some_id = next(iter((await db_ids(api_conn, "stations")).values()))
    for path in ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/stations",
                 f"/ogc/collections/stations/items/{some_id}"]:  # fmt: skip
        body = assert_problem(await client.get(f"{path}?limit=5"), 400, "limit")
        assert re.search(r"accepts: (coords, crs, )?f$", body["detail"]), body["detail"]
    assert_problem(await client.get("/ogc/collections/boundaries/items?kind=rest_point"), 400)
    assert_problem(await client.get("/ogc/collections/enterprises/items?status=open"), 400)


async def test_every_ogc_route_is_documented_with_examples(client):
    spec = (await client.get("/openapi.json")).json()
    ogc = {path: ops for path, ops in spec["paths"].items() if path.startswith("/ogc")}
    assert set(ogc) == {"/ogc", "/ogc/api", "/ogc/conformance", "/ogc/collections",
                        "/ogc/collections/{collectionId}", "/ogc/collections/{collectionId}/items",
                        "/ogc/collections/{collectionId}/items/{featureId}",
                        "/ogc/collections/{collectionId}/queryables", "/ogc/tileMatrixSets",
                        "/ogc/tileMatrixSets/{tileMatrixSetId}",
                        "/ogc/collections/{collectionId}/tiles",
                        "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}",
                        "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/"
                        "{tileRow}/{tileCol}", "/ogc/tiles", "/ogc/tiles/{tileMatrixSetId}",
                        "/ogc/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
                        }  # fmt: skip
    for path, ops in ogc.items():
        operation = ops["get"]
        assert operation["summary"], path
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), (path, parameter["name"])
            assert "example" in parameter or parameter.get("examples"), (path, parameter["name"])
    items = ogc["/ogc/collections/{collectionId}/items"]["get"]
    documented = {p["name"] for p in items["parameters"]}
    assert documented == {"collectionId", "f", "bbox", "limit", "offset", "datetime", "coords",
                          "kind", "status", "amenity", "boundary", "union_status", "level",
                          "parent_code", "crs", "bbox-crs", "filter", "filter-lang", "filter-crs",
                          "sortby", "properties"}  # fmt: skip


# ---- a real client: GDAL's OAPIF driver over HTTP -------------------------------------------


def ogrinfo(*args: str) -> str:
    assert OGRINFO.exists(), "ogrinfo is required (Debian package gdal-bin)"
    env = {**os.environ, "NO_PROXY": "*", "no_proxy": "*", "GDAL_HTTP_TIMEOUT": "30"}
    result = subprocess.run([str(OGRINFO), "-ro", *args], capture_output=True, text=True,
                            env=env, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    assert "ERROR" not in result.stderr, result.stderr
    return result.stdout


def test_gdal_reads_every_collection(tiny_database_url):
    settings = Settings(environment="test", database_url=tiny_database_url,
                        api=ApiSettings(default_features=2, max_features=2))  # fmt: skip
    with served(settings) as base:
        source = f"OAPIF:{base}/ogc"
        listing = ogrinfo("-so", source)
        layers = set(re.findall(r"^\d+: ([\w-]+)", listing, flags=re.MULTILINE))
        assert layers == ALL_COLLECTIONS, listing
        expected = {"stations": 3, "stations-subdistrict_station": 2, "stations-rest_point": 1,
                    "enterprises": 2, "boundaries": 3}  # fmt: skip
        for layer, count in expected.items():
            out = ogrinfo("-al", "-q", source, layer)
            assert out.count(f"OGRFeature({layer}):") == count, out
            summary = ogrinfo("-so", source, layer)
            assert f"Feature Count: {count}" in summary, summary
        stations = ogrinfo("-al", "-q", source, "stations")
        assert f"name (String) = {DUCK}" in stations
        assert "POINT (116.27 39.86)" in stations
        assert "amenities (StringList) = (3:hot_water,microwave,phone_charging)" in stations
        enterprises = ogrinfo("-al", "-q", source, "enterprises")
        assert "union_status (String) = not_unionised" in enterprises
        assert "registration_code" not in enterprises
        boundaries = ogrinfo("-al", "-q", source, "boundaries")
        assert "population (Integer) = 150000" in boundaries and "MULTIPOLYGON" in boundaries
