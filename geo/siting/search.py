"""MCLP local search: best-improvement swaps over all (out, in) pairs, then iterated restarts.

The old 1-opt pass (drop one chosen site, add the best outsider) stopped 1.3 % below the optimum
at p = 10 on the 50,000 × 5,000 Beijing instance, and HiGHS's final incumbent was 0.85 % above
it at p = 50; the MIP's reported gap is measured from the incumbent, so a better start lowers
it directly. Here every swap is scored at once from three sparse quantities (Whitaker's fast
interchange, for coverage):

* ``gain[j]`` — weight of the uncovered points outsider ``j`` reaches;
* ``loss[s]`` — weight only chosen site ``s`` covers;
* ``extra[s, j]`` — of that, what ``j`` would keep: points covered once, by ``s``, that ``j``
  also reaches. Nonzero only for overlapping pairs, so it is a sparse ``k × k`` matrix.

``swap(s → j)`` changes the objective by ``gain[j] − loss[s] + extra[s, j]``; one round costs
a few passes over the nonzeros, whatever ``p``. Local optima are then escaped by perturbation
(drop a few overlapping chosen sites, refill greedily, search again), keeping the best, with a
fixed seed so results are reproducible.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import sparse

from geo.siting.problem import Floats, Ints


class CoverSearch:
    """Swap local search on a 0/1 reach matrix (rows: demand, columns: sites) with weights."""

    def __init__(self, reach: sparse.csr_array, weight: Floats) -> None:
        self.reach = sparse.csr_array(reach, dtype=np.float64)
        self.by_site = sparse.csc_array(self.reach)
        self.weight = np.asarray(weight, dtype=np.float64)
        self.n_sites = int(self.reach.shape[1])
        self.tolerance = 1e-9 * max(float(self.weight.sum()), 1.0)
        coo = self.reach.tocoo()
        self._row, self._col = coo.row.astype(np.int64), coo.col.astype(np.int64)

    def value(self, sites: Ints) -> float:
        chosen = np.zeros(self.n_sites)
        chosen[sites] = 1.0
        return float(self.weight @ ((self.reach @ chosen) > 0.5))

    def _rows(self, site: int) -> Ints:
        start, end = self.by_site.indptr[site], self.by_site.indptr[site + 1]
        return np.asarray(self.by_site.indices[start:end], dtype=np.int64)

    def best_swap(self, chosen: np.ndarray, count: Ints) -> tuple[float, int, int]:
        """The best (gain, out, in) exchange; gain ≤ 0 when ``chosen`` is a swap local optimum."""
        gain = self.reach.T @ np.where(count == 0, self.weight, 0.0)
        gain[chosen] = -np.inf
        # A point covered once: the sum of its chosen sites' indices is its only coverer.
        owner = np.rint(self.reach @ np.where(chosen, np.arange(self.n_sites, dtype=float), 0))
        once = count == 1
        loss = np.bincount(owner[once].astype(np.int64), self.weight[once], self.n_sites)
        free = int(np.argmax(gain))
        best_in = np.full(self.n_sites, free, dtype=np.int64)
        best_score = np.full(self.n_sites, gain[free])
        pick = once[self._row] & ~chosen[self._col]
        if pick.any():
            out = owner[self._row[pick]].astype(np.int64)
            inn = self._col[pick]
            extra = sparse.coo_array(
                (self.weight[self._row[pick]], (out, inn)), shape=(self.n_sites, self.n_sites)
            ).tocsr()  # sums the duplicate (out, in) pairs
            rows = np.repeat(np.arange(self.n_sites), np.diff(extra.indptr))
            score = extra.data + gain[extra.indices]
            order = np.lexsort((-score, rows))  # per out-site, its best partner first
            first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]]
            better = score[first] > best_score[rows[first]]
            best_score[rows[first][better]] = score[first][better]
            best_in[rows[first][better]] = extra.indices[first][better]
        delta = np.where(chosen, best_score - loss, -np.inf)
        out_site = int(np.argmax(delta))
        return float(delta[out_site]), out_site, int(best_in[out_site])

    def local_search(self, sites: Ints, max_moves: int = 10_000) -> Ints:
        """Best-improvement swaps until none raises the objective."""
        chosen = np.zeros(self.n_sites, dtype=bool)
        chosen[sites] = True
        count = np.rint(self.reach @ chosen.astype(float)).astype(np.int64)
        for _ in range(max_moves):
            delta, out_site, in_site = self.best_swap(chosen, count)
            if delta <= self.tolerance:
                break
            chosen[out_site], chosen[in_site] = False, True
            count[self._rows(out_site)] -= 1
            count[self._rows(in_site)] += 1
        return np.flatnonzero(chosen).astype(np.int64)

    def refill(self, sites: Ints, p: int, banned: Ints) -> Ints:
        """Greedy additions up to ``p`` sites, not re-adding ``banned`` (the ones just dropped).

        Without the ban the refill mostly restores the dropped sites and the restart is wasted.
        """
        chosen = np.zeros(self.n_sites, dtype=bool)
        chosen[sites] = True
        blocked = chosen.copy()
        blocked[banned] = True
        count = np.rint(self.reach @ chosen.astype(float)).astype(np.int64)
        while chosen.sum() < p:
            gain = self.reach.T @ np.where(count == 0, self.weight, 0.0)
            gain[blocked] = -np.inf
            if np.all(blocked):  # too few sites left outside the ban: allow banned ones
                blocked = chosen.copy()
                continue
            site = int(np.argmax(gain))
            chosen[site] = blocked[site] = True
            count[self._rows(site)] += 1
        return np.flatnonzero(chosen).astype(np.int64)

    def perturb(self, sites: Ints, rng: np.random.Generator, size: int) -> Ints:
        """Drop a random chosen site and up to ``size − 1`` chosen sites sharing points with it.

        Dropping neighbours together lets a crowded area be re-laid out, which no single
        swap can do when each site on its own is needed.
        """
        seed = int(rng.choice(sites))
        near = self.reach[self._rows(seed)]
        touched = np.unique(near.indices) if near.nnz else np.empty(0, np.int64)
        # Chosen sites within two hops of the seed, via shared points.
        second = self.reach[np.unique(self.by_site[:, touched].indices)] if len(touched) else near
        around = np.intersect1d(np.unique(second.indices), sites)
        around = around[around != seed]
        extra = rng.permutation(around)[: size - 1] if len(around) else np.empty(0, np.int64)
        if len(extra) < size - 1:  # an isolated seed: drop random others
            rest = np.setdiff1d(sites, np.r_[seed, extra])
            extra = np.r_[extra, rng.permutation(rest)[: size - 1 - len(extra)]]
        return np.setdiff1d(sites, np.r_[seed, extra]).astype(np.int64)


def iterated_swap(reach: sparse.csr_array, weight: Floats, start: Ints, *, rounds: int,
                  time_limit_s: float = math.inf, stall: int | None = None,
                  seed: int = 0) -> Ints:  # fmt: skip
    """Local search from ``start``, then up to ``rounds`` perturb–refill–search restarts.

    Keeps the best solution seen (an improvement or a tie is accepted as the new centre, so the
    search drifts across plateaus). Stops early at ``time_limit_s`` or after ``stall`` rounds
    without a strict improvement.
    """
    search = CoverSearch(reach, weight)
    p = len(start)
    best = search.local_search(np.asarray(start, dtype=np.int64))
    if p <= 1:
        return best
    best_value = search.value(best)
    rng = np.random.default_rng(seed)
    began = time.perf_counter()
    since = 0
    for _ in range(rounds):
        if time.perf_counter() - began > time_limit_s or (stall is not None and since >= stall):
            break
        since += 1
        size = int(rng.integers(2, min(p, 6) + 1))
        kept = search.perturb(best, rng, size)
        trial = search.local_search(search.refill(kept, p, np.setdiff1d(best, kept)))
        value = search.value(trial)
        if value > best_value:
            since = 0
        if value >= best_value:
            best, best_value = trial, value
    return best
