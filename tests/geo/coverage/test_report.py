"""Coverage report files: what a planner opens (CSV, GeoJSON, PNG, method, what-if)."""

from __future__ import annotations

import csv
import json

import geopandas
import pandas as pd
from matplotlib import image

from geo.config import PROJECT_ROOT
from geo.coverage.analysis import analyse
from geo.coverage.report import write_report
from geo.coverage.whatif import compare

DATA = PROJECT_ROOT / "data"
LUGOUQIAO = "110106017000"


def test_report_files_hold_every_boundary_without_infinities(tmp_path):
    boundaries = geopandas.read_file(DATA / "boundaries" / "subdistricts.geojson")
    boundaries = boundaries[boundaries.parent_code == "110106000000"]
    # Drop the stations of one subdistrict so its "residents per station" is undefined.
    stations = geopandas.read_file(DATA / "stations" / "stations.geojson")
    stations = stations[(stations.status == "open")
                        & ~stations.external_id.str.contains("110106014000")]  # fmt: skip
    result = analyse(boundaries, stations)
    what_if = compare(result.per_boundary, result.per_boundary)
    written = write_report(result, boundaries, tmp_path / "out", stations=stations,
                           what_if=what_if)  # fmt: skip
    names = sorted(path.name for path in written)
    assert names == ["coverage.csv", "coverage.geojson", "coverage.png", "gaps.geojson",
                     "method.json", "pockets.geojson", "what-if.csv"]  # fmt: skip

    with (tmp_path / "out" / "coverage.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(boundaries)
    assert [int(r["rank"]) for r in rows] == sorted(int(r["rank"]) for r in rows)
    assert not any("inf" in value for row in rows for value in row.values())
    wanping = next(r for r in rows if r["code"] == "110106014000")
    assert wanping["stations"] == "0" and wanping["residents_per_station"] == ""

    shapes = geopandas.read_file(tmp_path / "out" / "coverage.geojson")
    assert set(shapes.code) == set(boundaries.code)
    assert shapes.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    gaps = geopandas.read_file(tmp_path / "out" / "gaps.geojson")
    pockets = geopandas.read_file(tmp_path / "out" / "pockets.geojson")
    assert LUGOUQIAO in set(gaps.code) and len(pockets) == len(gaps)
    assert (pockets.to_crs(32650).area <= gaps.to_crs(32650).area * 1.001).all()

    picture = image.imread(tmp_path / "out" / "coverage.png")
    assert picture.shape[0] > 400 and picture.shape[1] > 400
    assert len({tuple(pixel) for pixel in picture[::20, ::20].reshape(-1, picture.shape[2])}) > 20

    method = json.loads((tmp_path / "out" / "method.json").read_text(encoding="utf-8"))
    assert method["parameters"]["walk_min"] == 15
    assert "straight line" in method["method"]["reach"]
    assert len(pd.read_csv(tmp_path / "out" / "what-if.csv")) == len(boundaries)
