"""Residents re-spread inside each boundary by weight points or a population raster."""

from __future__ import annotations

import geopandas
import h3
import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import from_bounds
from shapely import Point, box

from geo.coverage.analysis import analyse
from geo.coverage.demand import demand_cells, reweight, weights_from_points, weights_from_raster
from geo.errors import InvalidInputError

RES = 8


def _two_squares() -> geopandas.GeoDataFrame:
    return geopandas.GeoDataFrame(
        {"code": ["110106017000", "110106001000"], "name": ["west", "east"],
         "population": [1000.0, 600.0]},
        geometry=[box(116.20, 39.80, 116.30, 39.90), box(116.30, 39.80, 116.40, 39.90)], crs=4326,
    )  # fmt: skip


def test_points_move_residents_within_their_boundary_and_keep_its_total():
    boundaries = _two_squares()
    cells = demand_cells(boundaries, RES)
    a, b = Point(116.22, 39.82), Point(116.28, 39.88)
    points = geopandas.GeoDataFrame({"weight": [3, 1, 1]}, geometry=[a, b, b], crs=4326)
    weights = weights_from_points(cells, points, RES)
    assert weights.sum() == 5
    spread, untouched = reweight(cells, weights)
    assert untouched == 1  # the east square has no points: it keeps the uniform spread
    by_cell = dict(zip(spread.h3, spread.residents, strict=True))
    cell_a = h3.str_to_int(h3.latlng_to_cell(a.y, a.x, RES))
    cell_b = h3.str_to_int(h3.latlng_to_cell(b.y, b.x, RES))
    assert by_cell[cell_a] == pytest.approx(1000 * 3 / 5)
    assert by_cell[cell_b] == pytest.approx(1000 * 2 / 5)
    totals = spread.groupby("boundary").residents.sum()
    assert totals.tolist() == pytest.approx([1000, 600])
    east = spread[spread.boundary == 1].residents
    assert east.nunique() == 1  # still uniform

    result = analyse(boundaries, geopandas.GeoDataFrame(geometry=[a], crs=4326), cells=spread,
                     demand="by weight points", with_gaps=False)  # fmt: skip
    assert result.method["demand"] == "by weight points"
    west = result.per_boundary.set_index("name").loc["west"]
    assert west.share_within_walk == pytest.approx(0.6)  # only the residents at a are in reach


def test_a_projected_raster_is_sampled_at_cell_centres(tmp_path):
    """A 2×1 raster in UTM 50N over the west square: its west half 0, east half 10."""
    boundaries = _two_squares()
    cells = demand_cells(boundaries, RES)
    to_utm = Transformer.from_crs(4326, 32650, always_xy=True)
    west, south = to_utm.transform(116.20, 39.80)
    east, north = to_utm.transform(116.30, 39.90)
    path = tmp_path / "population.tif"
    grid = from_bounds(west, south, east, north, 2, 1)
    with rasterio.open(path, "w", driver="GTiff", width=2, height=1, count=1, dtype="float32",
                       crs="EPSG:32650", nodata=-1, transform=grid) as raster:  # fmt: skip
        raster.write(np.array([[0.0, 10.0]], dtype=np.float32), 1)
    weights = weights_from_raster(cells, path)
    spread, untouched = reweight(cells, weights)
    assert untouched == 1  # the east square lies outside the raster
    centre_x, _ = to_utm.transform(cells.lon.to_numpy(), cells.lat.to_numpy())
    in_west_square = (cells.boundary == 0).to_numpy()
    west_half = in_west_square & (centre_x < (west + east) / 2)
    assert spread.residents[west_half].sum() == 0
    assert spread.residents[in_west_square].sum() == pytest.approx(1000)


def test_bad_weight_layers_are_refused(tmp_path):
    cells = demand_cells(_two_squares(), RES)
    negative = geopandas.GeoDataFrame({"weight": [1, -2]}, crs=4326,
                                      geometry=[Point(116.25, 39.85)] * 2)  # fmt: skip
    with pytest.raises(InvalidInputError, match="weight point 2: weight must be a number ≥ 0"):
        weights_from_points(cells, negative, RES)
    with pytest.raises(InvalidInputError, match="no 'households' column"):
        weights_from_points(cells, negative, RES, "households")
    with pytest.raises(InvalidInputError, match="WGS-84"):
        weights_from_points(cells, negative.set_crs(32650, allow_override=True), RES)
    not_raster = tmp_path / "x.tif"
    not_raster.write_text("hello", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not a raster"):
        weights_from_raster(cells, not_raster)
    bare = tmp_path / "nocrs.tif"
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning):
        with rasterio.open(bare, "w", driver="GTiff", width=1, height=1, count=1,
                           dtype="float32") as raster:  # fmt: skip
            raster.write(np.ones((1, 1), dtype=np.float32), 1)
        with pytest.raises(InvalidInputError, match="declares no CRS"):
            weights_from_raster(cells, bare)
    with pytest.raises(InvalidInputError, match="one weight per cell"):
        reweight(cells, np.ones(3))


def test_the_grid_reports_its_progress_boundary_by_boundary():
    boundaries = _two_squares()
    seen: list[tuple[int, int]] = []
    with_progress = demand_cells(boundaries, RES, on_progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]  # after each boundary, ending at total
    pd.testing.assert_frame_equal(with_progress, demand_cells(boundaries, RES))  # same grid
