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


def build_part(key: str, own: geopandas.GeoDataFrame, neighbours: geopandas.GeoDataFrame,
               station_lon: Floats, station_lat: Floats,
               params: SitingParams) -> PartProblem:  # fmt: skip
    """The part's problem. ``neighbours``: the scope's other counties within reach of its box;
    ``station_*``: every station within a walk of any cell that matters (two reaches of it)."""
    started = time.perf_counter()
    resolution, reach = params.coverage.h3_resolution, params.reach_m
    own = own.reset_index(drop=True)
    stations = to_xyz(station_lon, station_lat)
    mine = demand_cells(own, resolution)
    frames = [mine.assign(own=True)]
    if len(neighbours):
        frames.append(demand_cells(neighbours.reset_index(drop=True), resolution).assign(own=False))
    cells = pd.concat(frames, ignore_index=True)
    open_cells = cells[_uncovered(cells, stations, reach)].reset_index(drop=True)
    sites = demand_cells(own.assign(population=0.0), params.resolution)
    sites = sites.assign(code=own["code"].to_numpy()[sites["boundary"].to_numpy()])
    pairs = _pairs(sites, open_cells, reach)
    weight = open_cells["residents"].to_numpy(np.float64)
    gain = np.bincount(pairs[:, 0], weights=weight[pairs[:, 1]], minlength=len(sites))
    # Ranked on gains rounded to a millionth of a resident: sums taken in another order (another
    # cut) differ in the last bits, and must not break a tie between twin cells differently.
    sites = sites.assign(gain_alone=gain, rank_gain=np.round(gain, 6))
    kept = (sites[sites["gain_alone"] > 0]
            .sort_values(["code", "rank_gain", "h3"], ascending=[True, False, True])
            .groupby("code", sort=False).head(params.per_county)
            .sort_values("h3").index.to_numpy())  # fmt: skip
    column = np.full(len(sites), -1, np.int64)
    column[kept] = np.arange(len(kept))
    pairs = pairs[column[pairs[:, 0]] >= 0]
    used, row_of = np.unique(pairs[:, 1], return_inverse=True)
    reach_matrix = sparse.csr_array(
        (np.ones(len(pairs)), (row_of, column[pairs[:, 0]])), shape=(len(used), len(kept))
    )
    reach_matrix.sum_duplicates()
    rows = open_cells.loc[used, ["h3", "residents", "own"]].reset_index(drop=True)
    candidates = sites.loc[kept, ["h3", "lon", "lat", "code", "gain_alone"]].reset_index(drop=True)
    own_open = open_cells["own"].to_numpy()
    return PartProblem(key, candidates, rows, reach_matrix, len(mine),
                       float(mine["residents"].sum()), float(weight[own_open].sum()),
                       time.perf_counter() - started)  # fmt: skip


def _pairs(sites: pd.DataFrame, cells: pd.DataFrame, reach_m: float) -> Ints:
    """(site, cell) index pairs within ``reach_m`` great-circle metres."""
    if len(sites) == 0 or len(cells) == 0:
        return np.empty((0, 2), np.int64)
    site_tree = cKDTree(to_xyz(sites["lon"].to_numpy(), sites["lat"].to_numpy()))
    cell_tree = cKDTree(to_xyz(cells["lon"].to_numpy(), cells["lat"].to_numpy()))
    found = site_tree.sparse_distance_matrix(cell_tree, chord_of(reach_m), output_type="ndarray")
    return np.column_stack((found["i"], found["j"])).astype(np.int64)
