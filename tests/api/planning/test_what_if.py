"""``/coverage/what-if`` and the planner's files: the CLI's analysis, before against after."""

from __future__ import annotations

import csv
import io
import json

import pytest

from geo.coverage.whatif import changes_csv, parse_changes, read_changes
from geo.crs import wgs84_to_gcj02

pytestmark = pytest.mark.anyio
WEST = "110106017000"
SCOPE = {"boundary": ["110106000000"], "workers": False}


async def test_a_station_added_where_none_reaches_brings_residents_within_a_walk(client):
    changes = [{"action": "add", "lon": 116.235, "lat": 39.83, "name": "新站"}]
    response = await client.post("/coverage/what-if", json={"scope": SCOPE, "changes": changes})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stations_counted"]["after"] == body["stations_counted"]["before"] + 1
    rows = {row["code"]: row for row in body["comparison"]}
    assert set(rows) == {WEST, "110106001000"}
    gained = sum(-r["uncovered_residents_change"] for r in rows.values())
    assert gained > 0
    assert body["newly_within_walk"]["residents"] == pytest.approx(gained)
    before = {row["code"]: row for row in body["before"]}
    for code, row in rows.items():
        assert row["uncovered_residents_before"] == pytest.approx(
            before[code]["uncovered_residents"]
        )


async def test_closing_every_station_leaves_nobody_within_a_walk(client):
    changes = [{"action": "close", "id": i} for i in ("s1", "s2", "s3")]
    body = (
        await client.post("/coverage/what-if", json={"scope": SCOPE, "changes": changes})
    ).json()
    assert all(row["share_within_walk"] == 0 for row in body["after"])


async def test_bad_changes_are_named_one_by_one_and_nothing_runs(client):
    changes = [{"action": "add", "lon": 120.0, "lat": 30.0},
               {"action": "move", "id": "nope", "lon": 116.22, "lat": 39.85},
               {"action": "fly"}]  # fmt: skip
    response = await client.post("/coverage/what-if", json={"scope": SCOPE, "changes": changes})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "change 3: action must be one of" in detail
    only_outside = [{"action": "add", "lon": 120.0, "lat": 30.0}]
    response = await client.post(
        "/coverage/what-if", json={"scope": SCOPE, "changes": only_outside}
    )
    assert response.status_code == 400
    assert "outside every boundary analysed" in response.json()["detail"]
    unknown = [{"action": "close", "id": "nope"}]
    response = await client.post("/coverage/what-if", json={"scope": SCOPE, "changes": unknown})
    assert response.status_code == 400 and "no station with id 'nope'" in response.text


async def test_the_changes_file_reads_back_as_the_same_changes(client, tmp_path):
    changes = [{"action": "add", "lon": 116.2351234567, "lat": 39.83, "name": "新站"},
               {"action": "close", "id": "s2"}]  # fmt: skip
    response = await client.post(
        "/coverage/what-if?f=changes.csv", json={"scope": SCOPE, "changes": changes}
    )
    assert response.status_code == 200
    path = tmp_path / "what-if.csv"
    path.write_bytes(response.content)
    assert read_changes(path) == [
        change.__class__(**{**change.__dict__, "where": f"line {n}"})
        for n, change in enumerate(parse_changes(changes), start=2)
    ]
    assert changes_csv(read_changes(path)) == response.text


async def test_the_table_as_csv_has_every_boundary_and_a_moment_beyond_the_calendar_is_refused(
    client,
):
    response = await client.get("/coverage?boundary=110106000000&workers=false&f=csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["code"] for row in rows} == {WEST, "110106001000"}
    assert response.headers["content-disposition"].endswith('"coverage.csv"')
    response = await client.get("/coverage?boundary=110106000000&at=2099-05-01T10:00")
    assert response.status_code == 400
    assert "outside the holiday calendar" in response.json()["detail"]


async def test_plan_areas_lists_districts_and_subdistricts_with_their_vintage(client):
    body = (await client.get("/plan/areas")).json()
    codes = {a["code"]: a for a in body["areas"]}
    assert codes[WEST]["level"] == "subdistrict" and codes[WEST]["parent_code"] == "110106000000"
    assert [v["subdistricts"] for v in body["vintages"]] == [2]
    assert body["calendar"]["known_from"] <= body["calendar"]["holiday"]
    stations = (await client.get("/plan/stations")).json()
    assert {f["properties"]["id"] for f in stations["features"]} == {"s1", "s2", "s3"}
    s1 = next(f for f in stations["features"] if f["properties"]["id"] == "s1")
    shifted = (await client.get("/plan/stations?coords=gcj02")).json()
    t1 = next(f for f in shifted["features"] if f["properties"]["id"] == "s1")
    expected = wgs84_to_gcj02(*s1["geometry"]["coordinates"])
    assert t1["geometry"]["coordinates"] == pytest.approx(list(expected), abs=1e-7)
    assert t1["geometry"]["coordinates"] != s1["geometry"]["coordinates"]  # on GCJ-02 tiles


async def test_a_what_if_in_gcj02_is_the_same_plan_as_in_wgs84(client):
    """The page on a GCJ-02 basemap sends and gets GCJ-02; the figures do not move."""
    lon, lat = 116.2187, 39.8512
    plain = {"action": "add", "lon": lon, "lat": lat}
    shifted = dict(plain, **dict(zip(("lon", "lat"), wgs84_to_gcj02(lon, lat), strict=True)))
    a = await client.post("/coverage/what-if", json={"scope": SCOPE, "changes": [plain]})
    b = await client.post("/coverage/what-if?coords=gcj02",
                          json={"scope": SCOPE, "changes": [shifted]})  # fmt: skip
    assert a.status_code == b.status_code == 200, b.text
    assert a.json()["comparison"] == b.json()["comparison"]


async def test_the_report_files_are_the_clis_table_and_map(client):
    """XLSX holds the CSV's rows; HTML and PNG are the report map, the plan's with its station."""
    import openpyxl
    from PIL import Image

    base = "/coverage?boundary=110106000000&workers=false"
    table = list(csv.DictReader(io.StringIO((await client.get(f"{base}&f=csv")).text)))
    book = openpyxl.load_workbook(io.BytesIO((await client.get(f"{base}&f=xlsx")).content))
    rows = list(book["coverage"].iter_rows(values_only=True))
    assert [str(r[0]) for r in rows[1:]] == [r["code"] for r in table]
    assert list(rows[0]) == list(table[0].keys())
    page = await client.get(f"{base}&f=html")
    assert page.headers["content-disposition"] == 'attachment; filename="coverage.html"'

    def shows(text: str, name: str) -> bool:  # folium writes names raw or \u-escaped
        return name in text or json.dumps(name)[1:-1] in text

    assert "leaflet" in page.text.lower() and shows(page.text, table[0]["name"])
    picture = Image.open(io.BytesIO((await client.get(f"{base}&f=png")).content))
    assert picture.format == "PNG" and picture.size[0] > 400
    plan = {"scope": SCOPE, "changes": [{"action": "add", "lon": 116.2187, "lat": 39.8512,
                                         "name": "卢沟桥试点站"}]}  # fmt: skip
    planned = await client.post("/coverage/what-if?f=html", json=plan)
    assert planned.status_code == 200 and shows(planned.text, "卢沟桥试点站")
    assert not shows(page.text, "卢沟桥试点站")
