"""``/siting/national`` and ``/coverage/national/runs``: runs stored as ``--store`` stores them."""

from __future__ import annotations

import csv
import io

import pytest

from tests.geo.national.conftest import needs_census
from tests.national_runs import SCOPE, bth_runs, stored

pytestmark = [pytest.mark.anyio, needs_census]


@pytest.fixture
def ids(engine):
    with stored(engine, bth_runs()) as found:
        yield found


async def test_no_stored_siting_is_a_404_problem_saying_how_to_make_one(client):
    answer = await client.get("/siting/national", params={"siting": 999_999})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "no national siting run 999999" in answer.json()["detail"]


async def test_sites_come_in_rank_order_with_the_proven_gap(client, ids):
    _, siting_id = ids
    siting = bth_runs().siting
    body = (await client.get("/siting/national")).json()  # the latest
    meta = body["nuanxin"]
    assert meta["siting"] == siting_id and meta["scope"] == SCOPE
    assert meta["params"]["p"] == 60 and meta["params"]["coverage"]["h3_resolution"] == 8
    assert meta["method"]["added"] == pytest.approx(siting.added)
    assert meta["method"]["bound"] == pytest.approx(siting.bound)
    assert meta["method"]["gap"] == pytest.approx(siting.gap, abs=1e-15)
    assert "candidates" in meta["method"]
    features = body["features"]
    assert [f["properties"]["rank"] for f in features] == list(siting.sites["rank"])
    first, expected = features[0], siting.sites.iloc[0]
    assert first["properties"]["h3"] == expected["h3"]
    assert first["geometry"]["coordinates"] == pytest.approx([expected["lon"], expected["lat"]])
    assert sum(f["properties"]["gain"] for f in features) == pytest.approx(siting.added)


async def test_one_provinces_sites_as_csv_and_in_gcj02(client, ids):
    _, siting_id = ids
    sites = bth_runs().siting.sites
    tianjin = sites[sites["province"] == "12"]
    query = {"siting": siting_id, "province": "12", "f": "csv"}
    table = await client.get("/siting/national", params=query)
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [int(r["rank"]) for r in rows] == list(tianjin["rank"])
    assert {r["province"] for r in rows} == {"12"}
    wgs = (await client.get("/siting/national", params={"province": "12"})).json()
    gcj = await client.get("/siting/national", params={"province": "12", "coords": "gcj02"})
    assert gcj.json()["nuanxin"]["coords"] == "gcj02"
    a = wgs["features"][0]["geometry"]["coordinates"]
    b = gcj.json()["features"][0]["geometry"]["coordinates"]
    assert 0.003 < b[0] - a[0] < 0.008 and 0.0005 < b[1] - a[1] < 0.003  # GCJ-02's offset here
    bad = await client.get("/siting/national", params={"province": "1"})
    assert bad.status_code == 422


async def test_runs_list_both_kinds_newest_first_with_their_counts(client, ids):
    run_id, siting_id = ids
    listing = (await client.get("/coverage/national/runs")).json()
    coverage = next(r for r in listing["coverage"] if r["id"] == run_id)
    assert coverage["scope"] == SCOPE and coverage["provinces"] == 3
    assert coverage["counties"] == len(bth_runs().coverage.counties)
    siting = next(r for r in listing["siting"] if r["id"] == siting_id)
    assert siting["sites"] == 60 and siting["method"]["gap"] == pytest.approx(bth_runs().siting.gap)
    assert [r["id"] for r in listing["coverage"]] == sorted(
        (r["id"] for r in listing["coverage"]), reverse=True)  # fmt: skip


async def test_counties_in_gcj02_for_a_gcj02_basemap(client, ids):
    run_id, _ = ids
    params = {"run": run_id, "province": "11"}
    wgs = (await client.get("/coverage/national", params=params)).json()
    gcj = (await client.get("/coverage/national", params=params | {"coords": "gcj02"})).json()
    assert [f["properties"] for f in wgs["features"]] == [f["properties"] for f in gcj["features"]]
    assert (wgs["nuanxin"]["coords"], gcj["nuanxin"]["coords"]) == ("wgs84", "gcj02")
    a = wgs["features"][0]["geometry"]["coordinates"][0][0][0]
    b = gcj["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 0.003 < b[0] - a[0] < 0.008
