"""Where residents are inside a boundary: uniform by area, or weighted by a user's layer.

A boundary's population total is kept; only its spread over the boundary's H3 cells changes.
Weights come from points (e.g. residential buildings with households) or a population raster
(e.g. WorldPop, read with rasterio and sampled at each cell centre). A boundary the layer does
not touch keeps the uniform spread, and the method says how many did.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas
import h3.api.numpy_int as h3_np
import numpy as np
import pandas as pd
import rasterio
import shapely
from numpy.typing import NDArray
from pyproj import Geod, Transformer

from geo.errors import InvalidInputError

Floats = NDArray[np.float64]


def weights_from_points(cells: pd.DataFrame, points: geopandas.GeoDataFrame, resolution: int,
                        column: str = "weight") -> Floats:  # fmt: skip
    """Sum of ``column`` of the points falling in each cell (0 where none)."""
    if points.crs is not None and points.crs.to_epsg() != 4326:
        raise InvalidInputError("weight points must be in WGS-84 (EPSG:4326)", field="weights")
    if column not in points:
        raise InvalidInputError(f"weight points have no {column!r} column", field="weights")
    values = pd.to_numeric(points[column], errors="coerce")
    if values.isna().any() or (values < 0).any():
        bad = int(np.flatnonzero(values.isna().to_numpy() | (values < 0).to_numpy())[0])
        raise InvalidInputError(f"weight point {bad + 1}: {column} must be a number ≥ 0",
                                field="weights")  # fmt: skip
    lats, lons = points.geometry.y.to_numpy(), points.geometry.x.to_numpy()
    pairs = zip(lats.tolist(), lons.tolist(), strict=True)
    ids = np.array([h3_np.latlng_to_cell(lat, lon, resolution) for lat, lon in pairs], np.uint64)
    per_cell = pd.Series(values.to_numpy(np.float64)).groupby(np.asarray(ids)).sum()
    return np.asarray(cells["h3"].map(per_cell).fillna(0.0), dtype=np.float64)


def weights_from_raster(cells: pd.DataFrame, path: Path, band: int = 1) -> Floats:
    """The raster's value at each cell centre (0 outside it or on no-data)."""
    if not path.exists():
        raise InvalidInputError(f"{path} does not exist", field="weights")
    try:
        dataset = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInputError(
            f"{path.name} is not a raster GDAL can read", field="weights"
        ) from exc
    with dataset:
        if dataset.crs is None:
            raise InvalidInputError(f"{path.name} declares no CRS", field="weights")
        to_raster = Transformer.from_crs(4326, dataset.crs, always_xy=True)
        x, y = to_raster.transform(cells["lon"].to_numpy(), cells["lat"].to_numpy())
        rows, cols = rasterio.transform.rowcol(dataset.transform, x, y)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < dataset.height) & (cols >= 0) & (cols < dataset.width)
        data = dataset.read(band, masked=True)
    values = np.zeros(len(cells))
    sampled = data[rows[inside], cols[inside]]
    values[inside] = np.ma.filled(sampled.astype(np.float64), 0.0)
    return np.clip(np.nan_to_num(values), 0, None)


def reweight(cells: pd.DataFrame, weights: Floats) -> tuple[pd.DataFrame, int]:
    """Each boundary's residents re-spread in proportion to ``weights``; returns the cells and
    how many boundaries had no weight at all (they keep their uniform spread)."""
    if len(weights) != len(cells):
        raise InvalidInputError("one weight per cell is needed", field="weights")
    owner = cells["boundary"].to_numpy()
    totals = np.bincount(owner, weights=cells["residents"].to_numpy())
    weight_sum = np.bincount(owner, weights=weights, minlength=len(totals))
    has = weight_sum[owner] > 0
    residents = cells["residents"].to_numpy().copy()
    residents[has] = totals[owner[has]] * weights[has] / weight_sum[owner[has]]
    untouched = int(((weight_sum == 0) & (totals > 0)).sum())
    return cells.assign(residents=residents), untouched


_GEOD = Geod(ellps="WGS84")


def geodesic_km2(geometry: shapely.Geometry) -> float:
    return abs(_GEOD.geometry_area_perimeter(geometry)[0]) / 1e6


def spread_population(children: geopandas.GeoDataFrame, parent_totals: dict[str, float],
                      *, parent_column: str = "parent_code", source: str = "parent totals",
                      year: int | None = None) -> geopandas.GeoDataFrame:  # fmt: skip
    """Each parent's total spread over its children by geodesic area (where only totals exist).

    The real Beijing data has district census totals only; this is the modelling choice the
    results then state: ``population_source`` says so for every child. Children whose parent
    has no total get ``population`` NaN.
    """
    out = children.copy()
    areas = out.geometry.apply(geodesic_km2)
    parent_area = areas.groupby(out[parent_column]).transform("sum")
    totals = out[parent_column].map(parent_totals).astype(float)
    out["population"] = totals * areas / parent_area
    out["population_source"] = f"{source}, spread over subdivisions uniformly by area"
    out["population_year"] = year
    return out


def demand_cells(
    boundaries: geopandas.GeoDataFrame,
    resolution: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """H3 cells (64-bit ids) of each boundary, its population spread uniformly by area.

    Uses h3's numpy API: a million cells take about a second instead of several.
    ``on_progress(done, total)`` is called after each boundary (the CLI's progress bar).
    """
    ids, owners, shares = [], [], []
    total = len(boundaries)
    for index, (geometry, population) in enumerate(
        zip(boundaries.geometry, boundaries["population"].fillna(0), strict=True)
    ):
        if on_progress is not None and index:
            on_progress(index, total)
        cells = h3_np.geo_to_cells(geometry, resolution)
        if len(cells) == 0:  # too small for any cell centre: one cell at a point inside it
            point = geometry.representative_point()
            cells = np.array([h3_np.latlng_to_cell(point.y, point.x, resolution)], np.uint64)
        ids.append(cells)
        owners.append(np.full(len(cells), index, dtype=np.int64))
        shares.append(np.full(len(cells), float(population) / len(cells)))
    if on_progress is not None:
        on_progress(total, total)
    cell_ids = np.concatenate(ids)
    lat, lon = np.array([h3_np.cell_to_latlng(c) for c in cell_ids.tolist()]).T
    owner, residents = np.concatenate(owners), np.concatenate(shares)
    return pd.DataFrame(
        {"h3": cell_ids, "lon": lon, "lat": lat, "boundary": owner, "residents": residents}
    )


def worker_points(enterprises: geopandas.GeoDataFrame,
                  weight: str = "outdoor_workers") -> geopandas.GeoDataFrame:  # fmt: skip
    """Enterprises as worker demand: ``workers`` = ``weight`` (outdoor workers, or employees).

    Missing counts are zero, so an enterprise without a figure adds no demand rather than an
    invented one.
    """
    if weight not in ("outdoor_workers", "employees"):
        raise InvalidInputError("workers are weighted by outdoor_workers or employees",
                                field="weight")  # fmt: skip
    if weight not in enterprises:
        raise InvalidInputError(f"enterprises have no {weight} column", field="weight")
    counts = pd.to_numeric(enterprises[weight], errors="coerce").fillna(0).clip(lower=0)
    return enterprises[["geometry"]].assign(workers=counts.astype(np.float64))
