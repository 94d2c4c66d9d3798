"""Real-data check: the 343 Beijing subdistrict polygons in ../shared import as a user would.

Read from ../shared/data/beijing (third-party, MIT; never copied into this repository).
"""

from __future__ import annotations

import csv
import dataclasses
import json

import geopandas
import pytest
from sqlalchemy import text

from geo.config import PROJECT_ROOT
from geo.coverage.analysis import analyse
from geo.coverage.demand import spread_population
from geo.coverage.query import population_note
from geo.coverage.report import write_report
from geo.coverage.supply import select_supply
from geo.errors import InvalidInputError
from geo.importers.files import ImportKind, import_file
from geo.store.frames import load_boundaries
from tests.conftest import SHARED_BEIJING

SUBDISTRICTS = SHARED_BEIJING / "subdistricts.geojson"
pytestmark = pytest.mark.skipif(not SUBDISTRICTS.exists(), reason="../shared data not present")
DEFAULTS = {"level": "subdistrict", "vintage": "bj-subdistricts-2023"}


def test_extra_columns_are_refused_until_the_user_says_to_drop_them(session):
    with pytest.raises(InvalidInputError, match="labelPoint"):
        import_file(session, SUBDISTRICTS, ImportKind.BOUNDARIES, defaults=DEFAULTS)


def test_all_343_subdistricts_import_with_codes_parents_and_areas(session):
    report = import_file(session, SUBDISTRICTS, ImportKind.BOUNDARIES, defaults=DEFAULTS,
                         ignore_unknown=True, strict=True)  # fmt: skip
    assert (report.inserted, len(report.rejected)) == (343, 0)
    features = json.loads(SUBDISTRICTS.read_text(encoding="utf-8"))["features"]
    expected = {str(f["properties"]["code"]): f["properties"] for f in features}
    rows = session.execute(text(
        "SELECT code, parent_code, name, area_km2 FROM boundaries WHERE vintage = :v"
    ), {"v": DEFAULTS["vintage"]}).all()  # fmt: skip
    assert len(rows) == 343
    for code, parent_code, name, area in rows:
        source = expected[code]
        assert parent_code == str(source["parentCode"])
        assert name == source["Name"]
        assert area == pytest.approx(source["area_km2_geodesic"], rel=0.01), code
    lugouqiao = next(area for code, _, _, area in rows if code == "110106017000")
    # The post-2021 卢沟桥街道 (11.84 km²), not the 27.59 km² of the older, larger extent.
    assert lugouqiao == pytest.approx(11.84, rel=0.01)

    again = import_file(session, SUBDISTRICTS, ImportKind.BOUNDARIES, defaults=DEFAULTS,
                        ignore_unknown=True)  # fmt: skip
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 343)


def _census_2020() -> dict[str, float]:
    with (SHARED_BEIJING / "district_population_census.csv").open(encoding="utf-8") as handle:
        return {f"{row['district_code']}000000": float(row["pop_total"])
                for row in csv.DictReader(handle) if row["census_year"] == "2020"}  # fmt: skip


def test_coverage_of_all_343_subdistricts_runs_end_to_end_and_writes_a_report(session, tmp_path):
    """Real polygons from the database, district census totals spread by area, bundled stations."""
    import_file(session, SUBDISTRICTS, ImportKind.BOUNDARIES, defaults=DEFAULTS,
                ignore_unknown=True, strict=True)  # fmt: skip
    with pytest.raises(InvalidInputError, match="several vintages"):  # + the test fixtures'
        load_boundaries(session.connection())
    boundaries = load_boundaries(session.connection(), vintage=DEFAULTS["vintage"])
    assert len(boundaries) == 343
    fengtai = load_boundaries(session.connection(), vintage=DEFAULTS["vintage"],
                              codes=["110106000000"])  # fmt: skip
    assert len(fengtai) == 26 and (fengtai.parent_code == "110106000000").all()
    boundaries = spread_population(boundaries, _census_2020(), source="2020 census district totals",
                                   year=2020)  # fmt: skip
    stations = geopandas.read_file(PROJECT_ROOT / "data" / "stations" / "stations.geojson")
    supply = select_supply(stations)
    result = analyse(boundaries, supply.stations, supply=supply.description)
    table = result.per_boundary.set_index("code")

    assert len(table) == 343
    assert table.residents.sum() == pytest.approx(21_893_095, rel=1e-9)  # the census total
    # The bundled stations lie in Dongcheng and Fengtai only: Yanqing (110119) has none in reach,
    # while Dongcheng's subdistricts are mostly covered.
    yanqing = table[table.index.str.startswith("110119")]
    dongcheng = table[table.index.str.startswith("110101")]
    assert (yanqing.share_within_walk == 0).all() and (yanqing.stations == 0).all()
    assert dongcheng.share_within_walk.median() > 0.5
    assert table.loc["110106017000", "stations"] >= 1  # 卢沟桥 (post-2021 extent) has stations

    note = population_note(boundaries)
    assert "2020 census district totals, spread over subdivisions uniformly by area" in note
    stated = dataclasses.replace(result, method={**result.method, "population": note})
    written = write_report(stated, boundaries, tmp_path / "report", stations=supply.stations)
    assert {path.name for path in written} >= {"coverage.csv", "coverage.png", "gaps.geojson"}
    method = json.loads((tmp_path / "report" / "method.json").read_text(encoding="utf-8"))
    assert "uniformly by area" in method["method"]["population"]
    assert len(geopandas.read_file(tmp_path / "report" / "coverage.geojson")) == 343
