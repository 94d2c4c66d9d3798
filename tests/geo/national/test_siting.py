"""National siting: parts built with a halo, one budget priced across groups, a proven gap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from geo.errors import InvalidInputError
from geo.national.counties import in_scope
from geo.national.engine import Stations
from geo.national.kernel import NationalParams
from geo.national.partition import given_partitions, plan_partitions
from geo.national.siting import InlineClient, merge_parts, site_national, siting_inputs
from geo.national.siting_parts import PartProblem, SitingParams, build_part
from geo.national.synthetic import synthetic_stations
from geo.siting.solve import solve_mclp
from tests.geo.national.conftest import needs_census

pytestmark = needs_census


def _supply(demand, count, seed=7):
    points = synthetic_stations(demand.counties, demand.counties["urban_population"], count,
                                seed=seed)  # fmt: skip
    return Stations.locate(points, demand.counties)


@pytest.fixture(scope="module")
def beijing(china):
    return in_scope(china, ["11"])


def _scope_problem(demand, stations, parts, params):
    return merge_parts([build_part(part.key, own, near_counties, box, near.lon, near.lat, params)
                        for part, own, near_counties, box, near
                        in siting_inputs(demand, stations, parts, params)])  # fmt: skip


def test_beijing_cut_into_four_is_the_same_problem_and_the_same_answer(beijing):
    stations = _supply(beijing, 300)
    params = SitingParams(NationalParams(h3_resolution=9), p=30)
    codes = sorted(beijing.counties["code"])
    whole = given_partitions([codes])
    interleaved = given_partitions([codes[i::4] for i in range(4)])  # every border is a cut
    one = _scope_problem(beijing, stations, whole, params)
    four = _scope_problem(beijing, stations, interleaved, params)
    assert list(one.candidates["h3"]) == list(four.candidates["h3"])
    assert (one.cover.reach != four.cover.reach).nnz == 0
    np.testing.assert_allclose(four.cover.weight, one.cover.weight, rtol=1e-12)
    assert one.candidates["code"].value_counts().max() <= params.per_county

    a = site_national(beijing, stations, params, InlineClient(), parts=whole)
    b = site_national(beijing, stations, params, InlineClient(), parts=interleaved)
    assert list(a.sites["h3"]) == list(b.sites["h3"]) and len(a.sites) == 30
    assert a.added == pytest.approx(b.added, rel=1e-12)
    assert a.bound == pytest.approx(b.bound, rel=1e-12)
    assert b.parts["halo_rows"].sum() > 0  # the cut did cut: halos were needed

    exact = solve_mclp(one.cover, 30, time_limit_s=300, mip_rel_gap=0.0)
    assert exact.status == "Optimal"
    assert b.added <= exact.objective * (1 + 1e-9)  # the answer is a real set of 30 sites
    assert b.bound >= exact.objective * (1 - 1e-9)  # and the bound holds
    assert b.gap == pytest.approx((b.bound - b.added) / b.added)
    assert b.gap < 0.01
    assert b.sites["gain"].sum() == pytest.approx(b.added)
    assert b.sites["gain"].is_monotonic_decreasing
    assert set(b.sites["county"]) <= set(beijing.counties["name"])


def test_two_worker_cluster_equals_one_process_for_beijing_and_tianjin(china, dask_cluster):
    scope = in_scope(china, ["11", "12"])
    stations = _supply(scope, 500)
    params = SitingParams(NationalParams(h3_resolution=9), p=40)
    parts = plan_partitions(scope.counties, 9, max_cells=60_000)
    assert len(parts) >= 4  # provinces cut by prefecture and county runs
    single = site_national(scope, stations, params, InlineClient(),
                           parts=given_partitions([sorted(scope.counties["code"])]))  # fmt: skip
    rounds: list = []
    cluster = site_national(scope, stations, params, dask_cluster, parts=parts,
                            on_round=rounds.append, engine="dask")  # fmt: skip
    assert list(cluster.sites["h3"]) == list(single.sites["h3"])
    assert cluster.added == pytest.approx(single.added, rel=1e-12)
    assert cluster.bound == pytest.approx(single.bound, rel=1e-12)
    assert len(rounds) == len(cluster.rounds) >= 1
    assert cluster.gap < 0.01
    assert set(cluster.sites["province"]) <= {"11", "12"}
    assert cluster.residents == pytest.approx(scope.counties["population"].sum())
    assert 0 < cluster.beyond_walk_before < cluster.residents
    assert "Lagrangian" in cluster.method["combination"]


def test_a_cell_two_parts_reach_is_one_row():
    def part(key, candidate, cells, residents):
        return PartProblem(
            key=key,
            candidates=pd.DataFrame({"h3": [np.uint64(candidate)], "lon": [0.0], "lat": [0.0],
                                     "code": [key], "gain_alone": [sum(residents)]}),
            rows=pd.DataFrame({"h3": np.asarray(cells, np.uint64), "residents": residents,
                               "own": [True] * len(cells)}),
            reach=sparse.csr_array(np.ones((len(cells), 1))),
            own_cells=len(cells), own_residents=sum(residents), own_beyond_walk=sum(residents),
            build_s=0.0,
        )  # fmt: skip

    scope = merge_parts([part("b", 20, [1, 2], [5.0, 7.0]), part("a", 10, [2, 3], [7.0, 1.0])])
    assert list(scope.candidates["h3"]) == [10, 20]
    assert list(scope.cells["h3"]) == [1, 2, 3]
    assert scope.cover.reach.toarray().tolist() == [[0, 1], [1, 1], [1, 0]]
    assert scope.cover.covered(np.array([0, 1])) == 13.0  # cell 2 counted once, not twice


def test_fewer_useful_sites_than_p_opens_all_that_help(beijing):
    dongcheng = beijing.counties[beijing.counties["code"] == "110101"]
    small = type(beijing)(dongcheng.reset_index(drop=True), beijing.unmatched_polygons,
                          beijing.unmatched_census, beijing.model)  # fmt: skip
    stations = _supply(small, 3)
    # Every cell is a candidate, so every resident beyond a walk can be reached, by far
    # fewer than 300 sites (more candidates than p, fewer useful ones).
    params = SitingParams(NationalParams(h3_resolution=9), p=300, candidate_resolution=9,
                          per_county=1000)  # fmt: skip
    result = site_national(small, stations, params, InlineClient())
    assert 0 < len(result.sites) < 300 < result.parts["candidates"].sum()
    assert result.added == pytest.approx(result.beyond_walk_before, rel=1e-9)
    assert result.gap == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"p": 0}, "p"), ({"candidate_resolution": 5}, "candidate_resolution"),
     ({"per_county": 0}, "per_county"), ({"max_rounds": 1}, "max_rounds")],
)  # fmt: skip
def test_bad_siting_parameters_are_refused(change, field):
    with pytest.raises(InvalidInputError) as raised:
        SitingParams(NationalParams(h3_resolution=9), **{"p": 5, **change})
    assert raised.value.field == field
