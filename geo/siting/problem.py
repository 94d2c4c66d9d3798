"""The numeric core of siting: a sparse demand × candidate reach structure and its arithmetic.

Every model in :mod:`geo.siting.frames` reads one :class:`CoverProblem`: which candidate sites reach
which demand points (a CSR matrix built from KD-tree radius queries, never a dense matrix), the
demand weights, how many *existing* stations already reach each point, and the candidates'
costs. A demand point with requirement ``need`` (1 for MCLP and LSCP, 2 for backup coverage)
counts once ``existing + chosen sites reaching it ≥ need``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.spatial import cKDTree

from geo.errors import InvalidInputError

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def reach_matrix(demand_xy_m: Floats, site_xy_m: Floats, reach_m: float) -> sparse.csr_array:
    """``R[i, j] = 1`` when site ``j`` is at most ``reach_m`` straight-line metres from point ``i``.

    One KD-tree pair query in C (``sparse_distance_matrix``): memory grows with the pairs
    within reach, not with demand × sites.
    """
    n, k = len(demand_xy_m), len(site_xy_m)
    if n == 0 or k == 0:
        return sparse.csr_array((n, k), dtype=np.float64)
    pairs = cKDTree(demand_xy_m).sparse_distance_matrix(
        cKDTree(site_xy_m), reach_m, output_type="ndarray"
    )
    ones = np.ones(len(pairs), dtype=np.float64)
    matrix = sparse.csr_array((ones, (pairs["i"], pairs["j"])), shape=(n, k))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def reach_counts(demand_xy_m: Floats, station_xy_m: Floats, reach_m: float) -> Ints:
    """How many stations reach each demand point (0 where there are none)."""
    if len(station_xy_m) == 0 or len(demand_xy_m) == 0:
        return np.zeros(len(demand_xy_m), dtype=np.int64)
    indptr = np.asarray(reach_matrix(demand_xy_m, station_xy_m, reach_m).indptr, np.int64)
    return np.diff(indptr)


@dataclass(frozen=True)
class CoverProblem:
    """Demand × candidate reach (CSR, 0/1), weights, existing coverage and candidate costs.

    ``existing[i]`` is the number of open stations already reaching demand point ``i``: they
    are fixed, so a point they reach adds nothing to MCLP and counts once towards backup.
    """

    reach: sparse.csr_array
    weight: Floats
    existing: Ints
    cost: Floats
    by_site: sparse.csc_array = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n, k = self.reach.shape
        if n == 0 or float(np.sum(self.weight)) <= 0:
            raise InvalidInputError("no demand to cover (no points or all weights zero)",
                                    field="demand")  # fmt: skip
        if k == 0:
            raise InvalidInputError("no candidate sites", field="candidates")
        if self.weight.shape != (n,) or self.existing.shape != (n,) or self.cost.shape != (k,):
            raise InvalidInputError("weights, existing counts and costs do not match the matrix")
        if not np.all(np.isfinite(self.weight)) or np.any(self.weight < 0):
            raise InvalidInputError("demand weights must be finite and non-negative",
                                    field="weight")  # fmt: skip
        if not np.all(np.isfinite(self.cost)) or np.any(self.cost <= 0):
            raise InvalidInputError("candidate costs must be finite and positive", field="cost")
        object.__setattr__(self, "by_site", sparse.csc_array(self.reach))

    @property
    def n_demand(self) -> int:
        return int(self.reach.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.reach.shape[1])

    @property
    def total_weight(self) -> float:
        return float(np.sum(self.weight))

    def site_rows(self, site: int) -> Ints:
        """Demand points site ``site`` reaches."""
        start, end = self.by_site.indptr[site], self.by_site.indptr[site + 1]
        return np.asarray(self.by_site.indices[start:end], dtype=np.int64)

    def counts(self, sites: Ints) -> Ints:
        """Existing stations plus chosen sites reaching each demand point."""
        chosen = np.zeros(self.n_sites)
        chosen[np.asarray(sites, dtype=np.int64)] = 1.0
        reached = np.rint(np.asarray(self.reach @ chosen, dtype=np.float64)).astype(np.int64)
        return self.existing + reached

    def covered(self, sites: Ints, need: int = 1, weight: Floats | None = None) -> float:
        """Weight of the points reached at least ``need`` times (existing stations included)."""
        values = self.weight if weight is None else weight
        return float(values @ (self.counts(sites) >= need))

    def active(self, need: int = 1) -> CoverProblem:
        """Only the points that can still change the objective (same sites, same gains).

        Drops points already reached ``need`` times, without weight, or reachable by too few
        candidates: the heuristics then touch a fraction of the rows on city instances.
        """
        sizes = np.diff(np.asarray(self.reach.indptr, dtype=np.int64))
        keep = (self.existing < need) & (sizes >= need - self.existing) & (self.weight > 0)
        if keep.all() or not keep.any():
            return self
        rows = np.flatnonzero(keep)
        return CoverProblem(self.reach[rows], self.weight[rows], self.existing[rows], self.cost)

    def objective(self, sites: Ints, need: int = 1) -> float:
        """What the chosen sites add: weight newly reaching ``need``, over existing alone."""
        return self.covered(sites, need) - self.covered(np.empty(0, np.int64), need)


def build_problem(demand_xy_m: Floats, weight: Floats, site_xy_m: Floats, reach_m: float, *,
                  existing_xy_m: Floats | None = None,
                  cost: Floats | None = None) -> CoverProblem:  # fmt: skip
    """A :class:`CoverProblem` from planar coordinates in metres (any local projection)."""
    if not reach_m > 0:
        raise InvalidInputError("reach must be positive metres", field="reach_m")
    demand_xy_m = np.asarray(demand_xy_m, dtype=np.float64).reshape(-1, 2)
    site_xy_m = np.asarray(site_xy_m, dtype=np.float64).reshape(-1, 2)
    existing = (
        reach_counts(demand_xy_m, np.asarray(existing_xy_m, np.float64).reshape(-1, 2), reach_m)
        if existing_xy_m is not None
        else np.zeros(len(demand_xy_m), dtype=np.int64)
    )
    costs = np.ones(len(site_xy_m)) if cost is None else np.asarray(cost, dtype=np.float64)
    return CoverProblem(reach_matrix(demand_xy_m, site_xy_m, reach_m),
                        np.asarray(weight, dtype=np.float64), existing, costs)  # fmt: skip


def marginal_gains(problem: CoverProblem, ordered_sites: Ints, need: int = 1,
                   weight: Floats | None = None) -> Floats:  # fmt: skip
    """What each site adds in the given order (existing stations first), in ``weight`` units.

    The gains add up to the objective of the whole set; with another weight vector (residents
    only, workers only) they split the same additions by who is reached.
    """
    values = problem.weight if weight is None else weight
    count = problem.existing.copy()
    gains = np.zeros(len(ordered_sites))
    for rank, site in enumerate(np.asarray(ordered_sites, dtype=np.int64)):
        rows = problem.site_rows(int(site))
        gains[rank] = float(values[rows] @ (count[rows] == need - 1))
        count[rows] += 1
    return gains


def rank_by_gain(problem: CoverProblem, sites: Ints, need: int = 1) -> Ints:
    """The chosen sites ordered greedily by marginal gain within the set (ties: lower index).

    So the first proposal is the one to open if only one can be, the second is the best
    addition to it, and so on; each site's gain is stated in that order. For ``need == 1``
    gains only shrink as sites are added, so they are re-evaluated lazily (a priority queue).
    """
    remaining = sorted(int(site) for site in np.asarray(sites, dtype=np.int64).tolist())
    count = problem.existing.copy()
    order: list[int] = []

    def gain(site: int, short: int) -> float:
        rows = problem.site_rows(site)
        return float(problem.weight[rows] @ (count[rows] == need - short))

    if need == 1:
        heap = [(-gain(site, 1), site) for site in remaining]
        heapq.heapify(heap)
        while heap:
            _, site = heapq.heappop(heap)
            fresh = gain(site, 1)
            if heap and (-fresh, site) > heap[0]:
                heapq.heappush(heap, (-fresh, site))
                continue
            order.append(site)
            count[problem.site_rows(site)] += 1
        return np.asarray(order, dtype=np.int64)
    while remaining:
        # A backup site may add nothing alone; then prefer progress towards ``need``.
        best = max(remaining, key=lambda site: (gain(site, 1), gain(site, 2), -site))
        remaining.remove(best)
        order.append(best)
        count[problem.site_rows(best)] += 1
    return np.asarray(order, dtype=np.int64)
