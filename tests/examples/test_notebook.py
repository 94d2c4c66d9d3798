"""``examples/coverage.ipynb`` runs top to bottom in a real kernel, and says what the analysis
says: its printed figures are compared with the same analysis run here."""

from __future__ import annotations

import csv
import json

import geopandas
import pytest

from geo.config import PROJECT_ROOT
from geo.coverage.analysis import CoverageParams, analyse
from geo.coverage.demand import spread_population
from tests.conftest import SHARED_BEIJING

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOK = PROJECT_ROOT / "examples" / "coverage.ipynb"
pytestmark = pytest.mark.skipif(not SHARED_BEIJING.exists(), reason="../shared data not present")


def _expected() -> dict:
    polygons = geopandas.read_file(SHARED_BEIJING / "subdistricts.geojson")
    fengtai = polygons[polygons["parentCode"].astype(str) == "110106000000"]
    frame = geopandas.GeoDataFrame(
        {"code": fengtai["code"].astype(str), "name": fengtai["Name"],
         "parent_code": fengtai["parentCode"].astype(str)},
        geometry=fengtai.geometry, crs=4326,
    )  # fmt: skip
    with (SHARED_BEIJING / "district_population_census.csv").open(encoding="utf-8") as handle:
        totals = {f"{r['district_code']}000000": float(r["pop_total"])
                  for r in csv.DictReader(handle) if r["census_year"] == "2020"}  # fmt: skip
    stations = geopandas.read_file(PROJECT_ROOT / "data" / "stations" / "stations.geojson")
    result = analyse(spread_population(frame, totals), stations[stations["status"] == "open"],
                     CoverageParams())  # fmt: skip
    return result.per_boundary.sort_values("rank")


def test_the_notebook_runs_and_prints_the_analysis_figures():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    where = {"metadata": {"path": str(NOTEBOOK.parent)}}
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3", resources=where)
    client.execute()  # raises CellExecutionError on any failing cell
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the map was drawn"
    printed = json.loads(outputs[-1]["text"])
    expected = _expected()
    assert printed["subdistricts"] == len(expected) == 26
    assert printed["ranking"] == expected["code"].tolist()
    for row in expected.itertuples():
        assert printed["share_within_walk"][row.code] == pytest.approx(row.share_within_walk,
                                                                       abs=1e-9)  # fmt: skip
    assert printed["residents"] == pytest.approx(expected["residents"].sum())
    assert "110106017000" in printed["ranking"][:5]  # 卢沟桥 among Fengtai's most underserved
