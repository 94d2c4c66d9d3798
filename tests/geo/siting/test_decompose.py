"""MCLP presolve, decomposition and swap search: each checked against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from geo.siting.decompose import combine, parts, undominated, value_curve
from geo.siting.mclp import solve_mclp_exact
from geo.siting.problem import CoverProblem, build_problem
from geo.siting.search import CoverSearch, iterated_swap
from geo.siting.solve import solve_mclp


def _clustered(seed, clusters=4, sites=14, demand=60):
    """Separate towns 10 km apart, so the reach graph splits into several parts."""
    rng = np.random.default_rng(seed)
    centres = np.column_stack([np.arange(clusters) * 10_000.0, np.zeros(clusters)])
    d = centres[rng.integers(0, clusters, demand)] + rng.normal(0, 700, (demand, 2))
    s = centres[rng.integers(0, clusters, sites)] + rng.normal(0, 700, (sites, 2))
    return d, rng.integers(1, 100, demand).astype(float), s


def _brute(problem, p):
    return max(
        problem.objective(np.asarray(subset))
        for subset in itertools.combinations(range(problem.n_sites), p)
    )


@pytest.mark.parametrize("seed", range(6))
def test_parts_and_dp_equal_brute_force(seed):
    demand, weight, sites = _clustered(seed)
    problem = build_problem(demand, weight, sites, 800.0)
    found = parts(sparse.csr_array(problem.reach))
    assert len(found) >= 2  # the towns are independent
    assert sorted(np.concatenate([part.sites for part in found]).tolist()) == sorted(
        np.flatnonzero(np.diff(problem.by_site.indptr) > 0).tolist()
    )
    for p in (1, 2, 4):
        best = _brute(problem, p)
        outcome = solve_mclp_exact(problem, p, time_limit_s=30, mip_rel_gap=0,
                                   warm_start=np.arange(p))  # fmt: skip
        assert outcome.status == "Optimal" and outcome.nodes == 0  # the DP, no MIP
        assert len(outcome.sites) == p and len(set(outcome.sites.tolist())) == p
        assert outcome.objective == pytest.approx(best)
        assert problem.objective(outcome.sites) == pytest.approx(best)
        assert solve_mclp(problem, p, mip_rel_gap=0).objective == pytest.approx(best)


def test_value_curve_is_exact_and_the_dp_splits_sites_best():
    rng = np.random.default_rng(3)
    cover = rng.random((30, 16)) < 0.2  # 16 sites: k = 5 has 4,368 subsets, k = 8 a MIP
    weight = rng.integers(1, 50, 30).astype(float)
    curve = value_curve(cover, weight, 9)
    for k in range(1, len(curve.values)):
        brute = max(weight @ cover[:, list(s)].any(axis=1)
                    for s in itertools.combinations(range(16), k))  # fmt: skip
        assert curve.values[k] == pytest.approx(brute), k
        assert weight @ cover[:, curve.choice[k]].any(axis=1) == pytest.approx(brute)
        assert len(curve.choice[k]) == k
    # Two curves, 3 sites: 10 + 6 (one and two) beats 11 + 4 (two and one) and 12 (three).
    value, split = combine([np.array([0, 10, 11, 12.0]), np.array([0, 4, 6.0])], 3)
    assert (value, split) == (16.0, [1, 2])
    assert combine([np.array([0, 3.0])], 4) == (3.0, [1])  # fewer sites than p: ≤ p


def test_dominated_sites_are_dropped_without_losing_the_optimum():
    # Site 1 reaches a subset of site 0; site 3 equals site 2 (the higher index goes); 4 nothing.
    reach = sparse.csr_array(np.array([[1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 1, 1, 0],
                                       [1, 1, 1, 1, 0]], dtype=float))  # fmt: skip
    assert undominated(reach, 1).tolist() == [0, 2]
    assert len(undominated(reach, 4)) == 4  # enough left to choose p = 4
    for seed in range(10):
        rng = np.random.default_rng(seed)
        matrix = sparse.csr_array((rng.random((25, 9)) < 0.3).astype(float))
        problem = CoverProblem(matrix, rng.integers(1, 20, 25).astype(float),
                               np.zeros(25, np.int64), np.ones(9))  # fmt: skip
        kept = undominated(matrix, 3)
        reduced = CoverProblem(sparse.csr_array(matrix[:, kept]), problem.weight,
                               problem.existing, np.ones(len(kept)))  # fmt: skip
        assert _brute(reduced, 3) == pytest.approx(_brute(problem, 3)), seed


@pytest.mark.parametrize("seed", range(5))
def test_swap_search_reaches_a_swap_local_optimum_and_never_loses(seed):
    rng = np.random.default_rng(seed)
    matrix = sparse.csr_array((rng.random((80, 20)) < 0.15).astype(float))
    weight = rng.integers(1, 100, 80).astype(float)
    search = CoverSearch(matrix, weight)
    start = np.arange(4)
    local = search.local_search(start)
    value = search.value(local)
    assert value >= search.value(start)
    for out, inn in itertools.product(local.tolist(), range(20)):  # no single swap improves
        if inn not in local:
            assert search.value(np.r_[np.setdiff1d(local, [out]), inn]) <= value + 1e-9
    best = max(weight @ (matrix[:, list(s)].toarray() > 0).any(axis=1)
               for s in itertools.combinations(range(20), 4))  # fmt: skip
    restarted = iterated_swap(matrix, weight, start, rounds=30, seed=seed)
    assert len(set(restarted.tolist())) == 4
    assert value <= search.value(restarted) <= best + 1e-9


@pytest.mark.parametrize("method", ["exact", "heuristic"])
def test_nothing_left_to_cover_gives_p_sites_adding_nothing(method):
    """Existing stations already reach every demand point: nothing to win, but no error."""
    rng = np.random.default_rng(1)
    demand, sites = rng.uniform(0, 1000, (50, 2)), rng.uniform(0, 1000, (20, 2))
    problem = build_problem(demand, np.ones(50), sites, 2000.0,
                            existing_xy_m=np.array([[500.0, 500.0]]))  # fmt: skip
    result = solve_mclp(problem, 3, method=method)
    assert result.objective == 0 and len(result.sites) == 3
