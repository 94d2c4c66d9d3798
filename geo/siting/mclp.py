"""Exact MCLP: merged rows, dominated sites dropped, then a DP over parts or HiGHS.

Steps (each keeps the optimum; see :mod:`geo.siting.decompose`):

1. drop rows that cannot change the objective and merge identical ones (:func:`merge_rows`);
2. drop dominated sites, keeping at least ``p``, and merge rows that became identical;
3. split into connected parts; if none has more than ``SMALL_PART`` sites, each gets its exact
   value curve and a max-plus DP gives the proven optimum without any MIP;
4. otherwise HiGHS solves the reduced covering model, warm-started from the heuristic.

Tried and dropped for step 4: small parts as a multiple choice of exact curve values inside the
MIP. Its LP bound is tighter only by 0.03 % on the Beijing bench (the gap sits in the one part
of 3,271 sites) and HiGHS took longer to reach 1 % (218 s against 168 s at p = 50).
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from geo.siting.decompose import Curve, Part, combine, parts, undominated, value_curve
from geo.siting.mip import MipOutcome, merge_rows, solve_coverage
from geo.siting.problem import CoverProblem, Floats, Ints

SMALL_PART = 120  # sites per part solved by curves; Beijing's bench: one of 3,271, then ≤ 51


def _reduce(problem: CoverProblem, p: int) -> tuple[sparse.csr_array, Floats, Ints] | None:
    """Merged rows × undominated sites (``sites`` maps columns back to the problem's);
    ``None`` when no row is left to cover."""
    merged = merge_rows(problem, 1)
    if len(merged.weight) == 0:
        return None
    sites = undominated(merged.reach, p)
    reach = sparse.csr_array(merged.reach[:, sites])
    again = merge_rows(
        CoverProblem(reach, merged.weight, np.zeros(len(merged.weight), np.int64),
                     np.ones(len(sites))), 1)  # fmt: skip
    return sparse.csr_array(again.reach), again.weight, sites


def _pad(problem: CoverProblem, chosen: Ints, p: int) -> Ints:
    """Up to ``p`` sites: the best additions by marginal gain (the objective never falls)."""
    chosen = np.unique(np.asarray(chosen, dtype=np.int64))
    count = problem.counts(chosen)
    while len(chosen) < p:
        gains = problem.reach.T @ np.where(count == 0, problem.weight, 0.0)
        gains[chosen] = -np.inf
        site = int(np.argmax(gains))
        chosen = np.sort(np.r_[chosen, site])
        count[problem.site_rows(site)] += 1
    return chosen


def _curves(reach: sparse.csr_array, weight: Floats, every: list[Part], p: int) -> list[Curve]:
    return [
        value_curve(reach[part.rows][:, part.sites].toarray() > 0, weight[part.rows], p)
        for part in every
    ]


def solve_mclp_exact(problem: CoverProblem, p: int, *, time_limit_s: float, mip_rel_gap: float,
                     warm_start: Ints, log: bool = False) -> MipOutcome:  # fmt: skip
    """MCLP with exactly ``p`` sites, proven optimal or with HiGHS's proven bound."""
    began = time.perf_counter()
    reduced_problem = _reduce(problem, p)
    if reduced_problem is None:  # nothing left to win: existing stations reach all they can
        sites = _pad(problem, np.asarray(warm_start, dtype=np.int64), p)
        return MipOutcome(sites=sites, objective=problem.objective(sites), bound=0.0, gap=0.0,
                          status="Optimal", time_s=time.perf_counter() - began, nodes=0,
                          rows=0)  # fmt: skip
    reach, weight, kept = reduced_problem
    every = parts(reach)
    if len(every[0].sites) <= SMALL_PART:
        curves = _curves(reach, weight, every, p)
        bound, ks = combine([curve.values for curve in curves], p)
        local = np.concatenate([np.empty(0, np.int64)] + [
            part.sites[curve.choice[k]] for part, curve, k in zip(every, curves, ks, strict=True)
        ])  # fmt: skip
        sites = _pad(problem, kept[local], p)
        value = problem.objective(sites)
        return MipOutcome(sites=sites, objective=value, bound=max(bound, value), gap=0.0,
                          status="Optimal", time_s=time.perf_counter() - began, nodes=0,
                          rows=len(weight))  # fmt: skip
    position = np.full(problem.n_sites, -1, dtype=np.int64)
    position[kept] = np.arange(len(kept))
    start = position[np.asarray(warm_start, dtype=np.int64)]
    reduced = CoverProblem(reach, weight, np.zeros(len(weight), np.int64), np.ones(len(kept)))
    start = _pad(reduced, start[start >= 0], p)  # a dropped dominated site replaced greedily
    left = max(time_limit_s - (time.perf_counter() - began), 1.0)
    outcome = solve_coverage(reduced, p, 1, time_limit_s=left, mip_rel_gap=mip_rel_gap,
                             warm_start=start, log=log)  # fmt: skip
    local = outcome.sites if len(outcome.sites) == p else start
    sites = _pad(problem, kept[local], p)
    value = problem.objective(sites)
    bound = max(outcome.bound, value)
    return MipOutcome(sites=sites, objective=value, bound=bound,
                      gap=(bound - value) / max(abs(value), 1e-12), status=outcome.status,
                      time_s=time.perf_counter() - began, nodes=outcome.nodes,
                      rows=outcome.rows)  # fmt: skip
