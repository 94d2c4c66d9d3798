"""Solve the siting models on a :class:`~geo.siting.problem.CoverProblem`: exact or heuristic.

* **MCLP** — ``p`` new sites maximising the weight newly within reach (existing stations fixed).
* **LSCP** — the fewest (or cheapest, with costs) new sites bringing the share within reach to a
  target; an unreachable target is refused with the best share possible.
* **Backup** — ``p`` new sites maximising the weight newly reached at least twice, existing
  stations counting (a point one station already reaches needs one more).

``method="exact"`` runs the heuristic first and hands it to HiGHS as a warm start, so even a
solve stopped by the time limit returns a solution at least that good, with HiGHS's bound and
gap. ``method="heuristic"`` stops after the heuristic (lazy greedy, then for MCLP a swap search
with restarts, :mod:`geo.siting.search`, and for backup 1-opt swaps); for MCLP it still reports
a valid bound from submodularity.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Literal

import highspy
import numpy as np

from geo.errors import InvalidInputError
from geo.siting.greedy import greedy, greedy_bound, greedy_cover, swap
from geo.siting.mclp import solve_mclp_exact
from geo.siting.mip import MipOutcome, solve_cover, solve_coverage
from geo.siting.problem import CoverProblem, Floats, Ints, marginal_gains, rank_by_gain
from geo.siting.search import iterated_swap

Model = Literal["mclp", "lscp", "backup"]
Method = Literal["exact", "heuristic"]
NEED: dict[str, int] = {"mclp": 1, "lscp": 1, "backup": 2}
# MCLP swap search restarts: a few for an instant answer; more for the MIP's warm start, whose
# quality is the reported gap's numerator. Both stop after WARM_START_STALL fruitless rounds or
# 10 % of the time limit.
HEURISTIC_ROUNDS = 2
WARM_START_ROUNDS = 400
WARM_START_STALL = 60
HIGHS_VERSION = ".".join(
    str(part)
    for part in (
        highspy.HIGHS_VERSION_MAJOR,
        highspy.HIGHS_VERSION_MINOR,
        highspy.HIGHS_VERSION_PATCH,
    )
)


@dataclass(frozen=True)
class Solution:
    """Chosen sites (ranked by marginal gain) and how they were found.

    ``added`` is the weight the sites newly bring to ``need`` (within reach for MCLP and
    LSCP, reached twice for backup); ``gains`` splits it per site in rank order. ``objective``,
    ``bound`` and ``gap`` are in the model's own terms: weight for MCLP and backup, total
    cost (number of sites without costs) for LSCP.
    """

    model: str
    sites: Ints
    gains: Floats
    added: float
    objective: float
    bound: float
    gap: float
    status: str
    solver: str
    time_s: float
    heuristic_objective: float
    heuristic_time_s: float
    model_rows: int = 0  # demand rows in the MIP after merging; 0 for the heuristic


def _check_p(problem: CoverProblem, p: int) -> None:
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p <= 0:
        raise InvalidInputError(f"p must be a positive whole number of sites, not {p!r}",
                                field="p")  # fmt: skip
    if p > problem.n_sites:
        raise InvalidInputError(f"p = {p} is more than the {problem.n_sites} candidate sites",
                                field="p")  # fmt: skip


def _check_solver(method: str, time_limit_s: float, mip_rel_gap: float) -> None:
    if method not in ("exact", "heuristic"):
        raise InvalidInputError("method must be 'exact' or 'heuristic'", field="method")
    if not time_limit_s > 0 or not 0 <= mip_rel_gap < 1:
        raise InvalidInputError("time limit must be positive and the gap in [0, 1)")


def _finish(
    problem: CoverProblem, model: str, sites: Ints, need: int, **report: object
) -> Solution:
    ranked = rank_by_gain(problem, sites, need)
    gains = marginal_gains(problem, ranked, need)
    return Solution(model=model, sites=ranked, gains=gains, added=float(gains.sum()),
                    **report)  # type: ignore[arg-type]  # fmt: skip


def _exact_report(outcome: MipOutcome, fallback: Ints, objective: float,
                  start: str = "greedy + swap") -> dict[str, object]:  # fmt: skip
    """HiGHS's figures; when it found nothing better than the warm start, that is kept."""
    return {"objective": objective, "bound": outcome.bound, "gap": outcome.gap,
            "status": outcome.status if len(outcome.sites) or not len(fallback)
            else f"{outcome.status} (warm start kept)",
            "solver": f"HiGHS {HIGHS_VERSION} MIP, warm start from {start}",
            "time_s": outcome.time_s, "model_rows": outcome.rows}  # fmt: skip


def _coverage(problem: CoverProblem, model: str, p: int, method: str, time_limit_s: float,
              mip_rel_gap: float, log: bool) -> Solution:  # fmt: skip
    _check_p(problem, p)
    _check_solver(method, time_limit_s, mip_rel_gap)
    need = NEED[model]
    began = time.perf_counter()
    active = problem.active(need)
    if need == 1:
        rounds = HEURISTIC_ROUNDS if method == "heuristic" else WARM_START_ROUNDS
        heuristic = iterated_swap(active.reach, active.weight, greedy(active, p),
                                  rounds=rounds, stall=WARM_START_STALL,
                                  time_limit_s=0.1 * time_limit_s)  # fmt: skip
        name = f"lazy greedy + swap search, {rounds} restarts at most"
    else:
        heuristic = swap(active, greedy(active, p, need), need)
        name = "lazy greedy + 1-opt swap"
    heuristic_s = time.perf_counter() - began
    heuristic_value = problem.objective(heuristic, need)
    if method == "heuristic":
        bound = greedy_bound(problem, heuristic, p) if need == 1 else math.nan
        gap = (bound - heuristic_value) / max(abs(heuristic_value), 1e-12)
        return _finish(problem, model, heuristic, need, objective=heuristic_value, bound=bound,
                       gap=gap, status="heuristic (no optimality proof)", solver=name,
                       time_s=heuristic_s, heuristic_objective=heuristic_value,
                       heuristic_time_s=heuristic_s)  # fmt: skip
    solve = solve_mclp_exact if need == 1 else partial(solve_coverage, need=need)
    outcome = solve(problem, p, time_limit_s=max(time_limit_s - heuristic_s, 1.0),
                    mip_rel_gap=mip_rel_gap, warm_start=heuristic, log=log)  # fmt: skip
    sites = outcome.sites if len(outcome.sites) == p else heuristic
    value = problem.objective(sites, need)
    if value < heuristic_value:  # never return worse than the warm start
        sites, value = heuristic, heuristic_value
    return _finish(problem, model, sites, need, **_exact_report(outcome, heuristic, value),
                   heuristic_objective=heuristic_value, heuristic_time_s=heuristic_s)  # fmt: skip


def solve_mclp(problem: CoverProblem, p: int, *, method: Method = "exact",
               time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4,
               log: bool = False) -> Solution:  # fmt: skip
    """Maximal covering: ``p`` new sites maximising the weight newly within reach."""
    return _coverage(problem, "mclp", p, method, time_limit_s, mip_rel_gap, log)


def solve_backup(problem: CoverProblem, p: int, *, method: Method = "exact",
                 time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4,
                 log: bool = False) -> Solution:  # fmt: skip
    """Backup coverage: ``p`` new sites maximising the weight newly reached at least twice."""
    return _coverage(problem, "backup", p, method, time_limit_s, mip_rel_gap, log)


def solve_lscp(problem: CoverProblem, target_share: float, *, method: Method = "exact",
               time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4,
               log: bool = False) -> Solution:  # fmt: skip
    """Set covering: the cheapest new sites putting ``target_share`` of all weight within reach.

    The share is of *all* demand weight, including points no candidate reaches. Costs are
    ``problem.cost`` (1 each: the fewest sites). A target already met needs no site; one
    beyond what every candidate together reaches is refused, saying how far one can get.
    """
    if not isinstance(target_share, float | int) or not 0 < target_share <= 1:
        raise InvalidInputError(f"target share must be in (0, 1], not {target_share!r}",
                                field="target_share")  # fmt: skip
    _check_solver(method, time_limit_s, mip_rel_gap)
    total = problem.total_weight
    already = problem.covered(np.empty(0, np.int64))
    everything = problem.covered(np.arange(problem.n_sites))
    slack = 1e-9 * total
    if target_share * total > everything + slack:
        raise InvalidInputError(
            f"a {target_share:.1%} share within reach cannot be reached: existing stations "
            f"and all {problem.n_sites} candidate sites together reach {everything / total:.1%}",
            field="target_share",
        )
    required = max(target_share * total - already - slack, 0.0)
    began = time.perf_counter()
    heuristic = greedy_cover(problem, required) if required > 0 else np.empty(0, np.int64)
    heuristic_s = time.perf_counter() - began
    heuristic_cost = float(problem.cost[heuristic].sum())
    if required == 0:
        return _finish(problem, "lscp", heuristic, 1, objective=0.0, bound=0.0, gap=0.0,
                       status="target already met by existing stations", solver="none needed",
                       time_s=heuristic_s, heuristic_objective=0.0,
                       heuristic_time_s=heuristic_s)  # fmt: skip
    if method == "heuristic":
        return _finish(problem, "lscp", heuristic, 1, objective=heuristic_cost, bound=math.nan,
                       gap=math.nan, status="heuristic (no optimality proof)",
                       solver="lazy greedy on gain per cost + redundancy removal",
                       time_s=heuristic_s, heuristic_objective=heuristic_cost,
                       heuristic_time_s=heuristic_s)  # fmt: skip
    outcome = solve_cover(problem, required, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap,
                          warm_start=heuristic, log=log)  # fmt: skip
    sites = outcome.sites
    reached = problem.objective(sites) if len(sites) else -1.0
    if reached < required or float(problem.cost[sites].sum()) > heuristic_cost:
        sites = heuristic
    cost = float(problem.cost[sites].sum())
    return _finish(problem, "lscp", sites, 1,
                   **_exact_report(outcome, heuristic, cost, "greedy cover"),
                   heuristic_objective=heuristic_cost, heuristic_time_s=heuristic_s)  # fmt: skip
