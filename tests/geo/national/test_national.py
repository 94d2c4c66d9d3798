"""National coverage: real counties and census, cut into partitions, on a 2-worker LocalCluster.

The claim under test is that the cut never changes the answer: cell for cell and county for
county, partitioned equals single-process, because every part carries its halo and distances
are capped at the horizon on one sphere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from geo.errors import InvalidInputError
from geo.national.counties import DemandModel, in_scope, national_demand
from geo.national.engine import Stations, run_dask, run_single
from geo.national.kernel import NationalParams, partition_sums
from geo.national.partition import given_partitions, halo, plan_partitions
from geo.national.sphere import nearest_two_capped, to_xyz
from geo.national.synthetic import synthetic_stations
from tests.geo.national.conftest import needs_census

pytestmark = needs_census

BEIJING_TIANJIN_HEBEI = ["11", "12", "13"]


def _stations(demand, census, count, seed=7):
    urban = demand.counties["urban_population"]
    points = synthetic_stations(demand.counties, urban, count, seed=seed)
    return points, Stations.locate(points, demand.counties)


def _sorted_cells(cells: pd.DataFrame) -> pd.DataFrame:
    return cells.sort_values(["code", "h3"], kind="stable").reset_index(drop=True)


def test_the_census_join_reports_what_did_not_match_both_ways(china):
    counties = china.counties
    assert len(counties) == 2891  # of 2,898 features: 7 are boundary lines (境界线), not areas
    assert china.not_areas == 7 and "7 features that are lines" in china.note
    assert set(counties.geom_type) == {"MultiPolygon"} and counties.is_valid.all()
    assert int(counties["matched"].sum()) == 2824
    assert counties.loc[counties["matched"], "population"].sum() == 1_361_396_652
    assert counties.loc[~counties["matched"], "population"].isna().all()  # unknown, not zero
    assert len(china.unmatched_polygons) == 67
    assert china.unmatched_census["population"].gt(0).all()
    assert "67 polygons without a census row" in china.note
    assert f"{len(china.unmatched_census)} census rows without a polygon" in china.note


def test_the_urban_model_spreads_urban_residents(china, census):
    urban = national_demand(china.counties[["code", "name", "geometry"]], census,
                            DemandModel.URBAN)  # fmt: skip
    fengtai = urban.counties.set_index("code").loc["110106"]
    assert fengtai["population"] == census.set_index("code6").loc["110106", "urban_population"]
    assert "urban residents" in urban.note


def test_scope_keeps_the_provinces_asked_for_and_refuses_bad_codes(china):
    three = in_scope(china, ["11", "120000", "13"])
    assert set(three.counties["province"]) == {"11", "12", "13"}
    with pytest.raises(InvalidInputError, match="not a province code"):
        in_scope(china, ["1"])
    with pytest.raises(InvalidInputError, match="no county polygon"):
        in_scope(china, ["99"])


def test_partitioned_on_dask_equals_one_process_cell_for_cell(china, census, dask_cluster):
    scope = in_scope(china, BEIJING_TIANJIN_HEBEI)
    _, stations = _stations(scope, census, 2500)
    params = NationalParams(h3_resolution=7)
    single = run_single(scope, stations, params, keep_cells=True)
    parts = plan_partitions(scope.counties, 7, max_cells=6_000)  # Hebei cut by prefecture
    assert len(parts) > 10 and any("/" in part.key for part in parts)
    done: list[str] = []
    split = run_dask(scope, stations, params, dask_cluster, parts=parts, keep_cells=True,
                     on_part=lambda run, n, total: done.append(run.key))  # fmt: skip
    assert sorted(done) == sorted(part.key for part in parts)
    assert len({run.worker for run in split.parts}) == 2  # both workers took parts
    pd.testing.assert_frame_equal(_sorted_cells(single.cells), _sorted_cells(split.cells))
    pd.testing.assert_frame_equal(single.sums, split.sums)
    pd.testing.assert_frame_equal(single.counties, split.counties)
    pd.testing.assert_frame_equal(single.provinces, split.provinces)
    assert set(single.provinces["code"]) == set(BEIJING_TIANJIN_HEBEI)
    assert all(peak > 0 for peak in split.worker_peak_mb.values())


def test_beijing_as_one_partition_equals_beijing_cut_into_four(china, census, dask_cluster):
    beijing = in_scope(china, ["11"])
    _, stations = _stations(beijing, census, 1200, seed=11)
    params = NationalParams(h3_resolution=8)
    codes = sorted(beijing.counties["code"])
    one = run_dask(beijing, stations, params, dask_cluster, parts=given_partitions([codes]),
                   keep_cells=True)  # fmt: skip
    # Four interleaved parts: every part borders the others, so halos carry real weight.
    interleaved = given_partitions([codes[i::4] for i in range(4)])
    four = run_dask(beijing, stations, params, dask_cluster, parts=interleaved, keep_cells=True)
    assert len(four.parts) == 4
    pd.testing.assert_frame_equal(_sorted_cells(one.cells), _sorted_cells(four.cells))
    pd.testing.assert_frame_equal(one.counties, four.counties)
    pd.testing.assert_frame_equal(one.provinces, four.provinces)


def test_without_its_halo_a_part_would_answer_differently(china, census):
    beijing = in_scope(china, ["11"])
    _, stations = _stations(beijing, census, 1200, seed=11)
    params = NationalParams(h3_resolution=8)
    fengtai = beijing.counties[beijing.counties["code"] == "110106"]
    own = np.flatnonzero(stations.county == "110106")
    alone = partition_sums(fengtai, stations.lon[own], stations.lat[own], stations.county[own],
                           params)  # fmt: skip
    near = halo(tuple(fengtai.total_bounds), stations.lon, stations.lat, params.horizon_m)
    assert len(near) > len(own)
    with_halo = partition_sums(fengtai, stations.lon[near], stations.lat[near],
                               stations.county[near], params)  # fmt: skip
    everyone = partition_sums(fengtai, stations.lon, stations.lat, stations.county, params)
    pd.testing.assert_frame_equal(with_halo.sums, everyone.sums)
    assert alone.sums["residents_nearest_m_sum"].iloc[0] > with_halo.sums[
        "residents_nearest_m_sum"].iloc[0]  # fmt: skip
    assert with_halo.sums["stations"].iloc[0] == len(own)  # the halo serves, it is not counted


def test_the_halo_holds_every_station_within_the_horizon_of_the_box():
    rng = np.random.default_rng(3)
    geod = Geod(ellps="WGS84")
    for lat0 in (20.0, 40.0, 52.0):
        box = (100.0, lat0, 101.0, lat0 + 1.0)
        corners = [(box[0], box[1]), (box[2], box[3]), (box[0], box[3]), (box[2], box[1])]
        lon, lat = [], []
        for x, y in corners:  # the worst places: just inside the horizon of a corner
            azimuth = rng.uniform(0, 360, 400)
            ex, ey, _ = geod.fwd(np.full(400, x), np.full(400, y), azimuth,
                                 np.full(400, 19_900.0))  # fmt: skip
            lon.extend(ex)
            lat.extend(ey)
        index = halo(box, np.array(lon), np.array(lat), 20_000.0)
        assert len(index) == len(lon)


def test_distances_are_great_circle_within_half_a_percent_and_capped():
    geod = Geod(ellps="WGS84")
    cells = np.array([[116.4, 39.9], [87.6, 43.8], [121.5, 31.2]])
    stations = cells + np.array([[0.01, 0.004], [0.05, -0.02], [0.3, 0.3]])
    near, second = nearest_two_capped(to_xyz(*cells.T), to_xyz(*stations.T), 20_000)
    _, _, exact = geod.inv(cells[:, 0], cells[:, 1], stations[:, 0], stations[:, 1])
    assert np.allclose(near[:2], exact[:2], rtol=0.005)
    assert near[2] == 20_000  # beyond the horizon: capped
    assert second[0] == 20_000  # the second station is 400 km away


def test_a_county_without_a_census_row_is_measured_by_area(china, census):
    unmatched = china.counties[~china.counties["matched"]]
    province = unmatched["province"].iloc[0]
    scope = in_scope(china, [province])
    _, stations = _stations(scope, census, 400)
    result = run_single(scope, stations, NationalParams(h3_resolution=6))
    rows = result.counties.set_index("code").loc[unmatched[unmatched["province"] == province]
                                                 ["code"]]  # fmt: skip
    assert (rows["share_basis"] == "area").all()
    assert rows["residents"].isna().all() and rows["share_within_walk"].notna().all()
    summary = result.provinces.set_index("code").loc[province]
    assert summary["unmatched_counties"] == len(rows)


def test_parameters_that_would_break_the_halo_are_refused():
    with pytest.raises(InvalidInputError, match="horizon_m"):
        NationalParams(horizon_m=800)  # below the 15-minute walk's reach
    with pytest.raises(InvalidInputError, match="h3_resolution"):
        NationalParams(h3_resolution=11)


def test_synthetic_stations_are_seeded_allocated_by_urban_residents_and_inside(china, census):
    scope = in_scope(china, ["11"])
    first, _ = _stations(scope, census, 500, seed=5)
    again, _ = _stations(scope, census, 500, seed=5)
    other, _ = _stations(scope, census, 500, seed=6)
    assert len(first) == 500 and first.geometry.equals(again.geometry)
    assert not first.geometry.equals(other.geometry)
    polygons = scope.counties.set_index("code").geometry
    inside = [polygons[code].covers(point) for code, point in zip(first["county"], first.geometry,
                                                                   strict=True)]  # fmt: skip
    assert all(inside)
    per_county = first["county"].value_counts()
    assert per_county["110105"] > per_county["110116"]  # Chaoyang's urban residents ≫ Huairou's
    assert shapely.get_num_geometries(first.geometry.to_numpy()).min() == 1
