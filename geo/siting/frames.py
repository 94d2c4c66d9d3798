"""Siting: where the next stations should go, and how good a planned one is.

A thin GeoDataFrame adapter over the numeric core (:mod:`geo.siting.problem`,
:mod:`geo.siting.solve`). Frames in (WGS-84), frozen results out; nothing opens a session.

Method (stated in every result, see ``SitingResult.method``):

* **Demand**: residents as in the coverage analysis (each boundary's population spread over
  its H3 cells, :func:`geo.coverage.demand.demand_cells`) and, optionally, outdoor workers at
  their workplaces (:func:`geo.coverage.demand.worker_points`). Weight = ``alpha·residents +
  (1 − alpha)·workers``; the default 0.5 counts a resident and a worker alike.
* **Reach**: the coverage analysis's walk — straight-line metres × detour factor ≤ walk
  metres (15 min × 80 m/min = 1,200 m, about 923 m straight at detour 1.3) — or an explicit
  straight-line radius. Metres on a local azimuthal-equidistant projection.
* **Existing stations** (``status == "open"``) are fixed: what they reach is covered already.
* **Candidates**: H3 cell centres over the selected boundaries (a regular grid), or a user
  list with optional ``cost`` and ``capacity``; candidates outside the boundaries are dropped.
* **Capacity** is reported, not optimised: each proposal's *load* is the residents and workers
  it newly reaches, each assigned to the nearest proposal, beside its ``capacity`` (seats).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import geopandas
import h3.api.numpy_int as h3_np
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo.coverage.analysis import CoverageParams, boundary_owners
from geo.coverage.demand import demand_cells, worker_points
from geo.crs import local_projector
from geo.errors import InvalidInputError
from geo.siting.problem import CoverProblem, Floats, build_problem, marginal_gains, reach_matrix
from geo.siting.solve import NEED, Method, Model, Solution, solve_backup, solve_lscp, solve_mclp

__all__ = ["SitingInput", "SitingResult", "Solution", "evaluate_sites", "prepare", "site"]


@dataclass(frozen=True)
class SitingInput:
    """Demand, candidates and existing stations in metres, and the problem built from them."""

    boundaries: geopandas.GeoDataFrame  # the selected ones, index 0..n-1
    demand: pd.DataFrame  # lon, lat, x_m, y_m, residents, workers, code
    candidates: pd.DataFrame  # lon, lat, x_m, y_m, code, name, cost, capacity
    existing: pd.DataFrame  # lon, lat, x_m, y_m, name
    reach_m: float  # straight-line metres
    alpha: float
    problem: CoverProblem
    project: Transformer = field(repr=False)
    method: dict[str, str] = field(default_factory=dict)


def _xy(project: Transformer, lon: Floats, lat: Floats) -> Floats:
    return np.column_stack(project.transform(lon, lat)).reshape(-1, 2)


def _lonlat(frame: geopandas.GeoDataFrame) -> tuple[Floats, Floats]:
    if frame.empty:
        return np.empty(0), np.empty(0)
    if not all(frame.geometry.geom_type == "Point"):
        raise InvalidInputError(
            "stations, enterprises, candidates and planned sites must be points"
        )
    geometry = frame.geometry.to_numpy()
    return np.asarray(shapely.get_x(geometry)), np.asarray(shapely.get_y(geometry))


def _check_crs(**frames: geopandas.GeoDataFrame | None) -> None:
    for name, frame in frames.items():
        if frame is not None and frame.crs is not None and frame.crs.to_epsg() != 4326:
            raise InvalidInputError(f"{name} must be in WGS-84 (EPSG:4326)", field=name)


def _select(boundaries: geopandas.GeoDataFrame,
            codes: Collection[str] | None) -> geopandas.GeoDataFrame:  # fmt: skip
    """Boundaries whose ``code`` (or ``parent_code``: a whole district) is in ``codes``."""
    if boundaries.empty:
        raise InvalidInputError("no boundaries to site in", field="boundaries")
    if codes is None:
        return boundaries.reset_index(drop=True)
    wanted = {str(code) for code in codes}
    own = boundaries["code"].astype(str)
    parent = boundaries["parent_code"].astype(str) if "parent_code" in boundaries else own
    unknown = sorted(wanted - set(own) - set(parent))
    if unknown:
        raise InvalidInputError(f"unknown boundary code(s): {', '.join(unknown)}",
                                field="boundary_codes")  # fmt: skip
    return boundaries[own.isin(wanted) | parent.isin(wanted)].reset_index(drop=True)


def _grid(boundaries: geopandas.GeoDataFrame, resolution: int) -> pd.DataFrame:
    cells = demand_cells(boundaries.assign(population=0.0), resolution)
    return pd.DataFrame({"lon": cells["lon"], "lat": cells["lat"], "boundary": cells["boundary"],
                         "name": [h3_np.int_to_str(int(c)) for c in cells["h3"]],
                         "cost": 1.0, "capacity": np.nan})  # fmt: skip


def _user_candidates(candidates: geopandas.GeoDataFrame,
                     tree: shapely.STRtree) -> tuple[pd.DataFrame, int]:  # fmt: skip
    lon, lat = _lonlat(candidates)
    owner = boundary_owners(tree, candidates)
    cost = (pd.to_numeric(candidates["cost"], errors="coerce").fillna(1.0).to_numpy()
            if "cost" in candidates else np.ones(len(candidates)))  # fmt: skip
    if np.any(cost <= 0):
        raise InvalidInputError("candidate costs must be positive", field="cost")
    capacity = (pd.to_numeric(candidates["capacity"], errors="coerce").to_numpy(np.float64)
                if "capacity" in candidates else np.full(len(candidates), np.nan))  # fmt: skip
    names = (candidates["name"].astype(str).to_numpy() if "name" in candidates
             else np.array([f"candidate {i}" for i in range(len(candidates))]))  # fmt: skip
    table = pd.DataFrame({"lon": lon, "lat": lat, "boundary": owner, "name": names,
                          "cost": cost, "capacity": capacity})  # fmt: skip
    inside = table[table["boundary"] >= 0].reset_index(drop=True)
    return inside, len(table) - len(inside)


def prepare(
    boundaries: geopandas.GeoDataFrame,
    stations: geopandas.GeoDataFrame,
    *,
    enterprises: geopandas.GeoDataFrame | None = None,
    candidates: geopandas.GeoDataFrame | None = None,
    boundary_codes: Collection[str] | None = None,
    alpha: float = 0.5,
    params: CoverageParams | None = None,
    reach_m: float | None = None,
    candidate_resolution: int = 9,
    on_progress: Callable[[int, int], None] | None = None,
) -> SitingInput:
    """Demand, candidates and the sparse reach structure for the selected boundaries.

    ``boundaries`` have code, name, population and polygons; ``stations`` are points (only
    ``status == "open"`` ones count when there is a status); ``enterprises`` are points with
    ``outdoor_workers``. ``boundary_codes`` selects subdistricts by code or a district by
    parent code. ``reach_m`` replaces the walk by a straight-line radius. Build once and
    reuse for several models or values of ``p``. ``on_progress(done, total)`` follows the
    demand grid, boundary by boundary.
    """
    _check_crs(boundaries=boundaries, stations=stations, enterprises=enterprises,
               candidates=candidates)  # fmt: skip
    if not 0 <= alpha <= 1:
        raise InvalidInputError("alpha (residents' share of the weight) must be in [0, 1]",
                                field="alpha")  # fmt: skip
    params = params or CoverageParams()
    chosen = _select(boundaries, boundary_codes)
    cells = demand_cells(chosen, params.h3_resolution, on_progress)
    tree = shapely.STRtree(chosen.geometry.to_numpy())
    demand = pd.DataFrame({"lon": cells["lon"], "lat": cells["lat"], "boundary": cells["boundary"],
                           "residents": cells["residents"], "workers": 0.0})  # fmt: skip
    worker_note = "none given"
    if enterprises is not None and not enterprises.empty:
        points = worker_points(enterprises)
        owner = boundary_owners(tree, points)
        lon, lat = _lonlat(points)
        inside = owner >= 0
        workplaces = pd.DataFrame({
            "lon": lon[inside], "lat": lat[inside], "boundary": owner[inside], "residents": 0.0,
            "workers": points["workers"].to_numpy(np.float64)[inside]})  # fmt: skip
        demand = pd.concat([demand, workplaces], ignore_index=True)
        worker_note = (f"{int(inside.sum())} workplaces weighted by outdoor workers at their "
                       f"location; {int((~inside).sum())} outside the area left out")  # fmt: skip
    project = local_projector(demand["lon"].to_numpy(), demand["lat"].to_numpy())
    demand["x_m"], demand["y_m"] = _xy(
        project, demand["lon"].to_numpy(), demand["lat"].to_numpy()
    ).T

    if candidates is None:
        sites = _grid(chosen, candidate_resolution)
        site_note = f"H3 resolution {candidate_resolution} cell centres inside the boundaries"
    else:
        sites, outside = _user_candidates(candidates, tree)
        site_note = f"user list: {len(sites)} inside the boundaries, {outside} outside dropped"
    sites["x_m"], sites["y_m"] = _xy(project, sites["lon"].to_numpy(), sites["lat"].to_numpy()).T

    if "status" in stations:
        stations = stations[stations["status"] == "open"]
    lon, lat = _lonlat(stations)
    existing = pd.DataFrame({"lon": lon, "lat": lat})
    existing["x_m"], existing["y_m"] = _xy(project, lon, lat).T

    codes = chosen["code"].astype(str).to_numpy()
    demand["code"], sites["code"] = codes[demand["boundary"]], codes[sites["boundary"]]
    reach = params.walk_m / params.detour_factor if reach_m is None else float(reach_m)
    weight = alpha * demand["residents"].to_numpy() + (1 - alpha) * demand["workers"].to_numpy()
    problem = build_problem(demand[["x_m", "y_m"]].to_numpy(), weight,
                            sites[["x_m", "y_m"]].to_numpy(), reach,
                            existing_xy_m=existing[["x_m", "y_m"]].to_numpy(),
                            cost=sites["cost"].to_numpy(np.float64))  # fmt: skip
    method = {
        "demand": f"residents: boundary population spread uniformly over H3 cells (resolution "
        f"{params.h3_resolution}); workers: {worker_note}; weight = {alpha:g}·residents + "
        f"{1 - alpha:g}·workers",
        "reach": (f"straight line × detour factor {params.detour_factor:g} ≤ walk "
                  f"{params.walk_min:g} min at {params.walk_speed_m_per_min:g} m/min = "
                  f"{params.walk_m:g} m, i.e. {reach:.0f} m straight")
        if reach_m is None else f"{reach:g} m straight line (explicit radius)",
        "existing": f"{len(existing)} open stations fixed; those outside the area still reach "
        "demand near its edge",
        "candidates": f"{len(sites)} sites: {site_note}",
    }  # fmt: skip
    return SitingInput(chosen, demand.drop(columns="boundary"), sites.drop(columns="boundary"),
                       existing, reach, alpha, problem, project, method)  # fmt: skip


@dataclass(frozen=True)
class SitingResult:
    """Ranked proposals, totals before and after, the solver's report and the method."""

    model: str
    proposals: pd.DataFrame  # one row per new site, rank 1 first (see ``PROPOSAL_COLUMNS``)
    before: dict[str, float]  # residents, workers, weight reached ``need`` times today
    after: dict[str, float]  # ... with the proposals open
    total: dict[str, float]  # all residents, workers, weight in the area
    solution: Solution
    method: dict[str, str] = field(default_factory=dict)


PROPOSAL_COLUMNS = ["rank", "lon", "lat", "code", "boundary_name", "candidate", "gain_weight",
                    "gain_residents", "gain_workers", "nearest_existing_m", "cost", "capacity",
                    "load_residents", "load_workers", "workers_per_seat"]  # fmt: skip


def _loads(data: SitingInput, sites: np.ndarray) -> tuple[Floats, Floats]:
    """Residents and workers newly reached, each assigned to the nearest proposal."""
    residents, workers = np.zeros(len(sites)), np.zeros(len(sites))
    new = np.flatnonzero(data.problem.existing == 0)
    if len(sites) == 0 or len(new) == 0:
        return residents, workers
    xy = data.candidates[["x_m", "y_m"]].to_numpy()[sites]
    points = data.demand[["x_m", "y_m"]].to_numpy()[new]
    distance, nearest = cKDTree(xy).query(points, distance_upper_bound=data.reach_m)
    reached = np.isfinite(distance)
    for values, out in ((data.demand["residents"], residents), (data.demand["workers"], workers)):
        out += np.bincount(nearest[reached], weights=values.to_numpy()[new][reached],
                           minlength=len(sites))  # fmt: skip
    return residents, workers


def _totals(data: SitingInput, sites: np.ndarray, need: int) -> dict[str, float]:
    problem = data.problem
    return {name: problem.covered(sites, need, values) for name, values in (
        ("residents", data.demand["residents"].to_numpy()),
        ("workers", data.demand["workers"].to_numpy()), ("weight", problem.weight))}  # fmt: skip


def site(data: SitingInput, model: Model = "mclp", *, p: int = 3, target_share: float = 0.95,
         method: Method = "exact", time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4,
         log: bool = False) -> SitingResult:  # fmt: skip
    """Solve ``model`` (``mclp``, ``lscp`` with ``target_share``, ``backup``) and explain it."""
    problem = data.problem
    if model == "mclp":
        solution = solve_mclp(problem, p, method=method, time_limit_s=time_limit_s,
                              mip_rel_gap=mip_rel_gap, log=log)  # fmt: skip
    elif model == "backup":
        solution = solve_backup(problem, p, method=method, time_limit_s=time_limit_s,
                                mip_rel_gap=mip_rel_gap, log=log)  # fmt: skip
    elif model == "lscp":
        solution = solve_lscp(problem, target_share, method=method, time_limit_s=time_limit_s,
                              mip_rel_gap=mip_rel_gap, log=log)  # fmt: skip
    else:
        raise InvalidInputError("model must be mclp, lscp or backup", field="model")
    need, sites = NEED[model], solution.sites
    chosen = data.candidates.iloc[sites]
    names = dict(zip(data.boundaries["code"].astype(str), data.boundaries["name"], strict=True))
    if len(data.existing):
        nearest_m = cKDTree(data.existing[["x_m", "y_m"]].to_numpy()).query(
            chosen[["x_m", "y_m"]].to_numpy().reshape(-1, 2))[0]  # fmt: skip
    else:
        nearest_m = np.full(len(sites), np.inf)
    load_residents, load_workers = _loads(data, sites)
    capacity = chosen["capacity"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_seat = np.where(capacity > 0, load_workers / capacity, np.nan)
    proposals = pd.DataFrame({
        "rank": np.arange(1, len(sites) + 1), "lon": chosen["lon"].to_numpy(),
        "lat": chosen["lat"].to_numpy(), "code": chosen["code"].to_numpy(),
        "boundary_name": [names[c] for c in chosen["code"]], "candidate": chosen["name"].to_numpy(),
        "gain_weight": solution.gains,
        "gain_residents": marginal_gains(problem, sites, need, data.demand["residents"].to_numpy()),
        "gain_workers": marginal_gains(problem, sites, need, data.demand["workers"].to_numpy()),
        "nearest_existing_m": nearest_m, "cost": chosen["cost"].to_numpy(), "capacity": capacity,
        "load_residents": load_residents, "load_workers": load_workers,
        "workers_per_seat": per_seat,
    }, columns=PROPOSAL_COLUMNS)  # fmt: skip
    reached = "reached at least twice" if need == 2 else "within reach"
    stated = dict(data.method) | {
        "model": {"mclp": f"MCLP: {p} new sites maximising the weight newly {reached}",
                  "backup": f"backup: {p} new sites maximising the weight newly {reached}, "
                  "existing stations counting",
                  "lscp": f"LSCP: fewest (cheapest) new sites putting {target_share:.1%} of "
                  "the weight within reach"}[model],
        "solver": f"{solution.solver}; status {solution.status}; gap {solution.gap:.2%}",
        "ranking": "proposals ordered greedily by what each adds to the ones before it; "
        f"gains are {reached}, split into residents and workers",
        "capacity": "reported, not optimised: load = residents and workers newly within reach, "
        "each assigned to the nearest proposal; capacity = the candidate's seats where given",
    }  # fmt: skip
    total = {
        "residents": float(data.demand["residents"].sum()),
        "workers": float(data.demand["workers"].sum()),
        "weight": problem.total_weight,
    }
    return SitingResult(model, proposals, _totals(data, np.empty(0, np.int64), need),
                        _totals(data, sites, need), total, solution, stated)  # fmt: skip


EVALUATION_COLUMNS = ["name", "lon", "lat", "code", "boundary_name", "gain_weight",
                      "gain_residents", "gain_workers", "best_gain_weight", "best_gain_residents",
                      "best_gain_workers", "best_lon", "best_lat", "share_of_best",
                      "candidates_better", "candidates_in_boundary"]  # fmt: skip


def evaluate_sites(data: SitingInput, sites: geopandas.GeoDataFrame) -> pd.DataFrame:
    """What each given site (e.g. 卢沟桥's planned third station) adds alone, beside the best.

    The gain is the weight it newly brings within reach over today's open stations; the best
    is the grid/list candidate with the largest such gain in the same boundary. A planned site
    off the grid may beat every candidate: ``share_of_best`` can exceed 1.
    """
    _check_crs(sites=sites)
    lon, lat = _lonlat(sites)
    problem = data.problem
    fresh = problem.existing == 0
    values = {"weight": problem.weight, "residents": data.demand["residents"].to_numpy(),
              "workers": data.demand["workers"].to_numpy()}  # fmt: skip
    own = reach_matrix(data.demand[["x_m", "y_m"]].to_numpy(), _xy(data.project, lon, lat),
                       data.reach_m)  # fmt: skip
    gains = {k: own.T @ (v * fresh) for k, v in values.items()}
    grid = {k: problem.reach.T @ (v * fresh) for k, v in values.items()}
    owner = boundary_owners(shapely.STRtree(data.boundaries.geometry.to_numpy()), sites)
    names = sites["name"].astype(str).to_numpy() if "name" in sites else np.full(len(sites), "")
    rows = []
    for index in range(len(sites)):
        row: dict[str, object] = {"name": names[index], "lon": lon[index], "lat": lat[index]}
        row |= {f"gain_{k}": float(v[index]) for k, v in gains.items()}
        inside = owner[index] >= 0
        code = str(data.boundaries["code"].iloc[owner[index]]) if inside else None
        row |= {
            "code": code,
            "boundary_name": data.boundaries["name"].iloc[owner[index]] if inside else None,
        }
        pool = np.flatnonzero(data.candidates["code"].to_numpy() == code)
        if len(pool):
            best = int(pool[np.argmax(grid["weight"][pool])])
            row |= {f"best_gain_{k}": float(v[best]) for k, v in grid.items()}
            row |= {"best_lon": data.candidates["lon"].iloc[best],
                    "best_lat": data.candidates["lat"].iloc[best],
                    "share_of_best": row["gain_weight"] / max(grid["weight"][best], 1e-12),
                    "candidates_better": int(np.sum(grid["weight"][pool] > gains["weight"][index])),
                    "candidates_in_boundary": len(pool)}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows, columns=EVALUATION_COLUMNS)
