"""``nuanxin coverage --scope province`` as a planner runs it: a real process, a real cluster."""

from __future__ import annotations

import json

import geopandas
import pandas as pd
import pytest
from sqlalchemy import text

from geo.store.db import make_engine
from tests.cli.test_main import run
from tests.geo.national.conftest import CENSUS, needs_census

pytestmark = needs_census


def test_a_province_run_on_dask_writes_files_and_stores_the_figures(scratch_database_url,
                                                                    tmp_path):  # fmt: skip
    url = scratch_database_url
    run("db", "upgrade", url=url)
    out = tmp_path / "beijing"
    result = run("coverage", "--scope", "province", "--province", "11", "--census", str(CENSUS),
                 "--synthetic-stations", "300", "--resolution", "7", "--dask-workers", "2",
                 "--worker-memory", "1GiB", "--out", str(out), "--cells", "--store",
                 "--top", "20", url=url)  # fmt: skip
    assert "Dask 1 partitions on a LocalCluster of 2 workers" in result.stdout
    assert "300 illustrative" in result.stdout
    assert "丰台区" in result.stdout and "stored as national run" in result.stdout
    names = {p.name for p in out.iterdir()}
    assert {
        "counties.parquet",
        "provinces.parquet",
        "counties.csv",
        "provinces.csv",
        "unmatched.csv",
        "partitions.csv",
        "coverage.png",
        "method.json",
        "cells",
    } <= names
    counties = geopandas.read_parquet(out / "counties.parquet")
    assert len(counties) == 16 and counties.crs.to_epsg() == 4326
    assert counties["rank"].tolist() == sorted(counties["rank"])
    cells = pd.read_parquet(next((out / "cells").iterdir()))
    assert cells["residents"].sum() == pytest.approx(counties["residents"].sum(), rel=1e-12)
    assert counties["residents"].sum() == pytest.approx(21_893_095)  # Beijing's census total
    method = json.loads((out / "method.json").read_text(encoding="utf-8"))
    assert method["parameters"]["horizon_m"] == 20_000
    assert "16 of 16 county polygons" in method["method"]["demand"]
    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT level, count(*) FROM national_figures "
                                   "GROUP BY level ORDER BY level")).all()  # fmt: skip
    engine.dispose()
    assert stored == [("county", 16), ("province", 1)]


def _each_refused(command: str, cases: list[tuple[list[str], str]]) -> None:
    """Every case exits 1 with its message in one line of stderr, never a traceback."""
    for args, message in cases:
        answer = run(command, *args, check=False)
        assert answer.returncode == 1, (args, answer.stderr)
        assert message in answer.stderr, (args, answer.stderr)
        assert "Traceback" not in answer.stderr


def test_national_mistakes_are_one_line_and_exit_1(tmp_path):
    cases = [
        (["--scope", "province", "--census", str(CENSUS)], "--scope province needs --province"),
        (["--scope", "national"], "a national run needs --census"),
        (["--scope", "province", "--province", "99", "--census", str(CENSUS),
          "--synthetic-stations", "5"], "no county polygon in province 99"),
        (["--scope", "national", "--census", str(CENSUS), "--horizon", "500",
          "--synthetic-stations", "5"], "horizon_m must be above"),
        (["--scope", "national", "--census", str(CENSUS), "--demand", "jobs"],
         "--demand is residents or urban"),
    ]  # fmt: skip
    _each_refused("coverage", cases)


def test_siting_a_province_proves_its_gap_writes_and_stores_the_sites(scratch_database_url,
                                                                      tmp_path):  # fmt: skip
    url = scratch_database_url
    run("db", "upgrade", url=url)
    out = tmp_path / "sites.geojson"
    result = run("site", "--scope", "province", "--province", "11", "--census", str(CENSUS),
                 "--synthetic-stations", "300", "--resolution", "8", "--engine", "single",
                 "--p", "12", "--out", str(out), "--store", url=url)  # fmt: skip
    assert "12 sites bring" in result.stdout and "(proven)" in result.stdout
    assert "stored as national siting" in result.stdout
    assert "300 illustrative" in result.stdout and "Lagrangian" in result.stdout
    sites = geopandas.read_file(out)
    assert len(sites) == 12 and sites.crs.to_epsg() == 4326
    assert sites["rank"].tolist() == list(range(1, 13))
    assert set(sites["province"]) == {"11"}
    method = json.loads(out.with_suffix(".method.json").read_text(encoding="utf-8"))
    assert method["bound"] >= method["added"] > 0
    assert method["gap"] == pytest.approx((method["bound"] - method["added"]) / method["added"])
    assert sites["gain"].sum() == pytest.approx(method["added"])
    engine = make_engine(url)
    with engine.connect() as conn:
        scope, kept = conn.execute(text("SELECT scope, method FROM national_sitings")).one()
        ranked = conn.execute(text("SELECT h3, gain FROM national_sites ORDER BY rank")).all()
    engine.dispose()
    assert scope == "province 11" and kept["gap"] == pytest.approx(method["gap"])
    assert [h3 for h3, _ in ranked] == sites["h3"].tolist()
    assert [gain for _, gain in ranked] == pytest.approx(sites["gain"].tolist())


def test_national_siting_mistakes_are_one_line_and_exit_1(tmp_path):
    cases = [
        (["--scope", "national", "--census", str(CENSUS), "--model", "lscp"], "mclp only"),
        (["--scope", "national"], "a national run needs --census"),
        (["--scope", "province", "--province", "11", "--census", str(CENSUS),
          "--candidate-resolution", "3"], "candidate resolution must be 6..9"),
        (["--scope", "national", "--census", str(CENSUS), "--out", str(tmp_path / "x.gpkg")],
         "--out takes .csv, .geojson or .parquet"),
        (["--store"], "--store keeps a national or provincial siting"),
    ]  # fmt: skip
    _each_refused("site", cases)
