"""``nuanxin import population``: figures onto boundaries, spread from districts, every bad row
named with its line; and coverage without any population, shares by area instead of NaN."""

from __future__ import annotations

import csv

import geopandas
import numpy as np
import pytest
import shapely
from sqlalchemy import text

from geo.coverage.analysis import analyse
from geo.errors import InvalidInputError
from geo.importers._validate import SourceRow
from geo.importers.files import ImportKind, import_file
from geo.importers.population import (
    import_population,
    plan_population,
    shares_by_weights,
    spread_whole,
)
from geo.store.frames import load_boundaries
from tests.conftest import FIXTURES, SHARED_BEIJING

WEST, EAST, DISTRICT = "110106017000", "110106001000", "110106000000"
CENSUS = SHARED_BEIJING / "district_population_census.csv"


def _figures(session, codes=(WEST, EAST)):
    rows = session.execute(text("SELECT code, population, population_year, population_source "
                                "FROM boundaries WHERE code = ANY(:c) ORDER BY code"),
                           {"c": list(codes)}).all()  # fmt: skip
    return {r.code: (r.population, r.population_year, r.population_source) for r in rows}


def _sheet(tmp_path, lines, name="pop.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_2020_census_spread_over_the_real_343_subdistricts(session):
    defaults = {"level": "subdistrict", "vintage": "2023"}
    import_file(session, SHARED_BEIJING / "subdistricts.geojson", ImportKind.BOUNDARIES,
                defaults=defaults, ignore_unknown=True)  # fmt: skip
    with pytest.raises(InvalidInputError, match=r"several years \(2010, 2020\).*--year"):
        import_population(session, CENSUS, vintage="2023")
    report = import_population(session, CENSUS, vintage="2023", year=2020)
    assert (report.written, report.spread, report.direct, len(report.rejected)) == (343, 16, 0, 0)
    assert report.skipped_other_years == 18  # the 2010 rows, under older codes
    assert "pop_male" in report.ignored_columns
    with CENSUS.open(encoding="utf-8") as handle:
        census = {f"{r['district_code']}000000": int(r["pop_total"])
                  for r in csv.DictReader(handle) if r["census_year"] == "2020"}  # fmt: skip
    sums = dict(session.execute(text(
        "SELECT parent_code, sum(population) FROM boundaries WHERE vintage = '2023' "
        "GROUP BY parent_code")).all())  # fmt: skip
    assert sums == census  # every resident placed, none invented: whole residents, exact sums
    lugouqiao = session.execute(text(
        "SELECT population, population_year, population_source FROM boundaries "
        "WHERE code = '110106017000' AND vintage = '2023'")).one()  # fmt: skip
    assert lugouqiao.population > 0 and lugouqiao.population_year == 2020
    assert "丰台区 total spread over 26 subdistricts by area" in lugouqiao.population_source
    fengtai = load_boundaries(session.connection(), vintage="2023", codes=[DISTRICT])
    stations = geopandas.GeoDataFrame(geometry=[shapely.Point(116.2136, 39.8498)], crs=4326)
    result = analyse(fengtai, stations, with_gaps=False)
    assert result.per_boundary["share_within_walk"].notna().all()
    assert (result.per_boundary["share_basis"] == "residents").all()
    assert result.per_boundary["residents"].sum() == pytest.approx(census[DISTRICT])


def test_bad_rows_are_refused_one_by_one_with_their_lines(session, tmp_path):
    before = _figures(session)
    path = _sheet(tmp_path, [
        "区划代码,名称,常住人口,年份",
        f"{WEST},,151000,2020",     # line 2: fine
        "110106999000,,1000,2020",  # line 3: no such boundary
        f"{EAST},,-5,2020",         # line 4: negative
        f"{WEST},,152000,2020",     # line 5: duplicate of line 2
        ",东街道,49000,2020",       # line 6: by name: fine
        "12345,,10,2020",           # line 7: not a code
        f"{EAST},,50000,2010",      # line 8: another year: skipped, not refused
    ])  # fmt: skip
    with pytest.raises(InvalidInputError, match=r"line 3: code: .*nothing was written"):
        import_population(session, path, vintage="test", year=2020, strict=True)
    assert _figures(session) == before
    report = import_population(session, path, vintage="test", year=2020, source="街道统计")
    found = [(r.location, r.column) for r in report.rejected]
    assert found == [("line 3", "code"), ("line 4", "population"), ("line 5", "code"),
                     ("line 7", "code")]  # fmt: skip
    assert "already given at line 2" in report.rejected[2].reason
    assert report.skipped_other_years == 1 and report.written == 2
    assert _figures(session) == {WEST: (151000, 2020, "街道统计"), EAST: (49000, 2020, "街道统计")}


def test_a_district_total_and_its_own_subdistricts_are_not_both_taken(session, tmp_path):
    path = _sheet(tmp_path, ["code,population,year", f"{DISTRICT},300000,2021",
                             f"{WEST},100000,2021"])  # fmt: skip
    report = import_population(session, path, vintage="test")  # the year from the file
    assert [(r.location, r.column) for r in report.rejected] == [("line 2", "code")]
    assert "give one or the other" in report.rejected[0].reason
    assert _figures(session)[WEST][:2] == (100000, 2021)


def test_a_district_total_spread_by_a_weight_layer(session, tmp_path):
    path = _sheet(tmp_path, ["code,population,year", "110106,200001,2020"])  # a 6-digit code
    boundaries = load_boundaries(session.connection(), vintage="test", codes=[DISTRICT])
    west = boundaries.set_index("code").geometry[WEST].representative_point()
    east = boundaries.set_index("code").geometry[EAST].representative_point()
    homes = geopandas.GeoDataFrame({"weight": [3.0, 1.0]}, geometry=[west, east], crs=4326)
    report = import_population(session, path, vintage="test", weights=homes)
    assert report.methods == ("测试区 total 200,001 spread over 2 subdistricts by weight of the "
                              "weight layer",)  # fmt: skip
    figures = _figures(session)
    assert figures[WEST][0] + figures[EAST][0] == 200001
    assert (figures[WEST][0], figures[EAST][0]) == (150001, 50000)


def test_spreading_keeps_whole_residents_and_the_exact_total():
    assert sum(spread_whole(1001, np.array([1 / 3, 1 / 3, 1 / 3]))) == 1001
    assert spread_whole(10, np.array([0.55, 0.45])) == [6, 4]
    assert spread_whole(0, np.array([0.5, 0.5])) == [0, 0]
    squares = geopandas.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
                                     crs=4326)  # fmt: skip
    nowhere = geopandas.GeoDataFrame({"w": [5.0]}, geometry=[shapely.Point(9, 9)], crs=4326)
    assert shares_by_weights(squares, nowhere, "w") is None  # the caller falls back to area


def test_files_without_a_population_or_key_column_are_refused(session, tmp_path):
    with pytest.raises(InvalidInputError, match="no population column"):
        import_population(session, _sheet(tmp_path, ["code,people", f"{WEST},1"]), year=2020)
    with pytest.raises(InvalidInputError, match="no code or name column"):
        import_population(session, _sheet(tmp_path, ["population", "1"]), year=2020)
    with pytest.raises(InvalidInputError, match="no year column"):
        import_population(session, _sheet(tmp_path, ["code,population", f"{WEST},1"]))


def test_the_plan_reads_names_of_parents_too():
    boundaries = geopandas.read_file(FIXTURES / "boundaries_tiny.geojson")
    subdistricts = boundaries[boundaries.level == "subdistrict"].reset_index(drop=True)
    rows = [SourceRow("line 2", {"name": "测试区", "population": "1,000", "year": 2020})]
    plan = plan_population(rows, subdistricts, {DISTRICT: "测试区"}, file="f.csv",
                           level="subdistrict", year=None, source="s")  # fmt: skip
    assert plan.rejected == [] and plan.spread == 1
    assert sum(a.population for a in plan.assignments) == 1000


def test_without_population_shares_are_by_area_and_the_ranking_has_no_nan():
    boundaries = geopandas.read_file(FIXTURES / "boundaries_tiny.geojson")
    subdistricts = boundaries[boundaries.level == "subdistrict"].reset_index(drop=True)
    stations = geopandas.read_file(FIXTURES / "stations_tiny.geojson")
    known = analyse(subdistricts, stations, with_gaps=False).per_boundary.set_index("code")
    unknown = subdistricts.assign(population=np.nan)
    result = analyse(unknown, stations, with_gaps=False)
    table = result.per_boundary.set_index("code")
    assert (table["share_basis"] == "area").all()
    assert table["residents"].isna().all() and table["uncovered_residents"].isna().all()
    # Uniform residents over H3 cells are the same weights as area: the same shares, honestly
    # labelled.
    for column in ("share_within_walk", "share_within_radius", "share_two_plus"):
        assert table[column].tolist() == pytest.approx(known.loc[table.index, column].tolist())
    assert table["score"].notna().all() and table["rank"].min() == 1
    assert table["part_load"].isna().all()  # left out, not pretended
    assert "have no population: their shares are of their area" in result.method["shares"]
    mixed = subdistricts.assign(population=[150000, np.nan])
    basis = analyse(mixed, stations, with_gaps=False).per_boundary.set_index("code")["share_basis"]
    assert basis.to_dict() == {WEST: "residents", EAST: "area"}
