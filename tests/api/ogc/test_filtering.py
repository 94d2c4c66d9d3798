"""OGC API – Features Parts 2 and 3 on the bundled 340 stations: CQL2, sortby, properties, CRS.

Every filter's answer is checked against the same condition evaluated here in Python over the
unfiltered collection, so a wrong translation (an operator, a type, NULL handling, axis order)
changes the set of ids and fails the test.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import jsonschema
import pytest
from shapely.geometry import Point, Polygon, box, shape

from api.app import create_app
from geo.config import ApiSettings, Settings
from tests.conftest import app_client

pytestmark = pytest.mark.anyio

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
ITEMS = "/ogc/collections/stations/items"
CHAOYANG = Polygon([(116.40, 39.88), (116.55, 39.88), (116.55, 40.00), (116.40, 40.00)])


@pytest.fixture
async def client(bundled_database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(environment="test", database_url=bundled_database_url,
                        api=ApiSettings(default_features=1000, max_features=1000))  # fmt: skip
    conn = await asyncpg.connect(bundled_database_url)
    try:
        async with app_client(create_app(settings), conn) as http:
            yield http
    finally:
        await conn.close()


@pytest.fixture
async def everything(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every station, unfiltered: what each filter is checked against."""
    body = (await client.get(ITEMS, params={"limit": 1000})).json()
    assert body["numberMatched"] == len(body["features"]) == 340
    return body["features"]


async def ids(client: httpx.AsyncClient, **params: str) -> list[int]:
    response = await client.get(ITEMS, params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numberMatched"] == body["numberReturned"] == len(body["features"])
    return [f["id"] for f in body["features"]]


def day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def moment(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


P = dict[str, Any]
CASES: list[tuple[str, Callable[[P, Any], bool]]] = [
    ("kind = 'rest_point'", lambda p, g: p["kind"] == "rest_point"),
    ("kind = '暖心驿站'", lambda p, g: p["kind"] == "rest_point"),  # the Chinese label
    ("kind <> 'rest_point' AND status = 'open'",
     lambda p, g: p["kind"] != "rest_point" and p["status"] == "open"),
    ("seats >= 10 OR floor_area_m2 > 300.5",
     lambda p, g: (p["seats"] or 0) >= 10 or (p["floor_area_m2"] or 0) > 300.5),
    ("seats BETWEEN 4 AND 8", lambda p, g: p["seats"] is not None and 4 <= p["seats"] <= 8),
    ("kind IN ('water_point', 'sanitation_care_point')",
     lambda p, g: p["kind"] in ("water_point", "sanitation_care_point")),
    ("seats IN (2, 6)", lambda p, g: p["seats"] in (2, 6)),
    ("name LIKE '%驿站%'", lambda p, g: "驿站" in p["name"]),
    ("name NOT LIKE '%驿站%'", lambda p, g: "驿站" not in p["name"]),
    ("CASEI(opening_hours) LIKE CASEI('%SA%')",
     lambda p, g: "sa" in (p["opening_hours"] or "").lower()),
    ("closed_on IS NULL", lambda p, g: p["closed_on"] is None),
    ("NOT (closed_on IS NULL)", lambda p, g: p["closed_on"] is not None),
    ("seats IS NOT NULL AND seats < 3", lambda p, g: p["seats"] is not None and p["seats"] < 3),
    ("opened_on >= DATE('2024-01-01')",
     lambda p, g: p["opened_on"] is not None and day(p["opened_on"]) >= dt.date(2024, 1, 1)),
    ("last_verified_at > TIMESTAMP('2026-10-01T00:00:00Z')",
     lambda p, g: p["last_verified_at"] is not None
     and moment(p["last_verified_at"]) > dt.datetime(2026, 10, 1, tzinfo=dt.UTC)),
    ("seats < floor_area_m2", lambda p, g: None not in (p["seats"], p["floor_area_m2"])
     and p["seats"] < p["floor_area_m2"]),  # property–property
    ("A_CONTAINS(amenities, ('microwave', 'toilet'))",
     lambda p, g: {"microwave", "toilet"} <= set(p["amenities"])),
    ("A_CONTAINS(amenities, ('热水'))", lambda p, g: "hot_water" in p["amenities"]),
    ("A_OVERLAPS(services, ('legal_aid', 'counselling'))",
     lambda p, g: bool({"legal_aid", "counselling"} & set(p["services"]))),
    ("A_CONTAINEDBY(amenities, ('drinking_water', 'hot_water', 'seating', 'wifi'))",
     lambda p, g: set(p["amenities"]) <= {"drinking_water", "hot_water", "seating", "wifi"}),
    ("A_EQUALS(access, ('open_door'))", lambda p, g: set(p["access"]) == {"open_door"}),
    ("S_INTERSECTS(geometry, BBOX(116.3, 39.85, 116.45, 39.95))",
     lambda p, g: box(116.3, 39.85, 116.45, 39.95).intersects(g)),
    (f"S_WITHIN(geom, {CHAOYANG.wkt})", lambda p, g: g.within(CHAOYANG)),
    (f"S_DISJOINT(geometry, {CHAOYANG.wkt}) AND kind = 'rest_point'",
     lambda p, g: g.disjoint(CHAOYANG) and p["kind"] == "rest_point"),
    ("S_INTERSECTS(geometry, POINT(116.397 39.909)) OR status = 'closed'",
     lambda p, g: g.equals(Point(116.397, 39.909)) or p["status"] == "closed"),
    ("boundary_code LIKE '110106%'", lambda p, g: (p["boundary_code"] or "").startswith("110106")),
    ("kind = 'rest_point' AND (seats > 5 OR A_CONTAINS(amenities, ('microwave')))",
     lambda p, g: p["kind"] == "rest_point"
     and ((p["seats"] or 0) > 5 or "microwave" in p["amenities"])),
    ("TRUE", lambda p, g: True),
    ("name = 'x'' OR 1=1 --'", lambda p, g: False),  # a quote is data, not SQL
]  # fmt: skip


@pytest.mark.parametrize(("text", "holds"), CASES, ids=[c[0][:40] for c in CASES])
async def test_cql2_text_filters_match_the_same_condition_in_python(
    client, everything, text, holds
):
    expected = [f["id"] for f in everything if holds(f["properties"], shape(f["geometry"]))]
    assert await ids(client, filter=text) == expected
    if text not in ("TRUE", "name = 'x'' OR 1=1 --'"):
        assert 0 < len(expected) < 340, "a case that selects nothing or everything tests little"


async def test_cql2_json_gives_what_the_text_gives(client, everything):
    tree = {"op": "and", "args": [
        {"op": "=", "args": [{"property": "kind"}, "rest_point"]},
        {"op": "a_contains", "args": [{"property": "amenities"}, ["microwave"]]},
        {"op": "s_intersects", "args": [{"property": "geometry"},
                                        {"bbox": [116.2, 39.8, 116.6, 40.1]}]},
        {"op": ">=", "args": [{"property": "opened_on"}, {"date": "2020-01-01"}]},
    ]}  # fmt: skip
    got = await ids(client, filter=json.dumps(tree), **{"filter-lang": "cql2-json"})
    text = ("kind = 'rest_point' AND A_CONTAINS(amenities, ('microwave')) AND "
            "S_INTERSECTS(geometry, BBOX(116.2, 39.8, 116.6, 40.1)) AND "
            "opened_on >= DATE('2020-01-01')")  # fmt: skip
    assert got == await ids(client, filter=text)
    expected = [
        f["id"]
        for f in everything
        if f["properties"]["kind"] == "rest_point"
        and "microwave" in f["properties"]["amenities"]
        and box(116.2, 39.8, 116.6, 40.1).intersects(shape(f["geometry"]))
        and day(f["properties"]["opened_on"] or "1900-01-01") >= dt.date(2020, 1, 1)
    ]
    assert got == expected and expected  # fmt: skip


async def test_a_filter_combines_with_bbox_and_the_other_parameters_and_pages(client, everything):
    wanted = [f["id"] for f in everything if f["properties"]["status"] == "open"
              and f["properties"]["kind"] == "rest_point"
              and box(116.2, 39.8, 116.6, 40.0).intersects(shape(f["geometry"]))]  # fmt: skip
    url = f"{ITEMS}?kind=rest_point&bbox=116.2,39.8,116.6,40.0&limit=7&filter=" + \
        quote("status = 'open'")  # fmt: skip
    seen: list[int] = []
    while url:
        body = (await client.get(url)).json()
        assert body["numberMatched"] == len(wanted)
        seen += [f["id"] for f in body["features"]]
        url = next((x["href"] for x in body["links"] if x["rel"] == "next"), None)
    assert seen == wanted and len(wanted) > 7


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"filter": "colour = 'red'"}, "unknown property 'colour'; queryables here: access"),
        ({"filter": "kind = "}, "not valid CQL2 text at column 8: expected"),
        ({"filter": "seats = 'many'"}, "compares seats (integer) with a string"),
        (
            {"filter": "kind = 'teahouse'"},
            "kind has no value 'teahouse'; its values: service_centre",
        ),
        ({"filter": "A_CONTAINS(amenities, ('sauna'))"}, "amenities has no value 'sauna'"),
        ({"filter": "amenities = 'toilet'"}, "amenities is an array; use an array function"),
        ({"filter": "geometry = 'x'"}, "a geometry; use a spatial function"),
        ({"filter": "S_INTERSECTS(name, POINT(116 39))"}, "name is not a geometry"),
        ({"filter": "S_INTERSECTS(geometry, POINT(39.9 116.4))"}, "is not a longitude/latitude"),
        ({"filter": "ACCENTI(name) = 'x'"}, "ACCENTI is not supported"),
        ({"filter": "T_BEFORE(opened_on, DATE('2020-01-01'))"}, "T_BEFORE is not supported"),
        ({"filter": "seats + 1 > 3"}, "arithmetic is not supported"),
        ({"filter": "upper(name) = 'X'"}, "unknown or unsupported function 'upper'"),
        ({"filter": "opened_on > '2024-01-01'"}, "compares opened_on (date) with a string"),
        (
            {"filter": "opened_on > TIMESTAMP('2026-01-01T00:00:00Z')"},
            "compares opened_on (date) with a timestamp",
        ),
        ({"filter": "x" * 16_001}, "at most 16,000"),
        ({"filter": " OR ".join(f"seats = {i}" for i in range(300))}, "more than 500 terms"),
        ({"filter": "seats IN (" + ",".join(map(str, range(1001))) + ")"}, "at most 1,000"),
        (
            {"filter": "S_WITHIN(geometry, " + Point(116.4, 39.9).buffer(0.1, 400).wkt + ")"},
            "at most 16,000",
        ),
        ({"filter": "S_WITHIN(geometry, POLYGON((116 39, 117 39, 116 39)))"}, "Too few points"),
        (
            {"filter": "S_WITHIN(geometry, POLYGON((116 39, 117 40, 117 39, 116 40, 116 39)))"},
            "not a valid geometry: Self-intersection",
        ),
        ({"filter": "{", "filter-lang": "cql2-json"}, "not valid JSON"),
        (
            {"filter": '{"op": "=", "args": [{"property": "kind"}]}', "filter-lang": "cql2-json"},
            "= takes 2 arguments, got 1",
        ),
        ({"filter": " "}, "filter is empty"),
        ({"filter": "TRUE", "filter-lang": "ecql"}, "filter-lang must be one of cql2-text"),
        ({"filter-lang": "cql2-text"}, "describes a filter; give a filter"),
        ({"filter": "TRUE", "filter-crs": "EPSG:3857"}, "is not supported; use"),
    ],
    ids=lambda v: str(v)[:50],
)
async def test_bad_filters_are_400s_that_say_what_is_wrong(client, params, words):
    response = await client.get(ITEMS, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert words in body["detail"], body["detail"]
    assert body["field"] in ("filter", "filter-lang", "filter-crs")


async def test_the_draft_cql_text_takes_plain_date_strings_as_gdal_sends_them(client, everything):
    expected = [
        f["id"]
        for f in everything
        if day(f["properties"]["opened_on"] or "1900-01-01") >= dt.date(2024, 1, 1)
    ]
    for value in ("2024-01-01", "2024-01-01T"):  # GDAL 3.6 writes the second
        got = await ids(client, filter=f"opened_on >= '{value}'", **{"filter-lang": "cql-text"})
        assert got == expected and expected


# ---- sortby and properties ------------------------------------------------------------------


async def test_sortby_orders_with_empty_values_last_and_ids_breaking_ties(client, everything):
    def key(f: dict[str, Any]) -> tuple:
        seats, name = f["properties"]["seats"], f["properties"]["name"]
        return (seats is None, -(seats or 0), name, f["id"])

    expected = [f["id"] for f in sorted(everything, key=key)]
    assert await ids(client, sortby="-seats,+name") == expected
    by_date = await ids(client, sortby="opened_on")
    dates = [next(f for f in everything if f["id"] == i)["properties"]["opened_on"]
             for i in by_date]  # fmt: skip
    known = [d for d in dates if d is not None]
    assert known == sorted(known) and dates[len(known) :] == [None] * (len(dates) - len(known))


async def test_sortby_pages_follow_one_order(client, everything):
    url, seen = f"{ITEMS}?sortby=-opened_on,name&limit=50", []
    while url:
        body = (await client.get(url)).json()
        seen += [f["id"] for f in body["features"]]
        url = next((x["href"] for x in body["links"] if x["rel"] == "next"), None)
    assert seen == await ids(client, sortby="-opened_on,name") and len(set(seen)) == 340


@pytest.mark.parametrize(
    ("sortby", "words"),
    [("colour", "cannot sort by 'colour'; sortable here: id, kind"),
     ("amenities", "cannot sort by 'amenities'"), ("geometry", "cannot sort by 'geometry'"),
     ("name,-name", "names name twice"), ("id,kind,name,seats,status,phone", "at most 5 keys")],
)  # fmt: skip
async def test_bad_sortby_is_a_400(client, sortby, words):
    response = await client.get(ITEMS, params={"sortby": sortby})
    assert response.status_code == 400 and words in response.json()["detail"], response.text


async def test_properties_returns_only_the_named_ones(client, everything):
    body = (await client.get(ITEMS, params={"properties": "name,seats", "limit": 3})).json()
    for feature, full in zip(body["features"], everything, strict=False):
        assert feature["properties"] == {"name": full["properties"]["name"],
                                         "seats": full["properties"]["seats"]}  # fmt: skip
        assert feature["geometry"] == full["geometry"] and feature["id"] == full["id"]
    empty = (await client.get(ITEMS, params={"properties": "", "limit": 2})).json()
    assert [f["properties"] for f in empty["features"]] == [{}, {}]
    bad = await client.get(ITEMS, params={"properties": "name,internal_notes"})
    assert bad.status_code == 400 and "no property 'internal_notes'" in bad.json()["detail"]


# ---- queryables -----------------------------------------------------------------------------


@pytest.mark.parametrize("collection", ["stations", "stations-rest_point", "enterprises",
                                        "boundaries"])  # fmt: skip
async def test_queryables_are_a_json_schema_every_feature_satisfies(client, collection):
    response = await client.get(f"/ogc/collections/{collection}/queryables")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"http://test/ogc/collections/{collection}/queryables"
    assert schema["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
    features = (await client.get(f"/ogc/collections/{collection}/items?limit=1000")).json()
    validator = jsonschema.Draft202012Validator(schema)
    for feature in features["features"]:
        present = {k: v for k, v in feature["properties"].items() if v is not None}
        assert set(feature["properties"]) <= set(schema["properties"])
        validator.validate(present | {"id": feature["id"]})
    collection_doc = (await client.get(f"/ogc/collections/{collection}")).json()
    rel = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
    assert any(x["rel"] == rel and x["href"] == schema["$id"] for x in collection_doc["links"])


async def test_queryables_name_the_codes_and_the_types(client):
    schema = (await client.get("/ogc/collections/stations/queryables")).json()
    props = schema["properties"]
    assert "rest_point" in props["kind"]["enum"] and props["seats"]["type"] == "integer"
    assert props["amenities"]["items"]["enum"][0] == "drinking_water"
    assert props["opened_on"]["format"] == "date"
    assert props["last_verified_at"]["format"] == "date-time"
    assert "internal_notes" not in props and "contact_phone" not in props
    as_json = await client.get("/ogc/collections/stations/queryables",
                               headers={"Accept": "application/json"})  # fmt: skip
    assert as_json.headers["content-type"] == "application/json"  # what GDAL accepts
    html = await client.get("/ogc/collections/stations/queryables?f=html")
    assert html.headers["content-type"].startswith("text/html")
    assert "<td>opening_hours</td>" in html.text and "rest_point" in html.text


# ---- Part 2: crs, bbox-crs, filter-crs ------------------------------------------------------


async def test_crs_epsg_4326_swaps_the_axes_and_says_so(client):
    plain = await client.get(ITEMS, params={"limit": 5})
    swapped = await client.get(ITEMS, params={"limit": 5, "crs": EPSG4326})
    assert plain.headers["content-crs"] == f"<{CRS84}>"
    assert swapped.headers["content-crs"] == f"<{EPSG4326}>"
    for a, b in zip(plain.json()["features"], swapped.json()["features"], strict=True):
        lon, lat = a["geometry"]["coordinates"]
        assert b["geometry"]["coordinates"] == [lat, lon] and 39 < lat < 41 < 115 < lon
    one = plain.json()["features"][0]
    item = await client.get(f"{ITEMS}/{one['id']}", params={"crs": "[EPSG:4326]"})
    assert item.headers["content-crs"] == f"<{EPSG4326}>"
    assert item.json()["geometry"]["coordinates"] == one["geometry"]["coordinates"][::-1]


async def test_shifted_coords_carry_no_crs_label_and_refuse_a_crs(client):
    shifted = await client.get(ITEMS, params={"limit": 1, "coords": "gcj02"})
    assert shifted.status_code == 200 and "content-crs" not in shifted.headers
    both = await client.get(ITEMS, params={"coords": "gcj02", "crs": CRS84})
    assert both.status_code == 400 and "GCJ-02 and BD-09 have no CRS URI" in both.json()["detail"]
    for name in ("crs", "bbox-crs"):
        bad = await client.get(ITEMS, params={name: "EPSG:3857", "bbox": "116,39,117,40"})
        assert bad.status_code == 400 and bad.json()["field"] == name


async def test_bbox_and_filter_literals_in_epsg_4326_are_lat_lon(client):
    lon_lat = await ids(client, bbox="116.3,39.85,116.45,39.95")
    assert lon_lat and await ids(client, bbox="39.85,116.3,39.95,116.45",
                                 **{"bbox-crs": EPSG4326}) == lon_lat  # fmt: skip
    text = f"S_WITHIN(geometry, {CHAOYANG.wkt})"
    flipped = Polygon([(y, x) for x, y in CHAOYANG.exterior.coords]).wkt
    within = await ids(client, filter=text)
    assert within and await ids(client, filter=f"S_WITHIN(geometry, {flipped})",
                                **{"filter-crs": EPSG4326}) == within  # fmt: skip
    boxed = await ids(client, filter="S_INTERSECTS(geometry, BBOX(39.85, 116.3, 39.95, 116.45))",
                      **{"filter-crs": EPSG4326})  # fmt: skip
    assert boxed == lon_lat


async def test_collections_declare_both_crs_and_the_storage_one(client):
    body = (await client.get("/ogc/collections/stations")).json()
    assert body["crs"] == [CRS84, EPSG4326] and body["storageCrs"] == CRS84
