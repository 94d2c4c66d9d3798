"""Heuristics: lazy greedy, then 1-opt swaps (MCLP's deeper search is geo.siting.search).

Plain greedy is 1–3 % off the optimum on city instances: the first picks grab dense spots and
later ones overlap them. A swap pass (drop one chosen site, add the best outsider, keep the
change if the total rises) removes most of that. Each swap evaluation is one sparse product
``Rᵀ·v`` over all candidates at once, so a pass costs about ``p`` matrix-vector products.
"""

from __future__ import annotations

import heapq

import numpy as np

from geo.siting.problem import CoverProblem, Floats, Ints


def _short_by_one(problem: CoverProblem, count: Ints, need: int) -> Floats:
    """Weight of the points one site short of ``need``: what adding a site over them gains."""
    return np.where(count == need - 1, problem.weight, 0.0)


def greedy(problem: CoverProblem, p: int, need: int = 1) -> Ints:
    """``p`` sites picked one by one, each adding the most weight reaching ``need``.

    For ``need == 1`` the gain is submodular (a site never gains more later), so gains are
    re-evaluated lazily from a priority queue (CELF): usually only the top few are recomputed.
    For ``need == 2`` it is not; each step recomputes all gains and breaks ties (and zero
    gains, common before a second site is near) by half credit for points one short of two.
    """
    count = problem.existing.copy()
    chosen: list[int] = []
    if need == 1:
        gains = problem.reach.T @ _short_by_one(problem, count, need)
        heap = [(-float(gain), site) for site, gain in enumerate(gains)]
        heapq.heapify(heap)
        while len(chosen) < p and heap:
            _, site = heapq.heappop(heap)
            rows = problem.site_rows(site)
            fresh = float(problem.weight[rows] @ (count[rows] == need - 1))
            if not heap or fresh >= -heap[0][0] - 1e-9:
                chosen.append(site)
                count[rows] += 1
            else:
                heapq.heappush(heap, (-fresh, site))
        return np.asarray(chosen, dtype=np.int64)
    taken = np.zeros(problem.n_sites, dtype=bool)
    for _ in range(p):
        score = problem.reach.T @ _short_by_one(problem, count, need)
        score = score + 0.5 * (problem.reach.T @ _short_by_one(problem, count, need - 1))
        score[taken] = -np.inf
        site = int(np.argmax(score))
        taken[site] = True
        chosen.append(site)
        count[problem.site_rows(site)] += 1
    return np.asarray(chosen, dtype=np.int64)


def swap(problem: CoverProblem, sites: Ints, need: int = 1, max_passes: int = 20) -> Ints:
    """1-opt interchange: replace a chosen site by an outsider while that raises the objective.

    Each step drops site ``s`` (losing the points that fall below ``need``) and finds the
    outsider gaining most over the remaining sites with one product ``Rᵀ·v``; first improvement
    per chosen site, passes until none improves (at most ``max_passes``).
    """
    chosen = np.asarray(sites, dtype=np.int64).copy()
    taken = np.zeros(problem.n_sites, dtype=bool)
    taken[chosen] = True
    count = problem.counts(chosen)
    tolerance = 1e-9 * max(problem.total_weight, 1.0)
    for _ in range(max_passes):
        improved = False
        for position in range(len(chosen)):
            dropped = int(chosen[position])
            rows = problem.site_rows(dropped)
            count[rows] -= 1
            loss = float(problem.weight[rows] @ (count[rows] == need - 1))
            gains = problem.reach.T @ _short_by_one(problem, count, need)
            gains[taken] = -np.inf
            best = int(np.argmax(gains))
            if gains[best] > loss + tolerance:
                taken[dropped], taken[best] = False, True
                chosen[position] = best
                count[problem.site_rows(best)] += 1
                improved = True
            else:
                count[rows] += 1
        if not improved:
            break
    return chosen


def greedy_bound(problem: CoverProblem, sites: Ints, p: int) -> float:
    """An upper bound on the MCLP optimum from a solution: ``f(S) + Σ top-p gains over S``.

    Valid because coverage is monotone submodular: every optimal site adds at most its gain
    over ``S``. It gives the heuristic an honest gap without solving the MIP.
    """
    count = problem.counts(sites)
    gains = problem.reach.T @ _short_by_one(problem, count, 1)
    gains[np.asarray(sites, dtype=np.int64)] = 0.0
    top = np.sort(gains)[::-1][:p]
    return problem.objective(sites) + float(np.sum(top))


def greedy_cover(problem: CoverProblem, required: float) -> Ints:
    """Fewest / cheapest sites (greedy on gain per cost) newly covering ``required`` weight.

    Then drops sites that became redundant, most expensive first. The caller has checked that
    all candidates together reach ``required``.
    """
    count = problem.existing.copy()
    chosen: list[int] = []
    gained = 0.0
    ratio = (problem.reach.T @ _short_by_one(problem, count, 1)) / problem.cost
    heap = [(-float(value), site) for site, value in enumerate(ratio)]
    heapq.heapify(heap)
    tolerance = 1e-9 * max(problem.total_weight, 1.0)
    while gained < required - tolerance and heap:
        _, site = heapq.heappop(heap)
        rows = problem.site_rows(site)
        fresh = float(problem.weight[rows] @ (count[rows] == 0)) / problem.cost[site]
        if not heap or fresh >= -heap[0][0] - 1e-12:
            chosen.append(site)
            count[rows] += 1
            gained += fresh * problem.cost[site]
        else:
            heapq.heappush(heap, (-fresh, site))
    for site in sorted(chosen, key=lambda s: -problem.cost[s]):
        rows = problem.site_rows(site)
        loss = float(problem.weight[rows] @ (count[rows] == 1))
        if gained - loss >= required - tolerance:
            count[rows] -= 1
            gained -= loss
            chosen.remove(site)
    return np.asarray(chosen, dtype=np.int64)
