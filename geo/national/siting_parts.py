"""One partition's share of a siting problem: its candidates and the uncovered cells they reach.

Pure: frames and arrays in, a problem out; :mod:`geo.national.siting` runs it as a Dask task.

A part's problem is its **home candidates** (H3 cell centres at ``candidate_resolution``
inside its counties: every candidate has exactly one home, whatever the cut) and **every
resident not yet within a walk that one of them reaches** — its own cells and, across its
border, its neighbours' (the siting halo). A neighbour's cells are that county's own, residents
spread over its whole area, so they weigh what they weigh in the neighbour's part. A cell
reached from two parts appears in both; merged by H3 id the parts give the whole scope's
problem exactly, whatever the cut.

Candidates per county are the ``per_county`` with the largest gain alone (residents newly
within reach of that one site). The gain is measured against all cells in reach, halo
included, so the candidate set is the same however the country is cut.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse
from scipy.spatial import cKDTree

from geo.coverage.demand import demand_cells
from geo.errors import InvalidInputError
from geo.national.kernel import NationalParams
from geo.national.sphere import chord_of, nearest_two_capped, to_xyz
from geo.siting.problem import Floats, Ints

EMPTY_INTS = np.empty(0, np.int64)


@dataclass(frozen=True)
class SitingParams:
    """What a national siting run needs beyond the coverage parameters."""

    coverage: NationalParams
    p: int
    candidate_resolution: int | None = None  # default: one coarser than the demand cells
    per_county: int = 40
    time_limit_s: float = 60.0  # per part and price
    mip_rel_gap: float = 1e-5
    max_rounds: int = 24

    def __post_init__(self) -> None:
        if isinstance(self.p, bool) or not isinstance(self.p, int) or self.p < 1:
            raise InvalidInputError("p must be a positive whole number of sites", field="p")
        demand = self.coverage.h3_resolution
        if not demand - 3 <= self.resolution <= demand:
            raise InvalidInputError(
                f"candidate resolution must be {demand - 3}..{demand} (demand cells at {demand})",
                field="candidate_resolution",
            )
        if not 1 <= self.per_county <= 5_000:
            raise InvalidInputError("per_county must be 1..5000", field="per_county")
        if not self.time_limit_s > 0 or not 0 <= self.mip_rel_gap < 0.1:
            raise InvalidInputError("time limit must be positive and the MIP gap below 0.1")
        if not 4 <= self.max_rounds <= 200:
            raise InvalidInputError("max_rounds must be 4..200", field="max_rounds")

    @property
    def resolution(self) -> int:
        given = self.candidate_resolution
        return self.coverage.h3_resolution - 1 if given is None else given

    @property
    def reach_m(self) -> float:
        """Straight-line (great-circle) metres a walk reaches: walk metres ÷ detour factor."""
        return self.coverage.walk_m / self.coverage.detour_factor


@dataclass(frozen=True)
class PartProblem:
    """A part's home candidates × the uncovered cells they reach."""

    key: str
    candidates: pd.DataFrame  # h3, lon, lat, code, gain_alone
    rows: pd.DataFrame  # h3, residents, own (a cell of this part, not of a neighbour)
    reach: sparse.csr_array  # rows × candidates, 0/1
    own_cells: int
    own_residents: float
    own_beyond_walk: float  # own residents not within a walk of any station: the most to gain
    build_s: float


def _uncovered(cells: pd.DataFrame, station_xyz: Floats, reach_m: float) -> NDArray[np.bool_]:
    nearest, _ = nearest_two_capped(to_xyz(cells["lon"].to_numpy(), cells["lat"].to_numpy()),
                                    station_xyz, 2 * reach_m)  # fmt: skip
    return np.asarray((nearest > reach_m) & (cells["residents"].to_numpy() > 0))


def _open_cells(counties: geopandas.GeoDataFrame, resolution: int, stations: Floats,
                reach_m: float, box: tuple[float, float, float, float] | None,
                totals: list[float]) -> list[pd.DataFrame]:  # fmt: skip
    """Cells with residents beyond a walk, one county at a time (so memory is the largest
    county's, not the part's); ``box`` keeps only those inside it (a neighbour's, near the
    part). ``totals`` gathers cells and residents before either filter."""
    found = []
    for index in range(len(counties)):
        cells = demand_cells(counties.iloc[[index]], resolution)
        totals[0] += len(cells)
        totals[1] += float(cells["residents"].sum())
        if box is not None:
            lon, lat = cells["lon"].to_numpy(), cells["lat"].to_numpy()
            cells = cells[(lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])]
        cells = cells[_uncovered(cells, stations, reach_m)]
        found.append(cells[["h3", "lon", "lat", "residents"]])
    return found


def build_part(key: str, own: geopandas.GeoDataFrame, neighbours: geopandas.GeoDataFrame,
               box: tuple[float, float, float, float], station_lon: Floats,
               station_lat: Floats, params: SitingParams) -> PartProblem:  # fmt: skip
    """The part's problem. ``box``: the part's bounds grown by a walk (where its candidates
    can reach); ``neighbours``: the scope's other counties meeting it; ``station_*``: every
    station within a walk of any cell that matters (two walks of the part's bounds)."""
    started = time.perf_counter()
    resolution, reach = params.coverage.h3_resolution, params.reach_m
    own = own.reset_index(drop=True)
    stations = to_xyz(station_lon, station_lat)
    mine = [0.0, 0.0]
    frames = _open_cells(own, resolution, stations, reach, None, mine)
    own_rows = sum(len(frame) for frame in frames)
    if len(neighbours):
        frames += _open_cells(neighbours.reset_index(drop=True), resolution, stations, reach, box,
                              [0.0, 0.0])  # fmt: skip
    open_cells = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    is_own = np.arange(len(open_cells)) < own_rows
    weight = open_cells["residents"].to_numpy(np.float64)
    tree = cKDTree(to_xyz(open_cells["lon"].to_numpy(), open_cells["lat"].to_numpy()))
    chosen, links = [], []
    for index in range(len(own)):
        sites = demand_cells(own.iloc[[index]].assign(population=0.0), params.resolution)
        pairs = _pairs(sites, tree, reach)
        gain = np.bincount(pairs[:, 0], weights=weight[pairs[:, 1]], minlength=len(sites))
        # Ranked on gains rounded to a millionth of a resident: sums taken in another order
        # (another cut) differ in the last bits and must not break a tie differently.
        ranked = sites.assign(gain_alone=gain, rank_gain=np.round(gain, 6))
        best = (ranked[ranked["gain_alone"] > 0]
                .sort_values(["rank_gain", "h3"], ascending=[False, True])
                .head(params.per_county).index.to_numpy())  # fmt: skip
        chosen.append(ranked.loc[best, ["h3", "lon", "lat", "gain_alone"]]
                      .assign(code=own["code"].iat[index]))  # fmt: skip
        keep = np.isin(pairs[:, 0], best)
        links.append((pairs[keep], ranked.loc[best, "h3"].to_numpy(), best))
    candidates = pd.concat(chosen, ignore_index=True).sort_values("h3", kind="stable")
    column_of = {int(cell): n for n, cell in enumerate(candidates["h3"].to_numpy().tolist())}
    site_cols, cell_rows = [], []
    for pairs, ids, best in links:
        local = np.full(int(best.max()) + 1 if len(best) else 0, -1, np.int64)
        local[best] = [column_of[int(cell)] for cell in ids.tolist()]
        site_cols.append(local[pairs[:, 0]])
        cell_rows.append(pairs[:, 1])
    cols = np.concatenate(site_cols) if site_cols else EMPTY_INTS
    used, row_of = np.unique(np.concatenate(cell_rows) if cell_rows else EMPTY_INTS,
                             return_inverse=True)  # fmt: skip
    reach_matrix = sparse.csr_array((np.ones(len(cols)), (row_of, cols)),
                                    shape=(len(used), len(candidates)))  # fmt: skip
    reach_matrix.sum_duplicates()
    rows = open_cells.iloc[used][["h3", "residents"]].assign(own=is_own[used])
    candidates = candidates[["h3", "lon", "lat", "code", "gain_alone"]].reset_index(drop=True)
    return PartProblem(key, candidates, rows.reset_index(drop=True), reach_matrix, int(mine[0]),
                       mine[1], float(weight[is_own].sum()),
                       time.perf_counter() - started)  # fmt: skip


def _pairs(sites: pd.DataFrame, cell_tree: cKDTree, reach_m: float) -> Ints:
    """(site, cell) index pairs within ``reach_m`` great-circle metres."""
    if len(sites) == 0 or cell_tree.n == 0:
        return np.empty((0, 2), np.int64)
    site_tree = cKDTree(to_xyz(sites["lon"].to_numpy(), sites["lat"].to_numpy()))
    found = site_tree.sparse_distance_matrix(cell_tree, chord_of(reach_m), output_type="ndarray")
    return np.column_stack((found["i"], found["j"])).astype(np.int64)
