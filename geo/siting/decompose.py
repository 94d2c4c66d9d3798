"""MCLP presolve and decomposition: dominated sites, connected components, exact value curves.

Why: at 1 km the 50,000 × 5,000 Beijing instance splits into ~700 independent parts (sites
sharing no demand point); all but one have at most ~50 sites. The MCLP objective is a sum over
parts, so each part ``c`` can be solved exactly for every number of sites ``k`` it might get
(its *value curve* ``f_c(k)``) and the parts combined by a max-plus DP: exact, and on
instances without one giant part (a district, a smaller radius) far faster than one MIP.

Dominated sites (reaching a subset of what another site reaches) are dropped first: any
solution using one can swap it for its dominator, or for any unused site if that is chosen
already, without losing weight. Costs play no part in MCLP, so this is exact.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from geo.siting.mip import solve_coverage
from geo.siting.problem import CoverProblem, Floats, Ints

BRUTE_FORCE_SUBSETS = 5_000  # enumerate a part's k-subsets up to this many, else a small MIP


def undominated(reach: sparse.csr_array, keep_at_least: int) -> Ints:
    """Sites whose reached rows are not a subset of another site's (ties: lower index kept).

    Sites reaching nothing count as dominated. At least ``keep_at_least`` sites are returned
    (dominated ones are added back, largest first) so that ``p`` sites can still be chosen.
    """
    by_site = sparse.csc_array(reach, dtype=np.float64)
    size = np.diff(by_site.indptr)
    overlap = (by_site.T @ by_site).tocoo()
    a, b, shared = overlap.row, overlap.col, np.rint(overlap.data)
    # a ⊆ b: all of a's rows are shared; equal sets: the higher index is the dominated one.
    inside = (a != b) & (shared == size[a]) & ((size[b] > size[a]) | (b < a))
    dominated = np.zeros(reach.shape[1], dtype=bool)
    dominated[a[inside]] = True
    dominated[size == 0] = True
    kept = np.flatnonzero(~dominated)
    if len(kept) < keep_at_least:
        spare = np.flatnonzero(dominated)
        spare = spare[np.argsort(-size[spare], kind="stable")][: keep_at_least - len(kept)]
        kept = np.sort(np.r_[kept, spare])
    return kept.astype(np.int64)


@dataclass(frozen=True)
class Part:
    """One connected component: its sites and rows (indices into the reduced problem)."""

    sites: Ints
    rows: Ints


def parts(reach: sparse.csr_array) -> list[Part]:
    """Connected components of the site–row graph, largest (by sites) first.

    Sites reaching nothing and rows no site reaches belong to no part.
    """
    n_rows = int(reach.shape[0])
    graph = sparse.bmat([[None, reach], [reach.T, None]], format="csr")
    _, label = connected_components(graph, directed=False)
    row_label, site_label = label[:n_rows], label[n_rows:]
    sizes = np.diff(np.asarray(reach.indptr))
    reaches = np.diff(np.asarray(sparse.csc_array(reach).indptr)) > 0
    found: dict[int, tuple[list[int], list[int]]] = {}
    for site, lab in enumerate(site_label.tolist()):
        if reaches[site]:
            found.setdefault(lab, ([], []))[0].append(site)
    for row, lab in enumerate(row_label.tolist()):
        if sizes[row] > 0:
            found.setdefault(lab, ([], []))[1].append(row)
    result = [
        Part(np.asarray(s, dtype=np.int64), np.asarray(r, dtype=np.int64))
        for s, r in found.values()
    ]
    return sorted(result, key=lambda part: (-len(part.sites), int(part.sites[0])))


@dataclass(frozen=True)
class Curve:
    """``values[k]``: the best weight ``k`` of the part's sites reach; ``choice[k]`` the sites."""

    values: Floats
    choice: list[Ints]


def _best_subset(cover: np.ndarray, weight: Floats, k: int) -> tuple[float, Ints]:
    best, best_set = -1.0, np.empty(0, np.int64)
    for subset in itertools.combinations(range(cover.shape[1]), k):
        value = float(weight @ cover[:, subset].any(axis=1))
        if value > best:
            best, best_set = value, np.asarray(subset, dtype=np.int64)
    return best, best_set


def _mip_subset(cover: np.ndarray, weight: Floats, k: int, start: Ints) -> tuple[float, Ints]:
    """Exact best ``k`` columns of a small dense 0/1 matrix (the MCLP model, proven optimal)."""
    problem = CoverProblem(sparse.csr_array(cover.astype(float)), weight,
                           np.zeros(len(weight), np.int64), np.ones(cover.shape[1]))  # fmt: skip
    outcome = solve_coverage(problem, k, 1, time_limit_s=math.inf, mip_rel_gap=0.0,
                             mip_abs_gap=1e-9, warm_start=start)  # fmt: skip
    if outcome.status != "Optimal":
        raise RuntimeError("a small part's MIP was not solved to optimality")
    return float(weight @ cover[:, outcome.sites].any(axis=1)), outcome.sites


def value_curve(cover: np.ndarray, weight: Floats, k_max: int) -> Curve:
    """Exact ``f(k)`` for ``k = 0 … k_max``, stopping once every coverable point is reached.

    Brute force where there are few subsets, else a HiGHS MIP per ``k`` started from the
    previous optimum plus the best addition (so a proof, not a guess, at every ``k``).
    """
    n = cover.shape[1]
    total = float(weight @ cover.any(axis=1))
    values, choice = [0.0], [np.empty(0, np.int64)]
    for k in range(1, min(k_max, n) + 1):
        if math.comb(n, k) <= BRUTE_FORCE_SUBSETS:
            value, chosen = _best_subset(cover, weight, k)
        else:
            previous = choice[-1]
            open_rows = ~cover[:, previous].any(axis=1)
            gains = (weight * open_rows) @ cover
            gains[previous] = -1.0
            value, chosen = _mip_subset(cover, weight, k, np.r_[previous, np.argmax(gains)])
        values.append(value)
        choice.append(chosen)
        if value >= total - 1e-9 * max(total, 1.0):
            break
    return Curve(np.asarray(values, dtype=np.float64), choice)


def combine(curves: list[Floats], p: int) -> tuple[float, list[int]]:
    """Max-plus DP: the best ``Σ_c f_c(k_c)`` with ``Σ k_c ≤ p``, and each part's ``k_c``.

    Curves are non-decreasing, so ``≤ p`` loses nothing; unused sites can be opened anywhere.
    """
    best = np.zeros(p + 1)
    picks: list[np.ndarray] = []
    for values in curves:
        take = np.zeros(p + 1, dtype=np.int64)
        new = best.copy()
        for k in range(1, min(len(values) - 1, p) + 1):
            shifted = np.full(p + 1, -np.inf)
            shifted[k:] = best[: p + 1 - k] + values[k]
            better = shifted > new
            new[better], take[better] = shifted[better], k
        best = new
        picks.append(take)
    budget, allocation = p, [0] * len(curves)
    for index in range(len(curves) - 1, -1, -1):
        allocation[index] = int(picks[index][budget])
        budget -= allocation[index]
    return float(best[p]), allocation
