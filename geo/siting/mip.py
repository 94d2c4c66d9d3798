"""Exact siting: the coverage MIPs built row-wise (CSR) straight into HiGHS.

Before the model is built, demand points that cannot change the objective are dropped (already
reached ``need`` times by existing stations, or reachable by too few candidates) and points
with the same residual need and the same candidate set are merged, weights summed. On city
grids neighbouring cells often see the same few candidates, so the MIP shrinks several-fold
without changing its optimum.

Formulation, with ``x_j ∈ {0,1}`` (open candidate ``j``), ``z_a ∈ [0,1]`` (merged point ``a``
counts), ``r_a`` its residual need (``need − existing``) and ``N_a`` the candidates reaching it:

* MCLP (``r_a = 1``) and backup (``r_a ∈ {1, 2}``):
  ``max Σ W_a z_a``  s.t.  ``r_a z_a ≤ Σ_{j∈N_a} x_j``,  ``Σ_j x_j = p``;
  ``z_a`` is continuous where ``r_a = 1`` (it is 1 at an optimum whenever a site reaches ``a``)
  and binary where ``r_a = 2`` (else one site would earn half credit).
* LSCP: ``min Σ c_j x_j``  s.t.  ``z_a ≤ Σ_{j∈N_a} x_j``,  ``Σ W_a z_a ≥ required``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from geo.siting.problem import CoverProblem, Floats, Ints


@dataclass(frozen=True)
class MergedRows:
    """The demand rows that can still change the objective, identical ones merged."""

    reach: sparse.csr_array  # merged rows × candidates
    weight: Floats
    residual: Ints  # sites still needed: 1 or 2


def merge_rows(problem: CoverProblem, need: int) -> MergedRows:
    """Drop rows that cannot change the objective; merge rows with equal need and candidates."""
    reach = problem.reach
    sizes = np.diff(reach.indptr)
    residual = need - problem.existing
    keep = np.flatnonzero((residual > 0) & (sizes >= residual) & (problem.weight > 0))
    groups: dict[tuple[int, bytes], int] = {}
    owner = np.empty(len(keep), dtype=np.int64)
    for position, row in enumerate(keep.tolist()):
        key = (
            int(residual[row]),
            reach.indices[reach.indptr[row] : reach.indptr[row + 1]].tobytes(),
        )
        owner[position] = groups.setdefault(key, len(groups))
    count = len(groups)
    weight = np.bincount(owner, weights=problem.weight[keep], minlength=count).astype(np.float64)
    first = np.full(count, -1, dtype=np.int64)
    first[owner[::-1]] = keep[::-1]  # a representative row of each group
    return MergedRows(reach[first] if count else reach[keep], weight, residual[first])


@dataclass(frozen=True)
class MipOutcome:
    sites: Ints
    objective: float  # as HiGHS reports it, in the model's units
    bound: float
    gap: float  # relative, as HiGHS reports it
    status: str
    time_s: float
    nodes: int
    rows: int  # merged demand rows in the model


def _highs(time_limit_s: float, mip_rel_gap: float, log: bool,
           mip_abs_gap: float | None = None) -> highspy.Highs:  # fmt: skip
    solver = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no stubs
    solver.setOptionValue("output_flag", log)
    solver.setOptionValue("time_limit", float(time_limit_s))
    solver.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    if mip_abs_gap is not None:
        solver.setOptionValue("mip_abs_gap", float(mip_abs_gap))
    solver.setOptionValue("random_seed", 0)
    solver.setOptionValue("threads", 1)  # shared machines; HiGHS's MIP search is serial anyway
    return solver


def _solve(solver: highspy.Highs, matrix: sparse.csr_array, *, cost: Floats, upper: Floats,
           integer: NDArray[np.bool_], row_lower: Floats, row_upper: Floats, maximise: bool,
           n_sites: int, start: Floats | None) -> MipOutcome:  # fmt: skip
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = int(matrix.shape[1]), int(matrix.shape[0])
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(np.float64)
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    lp.integrality_ = [kinds[flag] for flag in integer.tolist()]
    lp.sense_ = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
    began = time.perf_counter()
    solver.passModel(lp)
    if start is not None:
        solver.setSolution(len(start), np.arange(len(start), dtype=np.int32), start)
    solver.run()
    elapsed = time.perf_counter() - began
    info = solver.getInfo()
    values = np.asarray(solver.getSolution().col_value, dtype=np.float64)
    has_solution = info.primal_solution_status == highspy.kSolutionStatusFeasible
    sites = np.flatnonzero(values[:n_sites] > 0.5) if has_solution else np.empty(0, np.int64)
    return MipOutcome(
        sites=sites.astype(np.int64),
        objective=float(info.objective_function_value) if has_solution else float("nan"),
        bound=float(info.mip_dual_bound),
        gap=float(info.mip_gap) if has_solution else float("inf"),
        status=solver.modelStatusToString(solver.getModelStatus()),
        time_s=elapsed,
        nodes=int(info.mip_node_count),
        rows=int(matrix.shape[0]) - 1,
    )


def _start(rows: MergedRows, n_sites: int, sites: Ints | None) -> Floats | None:
    if sites is None:
        return None
    chosen = np.zeros(n_sites)
    chosen[np.asarray(sites, dtype=np.int64)] = 1.0
    reached = rows.reach @ chosen
    return np.concatenate([chosen, (reached >= rows.residual).astype(np.float64)])


def solve_coverage(problem: CoverProblem, p: int, need: int, *, time_limit_s: float,
                   mip_rel_gap: float, warm_start: Ints | None = None, log: bool = False,
                   mip_abs_gap: float | None = None) -> MipOutcome:  # fmt: skip
    """MCLP (``need=1``) or backup coverage (``need=2``) with exactly ``p`` new sites;
    ``mip_abs_gap`` below HiGHS's default when a proof must be exact to the last person."""
    rows = merge_rows(problem, need)
    k, m = problem.n_sites, len(rows.weight)
    links = sparse.hstack([-rows.reach, sparse.diags_array(rows.residual.astype(np.float64))])
    cardinality = sparse.csr_array(np.concatenate([np.ones(k), np.zeros(m)])[None, :])
    matrix = sparse.csr_array(sparse.vstack([links, cardinality], format="csr"))
    matrix.sort_indices()
    integer = np.concatenate([np.ones(k, dtype=bool), rows.residual > 1])
    bounds = np.concatenate([np.full(m, -highspy.kHighsInf), [float(p)]])
    return _solve(_highs(time_limit_s, mip_rel_gap, log, mip_abs_gap), matrix,
                  cost=np.concatenate([np.zeros(k), rows.weight]), upper=np.ones(k + m),
                  integer=integer, row_lower=bounds, row_upper=np.append(np.zeros(m), p),
                  maximise=True, n_sites=k, start=_start(rows, k, warm_start))  # fmt: skip


def solve_cover(problem: CoverProblem, required: float, *, time_limit_s: float,
                mip_rel_gap: float, warm_start: Ints | None = None,
                log: bool = False) -> MipOutcome:  # fmt: skip
    """LSCP as partial cover: cheapest sites newly reaching at least ``required`` weight."""
    rows = merge_rows(problem, 1)
    k, m = problem.n_sites, len(rows.weight)
    links = sparse.hstack([-rows.reach, sparse.eye_array(m)])
    total = sparse.csr_array(np.concatenate([np.zeros(k), rows.weight])[None, :])
    matrix = sparse.csr_array(sparse.vstack([links, total], format="csr"))
    matrix.sort_indices()
    return _solve(_highs(time_limit_s, mip_rel_gap, log), matrix,
                  cost=np.concatenate([problem.cost, np.zeros(m)]), upper=np.ones(k + m),
                  integer=np.concatenate([np.ones(k, dtype=bool), np.zeros(m, dtype=bool)]),
                  row_lower=np.append(np.full(m, -highspy.kHighsInf), required),
                  row_upper=np.append(np.zeros(m), highspy.kHighsInf), maximise=False,
                  n_sites=k, start=_start(rows, k, warm_start))  # fmt: skip


def solve_priced(problem: CoverProblem, price: float, *, time_limit_s: float,
                 mip_rel_gap: float, warm_start: Ints | None = None,
                 log: bool = False) -> MipOutcome:  # fmt: skip
    """MCLP with the budget priced instead of fixed: ``max Σ W_a z_a − price · Σ x_j``.

    The Lagrangian subproblem of a budget shared between independent parts
    (:mod:`geo.national.siting`): any ``price ≥ 0`` turns each part's optimum, or HiGHS's bound
    on it, into a bound on the whole. The cardinality row only caps ``Σ x_j`` at the number
    of candidates, so the merged-row count reads as in the other models.
    """
    rows = merge_rows(problem, 1)
    k, m = problem.n_sites, len(rows.weight)
    links = sparse.hstack([-rows.reach, sparse.eye_array(m)])
    cardinality = sparse.csr_array(np.concatenate([np.ones(k), np.zeros(m)])[None, :])
    matrix = sparse.csr_array(sparse.vstack([links, cardinality], format="csr"))
    matrix.sort_indices()
    return _solve(_highs(time_limit_s, mip_rel_gap, log), matrix,
                  cost=np.concatenate([np.full(k, -float(price)), rows.weight]),
                  upper=np.ones(k + m),
                  integer=np.concatenate([np.ones(k, dtype=bool), np.zeros(m, dtype=bool)]),
                  row_lower=np.full(m + 1, -highspy.kHighsInf),
                  row_upper=np.append(np.zeros(m), float(k)), maximise=True, n_sites=k,
                  start=_start(rows, k, warm_start))  # fmt: skip
