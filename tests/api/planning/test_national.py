"""``/coverage/national``: a run stored by the CLI's ``--store``, served per county or province."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

from geo.national.counties import in_scope, national_demand, read_census, read_county_polygons
from geo.national.engine import Stations, run_single
from geo.national.kernel import NationalParams
from geo.national.store import store_run
from geo.national.synthetic import synthetic_stations
from tests.geo.national.conftest import CENSUS, needs_census

pytestmark = [pytest.mark.anyio, needs_census]


@pytest.fixture(scope="module")
def beijing_run():
    census = read_census(CENSUS)
    demand = in_scope(national_demand(read_county_polygons(), census), ["11"])
    urban = demand.counties["urban_population"]
    points = synthetic_stations(demand.counties, urban, 300)
    params = NationalParams(h3_resolution=6)
    names = {"11": "北京市"}
    return demand, params, run_single(demand, Stations.locate(points, demand.counties), params,
                                      province_names=names)  # fmt: skip


@pytest.fixture
def stored(engine, beijing_run):
    demand, params, result = beijing_run
    with engine.begin() as conn:
        run_id = store_run(conn, result, demand, params, scope="province 11")
    yield run_id, result
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM national_runs WHERE id = :id"), {"id": run_id})


async def test_no_stored_run_is_a_404_problem_saying_how_to_make_one(client):
    answer = await client.get("/coverage/national", params={"run": 999_999})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "no national coverage run 999999" in answer.json()["detail"]


async def test_counties_come_ranked_with_every_figure_and_an_outline(client, stored):
    run_id, result = stored
    answer = await client.get("/coverage/national")
    assert answer.status_code == 200
    body = answer.json()
    assert body["nuanxin"]["run"] == run_id and body["nuanxin"]["scope"] == "province 11"
    assert body["nuanxin"]["params"]["h3_resolution"] == 6
    assert "great-circle" in body["nuanxin"]["method"]["reach"]
    features = body["features"]
    assert len(features) == 16
    assert [f["properties"]["rank"] for f in features] == sorted(result.counties["rank"])
    expected = result.counties.set_index("code")
    for feature in features:
        props = feature["properties"]
        assert props["share_within_walk"] == pytest.approx(
            expected.loc[props["code"], "share_within_walk"], abs=1e-6)  # fmt: skip
        assert feature["geometry"]["type"] == "MultiPolygon"
    assert {f["properties"]["code"]: f["properties"]["name"] for f in features}[
        "110106"
    ] == "丰台区"


async def test_provinces_and_csv(client, stored):
    _, result = stored
    province = (await client.get("/coverage/national", params={"level": "province"})).json()
    (only,) = province["features"]
    assert only["properties"]["code"] == "11" and only["properties"]["name"] == "北京市"
    assert only["properties"]["residents"] == pytest.approx(result.provinces["residents"].iloc[0])
    table = await client.get("/coverage/national", params={"f": "csv", "province": "11"})
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert len(rows) == 16 and rows[0]["rank"] == "1"
    none = await client.get("/coverage/national", params={"province": "12"})
    assert none.json()["features"] == []
    bad = await client.get("/coverage/national", params={"province": "1"})
    assert bad.status_code == 422
