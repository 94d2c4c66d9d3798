"""Coverage: who is far from a station, per boundary, against the 1 km / 15-minute standard.

Pure functions: frames and arrays in, frozen results out; nothing here opens a session.

Method (stated in every result, see ``CoverageResult.method``):

* **Demand**: each boundary's population is spread uniformly by area over the H3 cells whose
  centres lie in it (resolution 9 by default: hexagons of about 0.1 km²). A boundary too small
  for any cell centre gets one cell at its representative point.
* **Reach**: straight-line distance from each cell centre to the nearest and second-nearest
  station, in metres on a local azimuthal-equidistant projection (error < 0.1 % within 100 km),
  times a stated detour factor for walking. A cell is *within the radius* when the straight
  distance is at most ``radius_m``, *within a walk* when ``distance × detour ≤ walk_min × speed``,
  and has *overlapping coverage* when its second-nearest station is within a walk too.
* **Underserved score**: the mean of three parts, each scaled to 0..1 over the boundaries
  analysed — the share of residents beyond a walk, residents per station, and the number of
  residents beyond a walk — so a planner can see which part drives a rank.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import geopandas
import h3.api.numpy_int as h3_np
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from geo.coverage.demand import demand_cells, geodesic_km2
from geo.crs import local_projector
from geo.errors import InvalidInputError
from geo.network.graph import build_network, network_nearest_two
from geo.standards import DETOUR_FACTOR, RADIUS_M, WALK_MIN, WALK_SPEED_M_PER_MIN

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class CoverageParams:
    radius_m: float = RADIUS_M
    walk_min: float = WALK_MIN
    walk_speed_m_per_min: float = WALK_SPEED_M_PER_MIN
    detour_factor: float = DETOUR_FACTOR
    h3_resolution: int = 9

    def __post_init__(self) -> None:
        if self.radius_m <= 0 or self.walk_min <= 0 or self.walk_speed_m_per_min <= 0:
            raise InvalidInputError("radius, walk minutes and walking speed must be positive")
        if self.detour_factor < 1:
            raise InvalidInputError("detour_factor must be at least 1", field="detour_factor")
        if not 5 <= self.h3_resolution <= 11:
            raise InvalidInputError("h3_resolution must be 5..11", field="h3_resolution")

    @property
    def walk_m(self) -> float:
        return self.walk_min * self.walk_speed_m_per_min


@dataclass(frozen=True)
class CellDistances:
    """Straight-line metres from each demand cell to its nearest and second-nearest station."""

    nearest_m: Floats
    second_m: Floats


def nearest_two(cell_xy_m: Floats, station_xy_m: Floats) -> CellDistances:
    """Distances to the nearest two stations (``inf`` where there are fewer stations)."""
    n = len(cell_xy_m)
    if len(station_xy_m) == 0:
        return CellDistances(np.full(n, np.inf), np.full(n, np.inf))
    tree = cKDTree(station_xy_m)
    k = 2 if len(station_xy_m) > 1 else 1
    distances, _ = tree.query(cell_xy_m, k=k)
    distances = np.asarray(distances, dtype=np.float64).reshape(n, k)
    second = distances[:, 1] if k == 2 else np.full(n, np.inf)
    return CellDistances(distances[:, 0], second)


def grouped_weighted_quantile(values: Floats, weights: Floats, groups: NDArray[np.int64],
                              count: int, q: float) -> Floats:  # fmt: skip
    """The ``q`` quantile of ``values`` weighted by ``weights`` within each group, in one sort.

    NaN for groups with no weight. One lexsort and one searchsorted: linear in the cells, not
    cells × groups.
    """
    if len(values) == 0:  # e.g. no workers anywhere in the boundaries asked about
        return np.full(count, np.nan)
    order = np.lexsort((values, groups))
    sorted_groups, sorted_values = groups[order], values[order]
    cumulative = np.cumsum(weights[order])
    starts = np.searchsorted(sorted_groups, np.arange(count), side="left")
    ends = np.searchsorted(sorted_groups, np.arange(count), side="right")
    before = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)
    totals = np.bincount(groups, weights=weights, minlength=count)
    index = np.searchsorted(cumulative, before + q * totals, side="left")
    index = np.clip(index, starts, np.maximum(ends - 1, starts))
    result = np.full(count, np.nan)
    has = (ends > starts) & (totals > 0)
    result[has] = sorted_values[index[has]]
    return result


def boundary_metrics(distances: CellDistances, cell_pop: Floats, cell_boundary: NDArray[np.int64],
                     stations_per_boundary: NDArray[np.int64], area_km2: Floats,
                     params: CoverageParams) -> pd.DataFrame:  # fmt: skip
    """Per-boundary figures from cell distances; row ``i`` is boundary ``i``.

    The numeric core: arrays in, a table out, so it can be checked by hand on three cells.
    """
    count = len(area_km2)
    walk_reach = distances.nearest_m * params.detour_factor <= params.walk_m
    second_reach = distances.second_m * params.detour_factor <= params.walk_m
    in_radius = distances.nearest_m <= params.radius_m

    def total(mask: NDArray[np.bool_] | None = None) -> Floats:
        weights = cell_pop if mask is None else cell_pop * mask
        return np.asarray(np.bincount(cell_boundary, weights=weights, minlength=count), np.float64)

    residents = total()

    def share(mask: NDArray[np.bool_]) -> Floats:
        return np.where(residents > 0, total(mask) / np.maximum(residents, 1e-12), np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        finite = np.where(np.isfinite(distances.nearest_m), distances.nearest_m, np.nan)
        mean_m = np.bincount(cell_boundary, weights=np.nan_to_num(finite) * cell_pop,
                             minlength=count) / residents  # fmt: skip
        stations = stations_per_boundary.astype(np.float64)
        table = pd.DataFrame({
            "residents": residents,
            "stations": stations_per_boundary,
            "area_km2": area_km2,
            "residents_per_station": np.where(stations > 0, residents / stations, np.inf),
            "stations_per_10k": stations / residents * 10_000,
            "stations_per_km2": stations / area_km2,
            "share_within_radius": share(in_radius),
            "share_within_walk": share(walk_reach),
            "share_two_plus": share(walk_reach & second_reach),
            "mean_nearest_m": mean_m,
            "uncovered_residents": total(~walk_reach),
        })  # fmt: skip
    table["p90_nearest_m"] = grouped_weighted_quantile(
        distances.nearest_m, cell_pop, cell_boundary, count, 0.9
    )
    return table


WORKER_COLUMNS = {
    "residents": "workers",
    "residents_per_station": "workers_per_station",
    "share_within_radius": "share_workers_within_radius",
    "share_within_walk": "share_workers_within_walk",
    "share_two_plus": "share_workers_two_plus",
    "mean_nearest_m": "workers_mean_nearest_m",
    "uncovered_residents": "uncovered_workers",
}


def worker_metrics(distances: CellDistances, workers: Floats, owner: NDArray[np.int64],
                   stations_per_boundary: NDArray[np.int64], area_km2: Floats,
                   params: CoverageParams) -> pd.DataFrame:  # fmt: skip
    """The same figures for workers at their workplaces (one weighted point per enterprise)."""
    table = boundary_metrics(distances, workers, owner, stations_per_boundary, area_km2, params)
    return table[list(WORKER_COLUMNS)].rename(columns=WORKER_COLUMNS)


def underserved_score(table: pd.DataFrame) -> pd.DataFrame:
    """Add the score's parts (0..1 over the boundaries given), the score and the rank.

    Three parts from residents; a fourth, the share of workers beyond a walk, when the table
    has workers. Each part is shown so a planner can say which one drives a rank. A boundary
    without a population (``residents`` NaN) has no load or uncovered part: its score is the
    mean of the parts it has.
    """

    def scaled(values: pd.Series) -> pd.Series:
        """0..1 of the largest; infinite (no station at all) counts as the largest; unknown
        (no population) stays unknown and is left out of that boundary's mean."""
        finite = values.replace(np.inf, np.nan)
        top = finite.max()
        filled = finite.where(~np.isinf(values), top if pd.notna(top) else 0)
        return filled / top if top and top > 0 else filled * 0

    out = table.copy()
    out["part_beyond_walk"] = (1 - out["share_within_walk"]).fillna(0)
    load = out["residents_per_station"].where(out["stations"] > 0, out["residents"])
    out["part_load"] = scaled(load)
    out["part_uncovered"] = scaled(out["uncovered_residents"])
    parts = ["part_beyond_walk", "part_load", "part_uncovered"]
    if "share_workers_within_walk" in out:
        out["part_workers_beyond_walk"] = (1 - out["share_workers_within_walk"]).fillna(0)
        parts.append("part_workers_beyond_walk")
    out["score"] = out[parts].mean(axis=1, skipna=True)
    out["rank"] = out["score"].rank(ascending=False, method="min").astype(int)
    return out


@dataclass(frozen=True)
class CoverageResult:
    per_boundary: pd.DataFrame  # one row per boundary, ranked (1 = most underserved)
    cells: pd.DataFrame  # h3 (64-bit id), lon, lat, code, residents, nearest_m, second_m
    params: CoverageParams
    method: dict[str, str] = field(default_factory=dict)
    # Per boundary: the area beyond a walk (dissolved cells) and its largest connected pocket.
    gaps: geopandas.GeoDataFrame | None = None


def gap_polygons(cells: pd.DataFrame, params: CoverageParams) -> geopandas.GeoDataFrame:
    """Cells beyond a walk, dissolved per boundary, with the largest connected pocket of each.

    ``cells`` needs ``h3``, ``code``, ``residents`` and ``nearest_m``. Dissolving uses H3's own
    cells-to-polygons (exact shared edges, no buffering); pockets are its connected parts.
    """
    beyond = cells[cells["nearest_m"] * params.detour_factor > params.walk_m]
    rows = []
    for code, group in beyond.groupby("code", sort=True):
        shape = h3_np.cells_to_h3shape(group["h3"].to_numpy())
        dissolved = shapely.geometry.shape(shape.__geo_interface__)
        parts = list(getattr(dissolved, "geoms", [dissolved]))
        # Pick the largest part by planar area (same latitude band), then measure it properly.
        largest = max(parts, key=lambda part: part.area)
        rows.append({
            "code": code, "residents_beyond_walk": float(group["residents"].sum()),
            "gap_km2": geodesic_km2(dissolved), "pockets": len(parts),
            "largest_pocket_km2": geodesic_km2(largest), "largest_pocket": largest,
            "geometry": dissolved,
        })  # fmt: skip
    columns = ["code", "residents_beyond_walk", "gap_km2", "pockets", "largest_pocket_km2",
               "largest_pocket", "geometry"]  # fmt: skip
    return geopandas.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=4326)


_PER_RESIDENT = ("residents", "residents_per_station", "stations_per_10k", "uncovered_residents")
_SHARES = ("share_within_radius", "share_within_walk", "share_two_plus", "mean_nearest_m",
           "p90_nearest_m")  # fmt: skip


def _by_area_where_unknown(table: pd.DataFrame, unknown: NDArray[np.bool_],
                           distances: CellDistances, cell_boundary: NDArray[np.int64],
                           stations: NDArray[np.int64], area_km2: Floats,
                           params: CoverageParams) -> pd.DataFrame:  # fmt: skip
    """For boundaries without a population: shares of their area (H3 cells of one resolution
    are near-equal in area, so each cell weighs 1) instead of NaN, and per-resident figures
    unknown (NaN) instead of a pretended 0."""
    by_area = boundary_metrics(distances, np.ones(len(cell_boundary)), cell_boundary, stations,
                               area_km2, params)  # fmt: skip
    out = table.copy()
    for column in _SHARES:
        out[column] = np.where(unknown, by_area[column], out[column])
    for column in _PER_RESIDENT:
        out[column] = np.where(unknown, np.nan, out[column])
    return out


def boundary_owners(tree: shapely.STRtree, points: geopandas.GeoDataFrame) -> NDArray[np.int64]:
    """Index of the boundary each point lies in (first match), -1 outside all of them."""
    owner = np.full(len(points), -1, dtype=np.int64)
    if len(points):
        pairs = tree.query(points.geometry.to_numpy(), predicate="within")
        owner[pairs[0][::-1]] = pairs[1][::-1]  # reversed: the first match wins
    return owner


def analyse(
    boundaries: geopandas.GeoDataFrame,
    stations: geopandas.GeoDataFrame,
    params: CoverageParams | None = None,
    *,
    with_gaps: bool = True,
    cells: pd.DataFrame | None = None,
    workers: geopandas.GeoDataFrame | None = None,
    supply: str | None = None,
    demand: str | None = None,
    network: geopandas.GeoDataFrame | None = None,
) -> CoverageResult:
    """Coverage of ``boundaries`` (code, name, population, polygons) by ``stations`` (points).

    Both in WGS-84. Stations outside the boundaries still serve cells near the edge; only
    stations inside a boundary count towards its ``stations`` figure. ``cells`` reuses a demand
    grid from :func:`demand_cells` for the same boundaries: building it is the slow part
    (seconds for a million cells) and it changes only with the boundaries or their population.
    ``workers`` are points with a ``workers`` weight (see :func:`worker_points`); those outside
    every boundary are left out and counted in the method. ``supply`` says how the stations
    were chosen (see :func:`geo.coverage.supply.select_supply`); ``demand`` how residents were
    spread when ``cells`` were re-weighted (see :mod:`geo.coverage.demand`). ``network``
    (walkable lines, see :mod:`geo.network.graph`; ``network.attrs["source"]`` names it)
    replaces straight line × detour with metres walked along it.
    """
    params = params or CoverageParams()
    if boundaries.empty:
        raise InvalidInputError("no boundaries to analyse", field="boundaries")
    for frame, name in ((boundaries, "boundaries"), (stations, "stations"), (workers, "workers")):
        if frame is not None and frame.crs is not None and frame.crs.to_epsg() != 4326:
            raise InvalidInputError(f"{name} must be in WGS-84 (EPSG:4326)", field=name)
    boundaries = boundaries.reset_index(drop=True)
    if cells is None:
        cells = demand_cells(boundaries, params.h3_resolution)
    elif len(cells) == 0 or cells["boundary"].max() >= len(boundaries):
        raise InvalidInputError("the demand grid was built for other boundaries", field="cells")
    project = local_projector(cells["lon"].to_numpy(), cells["lat"].to_numpy())
    cell_xy = np.column_stack(project.transform(cells["lon"].to_numpy(), cells["lat"].to_numpy()))
    station_lon = shapely.get_x(stations.geometry.to_numpy()) if len(stations) else np.empty(0)
    station_lat = shapely.get_y(stations.geometry.to_numpy()) if len(stations) else np.empty(0)
    station_xy = np.column_stack(project.transform(station_lon, station_lat)).reshape(-1, 2)
    if network is None:
        distances = nearest_two(cell_xy, station_xy)
        reach = (f"straight line × detour factor {params.detour_factor}; walk "
                 f"{params.walk_min:g} min at {params.walk_speed_m_per_min:g} m/min = "
                 f"{params.walk_m:g} m")  # fmt: skip
        radius = f"{params.radius_m:g} m straight line"
    else:
        walk = build_network(network, project, str(network.attrs.get("source", "lines")))
        distances = CellDistances(*network_nearest_two(walk, cell_xy, station_xy, params.walk_m))
        params = dataclasses.replace(params, detour_factor=1.0)  # distances are walked already
        reach = (f"walked along the network {walk.source} ({len(walk.node_xy):,} nodes, "
                 f"{walk.edges:,} edges; straight hop to the nearest node); walk "
                 f"{params.walk_min:g} min at {params.walk_speed_m_per_min:g} m/min = "
                 f"{params.walk_m:g} m")  # fmt: skip
        radius = f"{params.radius_m:g} m walked along the network"

    tree = shapely.STRtree(boundaries.geometry.to_numpy())
    owner = boundary_owners(tree, stations)
    per_boundary_count = np.bincount(owner[owner >= 0], minlength=len(boundaries))
    area_km2 = boundaries.to_crs(boundaries.estimate_utm_crs()).area.to_numpy() / 1e6

    table = boundary_metrics(distances, cells["residents"].to_numpy(), cells["boundary"].to_numpy(),
                             per_boundary_count, area_km2, params)  # fmt: skip
    unknown = boundaries["population"].isna().to_numpy()
    if unknown.any():
        table = _by_area_where_unknown(table, unknown, distances, cells["boundary"].to_numpy(),
                                       per_boundary_count, area_km2, params)  # fmt: skip
    table["share_basis"] = np.where(unknown, "area", "residents")
    worker_note = None
    if workers is not None:
        worker_owner = boundary_owners(tree, workers)
        inside = workers[worker_owner >= 0]
        worker_xy = np.column_stack(project.transform(
            shapely.get_x(inside.geometry.to_numpy()), shapely.get_y(inside.geometry.to_numpy())
        )).reshape(-1, 2)  # fmt: skip
        worker_table = worker_metrics(
            nearest_two(worker_xy, station_xy), inside["workers"].to_numpy(np.float64),
            worker_owner[worker_owner >= 0], per_boundary_count, area_km2, params,
        )  # fmt: skip
        table = pd.concat([table, worker_table], axis=1)
        left_out = len(workers) - len(inside)
        worker_note = (f"{len(inside)} workplaces weighted by their workers, at their own "
                       f"location; {left_out} outside the boundaries left out")  # fmt: skip
    table.insert(0, "code", boundaries["code"].to_numpy())
    table.insert(1, "name", boundaries["name"].to_numpy())
    ranked = underserved_score(table).sort_values("rank", kind="stable").reset_index(drop=True)
    cells = cells.assign(code=boundaries["code"].to_numpy()[cells["boundary"]],
                         nearest_m=distances.nearest_m, second_m=distances.second_m)  # fmt: skip
    method = {
        "demand": demand or f"boundary population spread uniformly by area over H3 cells "
        f"(resolution {params.h3_resolution})",
        "reach": reach,
        "radius": radius,
        "score": "mean of share beyond a walk, residents per station and residents beyond a "
        "walk" + (" and share of workers beyond a walk" if worker_note else "")
        + ", each scaled 0..1 over the boundaries analysed",
    }  # fmt: skip
    if unknown.any():
        method["shares"] = (
            f"{int(unknown.sum())} of {len(unknown)} boundaries have no population: their "
            "shares are of their area (share_basis = area), their residents are unknown, and "
            "their score leaves out the parts that need residents"
        )
    if worker_note:
        method["workers"] = worker_note
    if supply:
        method["supply"] = supply
    cells = cells.drop(columns="boundary")
    if not with_gaps:
        return CoverageResult(ranked, cells, params, method)
    gaps = gap_polygons(cells, params)
    pocket = gaps.set_index("code")["largest_pocket_km2"]
    ranked["largest_pocket_km2"] = ranked["code"].map(pocket).fillna(0.0)
    return CoverageResult(ranked, cells, params, method, gaps)
