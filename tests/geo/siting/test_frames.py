"""Siting: brute force on tiny instances, spopt on 50 seeded ones, 卢沟桥 on the bundled data."""

from __future__ import annotations

import itertools

import geopandas
import numpy as np
import pulp
import pytest
from shapely import Point, box
from spopt.locate import MCLP

from geo.config import PROJECT_ROOT
from geo.coverage.analysis import analyse
from geo.errors import InvalidInputError
from geo.siting.frames import evaluate_sites, prepare, site
from geo.siting.problem import build_problem
from geo.siting.solve import solve_backup, solve_lscp, solve_mclp

DATA = PROJECT_ROOT / "data"
FENGTAI = "110106000000"
LUGOUQIAO = "110106017000"


def _instance(seed, demand=40, sites=10, existing=2, extent_m=3000.0):
    rng = np.random.default_rng(seed)
    demand_xy = rng.uniform(0, extent_m, (demand, 2))
    weight = rng.integers(1, 100, demand).astype(float)
    return (
        demand_xy,
        weight,
        rng.uniform(0, extent_m, (sites, 2)),
        rng.uniform(0, extent_m, (existing, 2)),
    )


def _dense_reach(a, b, reach_m):
    """Independent of the KD-tree: every pair's distance."""
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2) <= reach_m


def test_three_points_two_sites_by_hand():
    """Points at x = 0, 900, 3000 m; sites at 0 and 2500 m; an existing station at -500 m."""
    demand = np.array([[0.0, 0.0], [900.0, 0.0], [3000.0, 0.0]])
    problem = build_problem(demand, np.array([10.0, 20.0, 30.0]),
                            np.array([[0.0, 0.0], [2500.0, 0.0]]), 1000.0,
                            existing_xy_m=np.array([[-500.0, 0.0]]))  # fmt: skip
    assert problem.existing.tolist() == [1, 0, 0]
    assert problem.reach.toarray().tolist() == [[1, 0], [1, 0], [0, 1]]
    one = solve_mclp(problem, 1, mip_rel_gap=0)
    assert one.sites.tolist() == [1] and one.objective == 30  # site 0 would add only 20
    both = solve_mclp(problem, 2, mip_rel_gap=0)
    assert both.sites.tolist() == [1, 0] and both.gains.tolist() == [30, 20]
    # Twice: point 0 has the existing station, so site 0 makes it count (10); nothing else can.
    assert solve_backup(problem, 2, mip_rel_gap=0).objective == 10
    # 90 % of 60 needs everything: 10 is covered already, both sites bring the other 50.
    assert len(solve_lscp(problem, 0.9, mip_rel_gap=0).sites) == 2
    # 60 % (36) needs 26 more: only site 1 (30) does it alone; site 0 brings 20.
    assert solve_lscp(problem, 0.6, mip_rel_gap=0).sites.tolist() == [1]


@pytest.mark.parametrize("seed", range(8))
def test_tiny_instances_match_brute_force(seed):
    demand, weight, sites, existing = _instance(seed)
    reach_m = 700.0 + 50 * seed
    problem = build_problem(demand, weight, sites, reach_m, existing_xy_m=existing,
                            cost=np.arange(1.0, 11.0))  # fmt: skip
    covers = _dense_reach(demand, sites, reach_m).astype(int)
    before = _dense_reach(demand, existing, reach_m).sum(axis=1)

    def added(subset, need):
        count = before + covers[:, list(subset)].sum(axis=1)
        return weight @ (count >= need) - weight @ (before >= need)

    for p in (1, 3):
        subsets = list(itertools.combinations(range(10), p))
        for need, solve in ((1, solve_mclp), (2, solve_backup)):
            best = max(added(s, need) for s in subsets)
            exact = solve(problem, p, mip_rel_gap=0)
            assert exact.objective == pytest.approx(best, rel=1e-9), (p, need)
            assert added(exact.sites, need) == pytest.approx(best, rel=1e-9)
            assert exact.added == pytest.approx(best) and exact.gains.sum() == pytest.approx(best)
            assert solve(problem, p, method="heuristic").objective <= best + 1e-9

    # LSCP with costs 1..10: the cheapest subset bringing the covered share to the target.
    total, already = weight.sum(), weight @ (before >= 1)
    reachable = weight @ ((before + covers.sum(axis=1)) >= 1)
    target = round(already / total + 0.6 * (reachable - already) / total, 3)
    cheapest = min(sum(range(1, 11)[j] for j in s) for p in range(11)
                   for s in itertools.combinations(range(10), p)
                   if weight @ ((before + covers[:, list(s)].sum(axis=1)) >= 1)
                   >= target * total - 1e-9)  # fmt: skip
    cover = solve_lscp(problem, target, mip_rel_gap=0)
    assert cover.objective == pytest.approx(cheapest)
    assert problem.covered(cover.sites) >= target * total - 1e-6
    assert solve_lscp(problem, target, method="heuristic").objective >= cheapest


def _spopt_objective(demand, weight, sites, existing, reach_m, p):
    """spopt's MCLP with the existing stations as predefined facilities, solved by CBC."""
    cost = np.linalg.norm(demand[:, None] - np.vstack([sites, existing])[None], axis=2)
    predefined = np.r_[np.zeros(len(sites)), np.ones(len(existing))].astype(int)
    model = MCLP.from_cost_matrix(cost, weight, reach_m, p_facilities=p + len(existing),
                                  predefined_facilities_arr=predefined)  # fmt: skip
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    return model.problem.objective.value()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pulp 3.3 on spopt's own calls
def test_exact_matches_spopt_and_the_heuristic_stays_close_on_50_seeded_instances():
    gaps = []
    for seed in range(50):
        rng = np.random.default_rng(1000 + seed)
        demand, weight, sites, existing = _instance(1000 + seed, demand=120, sites=40,
                                                    existing=3, extent_m=5000.0)  # fmt: skip
        reach_m, p = float(rng.uniform(500, 1200)), int(rng.integers(1, 8))
        problem = build_problem(demand, weight, sites, reach_m, existing_xy_m=existing)
        exact = solve_mclp(problem, p, mip_rel_gap=0)
        already = problem.covered(np.empty(0, np.int64))
        reference = _spopt_objective(demand, weight, sites, existing, reach_m, p)
        assert exact.objective + already == pytest.approx(reference, rel=1e-6), seed
        assert exact.status == "Optimal" and exact.gap <= 1e-9
        heuristic = solve_mclp(problem, p, method="heuristic")
        assert heuristic.objective <= exact.objective + 1e-9, seed
        assert heuristic.bound >= exact.objective - 1e-9, seed  # its bound is a true bound
        gaps.append((exact.objective - heuristic.objective) / exact.objective)
    # Stated tolerance on these small instances (1-7 sites of 40): greedy + swap within 5 % on
    # every one and 0.5 % on average (here: 4.3 % worst, 0.4 % mean, most exactly optimal).
    assert max(gaps) <= 0.05 and np.mean(gaps) <= 0.005, (max(gaps), np.mean(gaps))


def test_an_unreachable_target_is_refused_with_the_best_share():
    demand = np.array([[0.0, 0.0], [5000.0, 0.0]])
    problem = build_problem(demand, np.array([3.0, 1.0]), np.array([[0.0, 0.0]]), 1000.0)
    with pytest.raises(InvalidInputError, match=r"together reach 75\.0%"):
        solve_lscp(problem, 0.8)
    assert solve_lscp(problem, 0.75).sites.tolist() == [0]


@pytest.mark.parametrize("p", [0, -1, 2, 1.5, True])
def test_bad_p_is_refused(p):
    problem = build_problem(np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)), 100.0)
    with pytest.raises(InvalidInputError, match="p"):
        solve_mclp(problem, p)


@pytest.mark.parametrize("share", [0, -0.1, 1.01])
def test_target_share_outside_zero_one_is_refused(share):
    problem = build_problem(np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)), 100.0)
    with pytest.raises(InvalidInputError, match=r"\(0, 1\]"):
        solve_lscp(problem, share)


def test_empty_demand_is_refused():
    with pytest.raises(InvalidInputError, match="no demand"):
        build_problem(np.empty((0, 2)), np.empty(0), np.zeros((1, 2)), 100.0)
    with pytest.raises(InvalidInputError, match="no demand"):
        build_problem(np.zeros((2, 2)), np.zeros(2), np.zeros((1, 2)), 100.0)


def _square(population=1000):
    return geopandas.GeoDataFrame({"code": ["1"], "name": ["方块"], "population": [population]},
                                  geometry=[box(116.2, 39.8, 116.3, 39.9)], crs=4326)  # fmt: skip


def test_bad_frames_are_refused_clearly():
    stations = geopandas.GeoDataFrame({"status": ["open"]}, geometry=[Point(116.25, 39.85)],
                                      crs=4326)  # fmt: skip
    with pytest.raises(InvalidInputError, match="unknown boundary code"):
        prepare(_square(), stations, boundary_codes=["1", "999"])
    with pytest.raises(InvalidInputError, match="WGS-84"):
        prepare(_square(), stations.to_crs(32650))
    with pytest.raises(InvalidInputError, match="no demand"):
        prepare(_square(population=0), stations)
    data = prepare(_square(), stations, candidate_resolution=6)
    with pytest.raises(InvalidInputError, match="more than the"):
        site(data, p=len(data.candidates) + 1)


def test_user_candidates_outside_are_dropped_and_loads_meet_capacity():
    """Two candidates inside (with seats), one outside; workers at the eastern one."""
    east = Point(116.28, 39.85)
    candidates = geopandas.GeoDataFrame(
        {"name": ["west hall", "east hall", "elsewhere"], "capacity": [10, 4, 99]},
        geometry=[Point(116.22, 39.85), east, Point(117.0, 40.5)], crs=4326)  # fmt: skip
    enterprises = geopandas.GeoDataFrame({"outdoor_workers": [12]}, geometry=[east], crs=4326)
    stations = geopandas.GeoDataFrame({"status": ["closed"]}, geometry=[east], crs=4326)
    data = prepare(_square(), stations, enterprises=enterprises, candidates=candidates)
    assert len(data.candidates) == 2 and "1 outside dropped" in data.method["candidates"]
    assert "0 open stations" in data.method["existing"]  # the closed one does not count
    result = site(data, p=2)
    table = result.proposals.set_index("candidate")
    assert table.loc["east hall", "load_workers"] == 12
    assert table.loc["east hall", "workers_per_seat"] == 3
    newly = result.after["residents"] - result.before["residents"]
    assert table["load_residents"].sum() == pytest.approx(newly)
    assert table["gain_residents"].sum() == pytest.approx(newly)


@pytest.fixture(scope="module")
def fengtai():
    boundaries = geopandas.read_file(DATA / "boundaries" / "subdistricts.geojson")
    stations = geopandas.read_file(DATA / "stations" / "stations.geojson")
    enterprises = geopandas.read_file(DATA / "enterprises" / "enterprises.geojson")
    data = prepare(boundaries, stations, enterprises=enterprises, boundary_codes=[FENGTAI])
    return boundaries[boundaries.parent_code == FENGTAI], stations, data


def test_reach_agrees_with_the_coverage_analysis(fengtai):
    boundaries, stations, data = fengtai
    assert "923 m straight" in data.method["reach"]
    coverage = analyse(boundaries, stations[stations.status == "open"], with_gaps=False)
    table = coverage.per_boundary
    within = (table.residents * table.share_within_walk).sum()
    result = site(data, p=1, method="heuristic")
    assert result.before["residents"] == pytest.approx(within, rel=1e-9)
    assert result.total["residents"] == pytest.approx(table.residents.sum(), rel=1e-9)


def test_fengtai_proposals_go_to_lugouqiao_and_the_numbers_say_why(fengtai):
    data = fengtai[2]
    result = site(data, p=3, mip_rel_gap=0)
    assert result.solution.status == "Optimal"
    proposals = result.proposals
    assert LUGOUQIAO in set(proposals.code)
    assert proposals.code.iloc[0] == LUGOUQIAO
    # Why: 卢沟桥 has by far the most residents beyond a walk of any open station …
    beyond = data.demand.residents.where(data.problem.existing == 0, 0).groupby(data.demand.code)
    assert beyond.sum().idxmax() == LUGOUQIAO
    assert beyond.sum()[LUGOUQIAO] > 1.05 * beyond.sum().drop(LUGOUQIAO).max()
    # … and its uncovered residents are the densest, so one site there reaches more people
    # than any single site anywhere else in Fengtai.
    fresh = data.problem.weight * (data.problem.existing == 0)
    alone = data.problem.reach.T @ fresh
    elsewhere = alone[data.candidates.code.to_numpy() != LUGOUQIAO].max()
    assert proposals.gain_weight.iloc[0] > elsewhere
    assert proposals.gain_residents.iloc[0] > 25_000
    # Totals add up: each proposal's gain is what it adds to the ones ranked before it.
    assert result.after["weight"] - result.before["weight"] == pytest.approx(
        proposals.gain_weight.sum()
    )
    assert (proposals.nearest_existing_m > data.reach_m).all()  # none duplicates a station


def test_planned_lugouqiao_station_is_about_as_good_as_the_best_site_there(fengtai):
    boundaries, stations, data = fengtai
    planned = stations[(stations.status == "planned") & (stations.kind == "subdistrict_station")]
    evaluation = evaluate_sites(data, planned).iloc[0]
    assert evaluation.code == LUGOUQIAO
    assert evaluation.gain_residents > 20_000
    # Cross-check with the coverage analysis: the residents it newly brings within a walk.
    open_now = stations[stations.status == "open"]
    before = analyse(boundaries, open_now, with_gaps=False).per_boundary
    after = analyse(boundaries, geopandas.pd.concat([open_now, planned]),
                    with_gaps=False).per_boundary  # fmt: skip
    gained = before.uncovered_residents.sum() - after.uncovered_residents.sum()
    assert evaluation.gain_residents == pytest.approx(gained, rel=1e-9)
    # The planners' west-side site is within 5 % of the best grid site in 卢沟桥 (on the
    # bundled data it is 1.7 % better: it lies between grid points), and better than 95 % of
    # the 卢沟桥 candidates.
    assert 0.95 <= evaluation.share_of_best <= 1.05
    assert evaluation.candidates_better <= 0.05 * evaluation.candidates_in_boundary
