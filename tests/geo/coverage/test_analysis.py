"""Coverage: hand-checked arithmetic, an independent buffer cross-check, and the 卢沟桥 facts."""

from __future__ import annotations

import geopandas
import h3
import numpy as np
import pytest
from shapely import Point, box

from geo.config import PROJECT_ROOT
from geo.coverage.analysis import (
    CellDistances,
    CoverageParams,
    analyse,
    boundary_metrics,
    grouped_weighted_quantile,
    nearest_two,
)
from geo.coverage.demand import worker_points
from geo.errors import InvalidInputError

DATA = PROJECT_ROOT / "data"
FENGTAI = "110106000000"
LUGOUQIAO = "110106017000"


def test_three_cells_two_stations_by_hand():
    """Cells at x = 0, 900, 3000 m (100 residents each); stations at x = 0 and 1000 m."""
    cells = np.array([[0.0, 0.0], [900.0, 0.0], [3000.0, 0.0]])
    stations = np.array([[0.0, 0.0], [1000.0, 0.0]])
    distances = nearest_two(cells, stations)
    assert distances.nearest_m.tolist() == [0.0, 100.0, 2000.0]
    assert distances.second_m.tolist() == [1000.0, 900.0, 3000.0]

    params = CoverageParams(radius_m=1000, walk_min=15, walk_speed_m_per_min=80, detour_factor=1.0)
    table = boundary_metrics(distances, np.full(3, 100.0), np.zeros(3, dtype=np.int64),
                             np.array([2]), np.array([3.0]), params)  # fmt: skip
    row = table.iloc[0]
    assert row.residents == 300
    assert row.residents_per_station == 150
    assert row.stations_per_10k == pytest.approx(2 / 300 * 10_000)
    assert row.share_within_radius == pytest.approx(2 / 3)
    assert row.share_within_walk == pytest.approx(2 / 3)  # walk = 1200 m
    assert row.share_two_plus == pytest.approx(2 / 3)  # second station at 1000 and 900 m
    assert row.mean_nearest_m == pytest.approx(700)
    assert row.p90_nearest_m == 2000
    assert row.uncovered_residents == 100

    # A 1.3 detour makes the 900 m neighbour of cell 2 a 1170 m walk (in) and cell 1's second
    # station 1300 m (out): overlap drops to one cell in three.
    detour = CoverageParams(detour_factor=1.3)
    walked = boundary_metrics(distances, np.full(3, 100.0), np.zeros(3, dtype=np.int64),
                              np.array([2]), np.array([3.0]), detour).iloc[0]  # fmt: skip
    assert walked.share_two_plus == pytest.approx(1 / 3)


def test_no_stations_means_nobody_is_covered():
    distances = nearest_two(np.array([[0.0, 0.0]]), np.empty((0, 2)))
    assert distances == CellDistances(np.array([np.inf]), np.array([np.inf]))
    table = boundary_metrics(distances, np.array([10.0]), np.zeros(1, dtype=np.int64),
                             np.array([0]), np.array([1.0]), CoverageParams())  # fmt: skip
    assert table.iloc[0].share_within_walk == 0
    assert table.iloc[0].uncovered_residents == 10


def _bundled():
    boundaries = geopandas.read_file(DATA / "boundaries" / "subdistricts.geojson")
    stations = geopandas.read_file(DATA / "stations" / "stations.geojson")
    return boundaries[boundaries.parent_code == FENGTAI], stations


def test_matches_an_independent_buffer_union_method():
    """Same cells, other method: buffer every station 1 km in UTM 50N, union, test containment."""
    boundaries, stations = _bundled()
    open_stations = stations[stations.status == "open"]
    result = analyse(boundaries, open_stations)
    utm = 32650
    cells = geopandas.GeoDataFrame(
        result.cells,
        geometry=geopandas.points_from_xy(result.cells.lon, result.cells.lat),
        crs=4326,
    ).to_crs(utm)
    reach = open_stations.to_crs(utm).buffer(1000).union_all()
    cells["inside"] = cells.within(reach)
    by_code = (
        cells.assign(w=cells.residents * cells.inside).groupby("code")[["w", "residents"]].sum()
    )
    exact = (by_code.w / by_code.residents).to_dict()
    ours = dict(zip(result.per_boundary.code, result.per_boundary.share_within_radius, strict=True))
    # Tolerance: the two projections differ by < 0.1 %, so only cells within about a metre of a
    # 1 km circle may disagree; in share terms that stays well under 1 percentage point.
    for code, share in exact.items():
        assert ours[code] == pytest.approx(share, abs=0.01), code


def test_lugouqiao_is_the_most_underserved_and_its_planned_station_helps():
    boundaries, stations = _bundled()
    today = stations[stations.status == "open"]
    before = analyse(boundaries, today).per_boundary.set_index("code")
    assert before.loc[LUGOUQIAO, "rank"] == 1
    # Why: the most residents per place and the most residents beyond a 15-minute walk.
    assert before.loc[LUGOUQIAO, "residents_per_station"] == before["residents_per_station"].max()
    assert before.loc[LUGOUQIAO, "uncovered_residents"] == before["uncovered_residents"].max()

    third = stations[(stations.status == "planned") & (stations.kind == "subdistrict_station")]
    after = analyse(boundaries, geopandas.pd.concat([today, third])).per_boundary.set_index("code")
    assert after.loc[LUGOUQIAO, "stations"] == before.loc[LUGOUQIAO, "stations"] + 1
    gained = after.loc[LUGOUQIAO, "share_within_walk"] - before.loc[LUGOUQIAO, "share_within_walk"]
    assert gained > 0.05  # several percentage points of 300,000 residents
    assert (
        after.loc[LUGOUQIAO, "uncovered_residents"] < before.loc[LUGOUQIAO, "uncovered_residents"]
    )


def test_result_states_its_method():
    boundaries, stations = _bundled()
    result = analyse(boundaries.head(3), stations.head(5), CoverageParams(detour_factor=1.2))
    assert "uniformly by area" in result.method["demand"]
    assert "detour factor 1.2" in result.method["reach"]
    assert set(result.per_boundary["rank"]) <= set(range(1, 4))


def test_bad_input_is_refused_clearly():
    square = geopandas.GeoDataFrame({"code": ["1"], "name": ["x"], "population": [1]},
                                    geometry=[box(116.2, 39.8, 116.3, 39.9)], crs=4326)  # fmt: skip
    projected = geopandas.GeoDataFrame(geometry=[Point(500000, 4400000)], crs=32650)
    with pytest.raises(InvalidInputError, match="WGS-84"):
        analyse(square, projected)
    with pytest.raises(InvalidInputError, match="no boundaries"):
        analyse(square.iloc[0:0], projected.to_crs(4326))
    with pytest.raises(InvalidInputError, match="detour"):
        CoverageParams(detour_factor=0.5)
    with pytest.raises(InvalidInputError, match="positive"):
        CoverageParams(radius_m=0)


def test_gap_polygons_cover_exactly_the_cells_beyond_a_walk():
    boundaries, stations = _bundled()
    result = analyse(boundaries, stations[stations.status == "open"])
    gaps = result.gaps.set_index("code")
    lugouqiao = gaps.loc[LUGOUQIAO]
    beyond = result.cells[(result.cells.code == LUGOUQIAO)
                          & (result.cells.nearest_m * 1.3 > 1200)]  # fmt: skip
    assert lugouqiao.residents_beyond_walk == pytest.approx(beyond.residents.sum())
    # Every uncovered cell centre lies in the gap polygon; no covered one does.
    centres = geopandas.points_from_xy(beyond.lon, beyond.lat)
    assert all(lugouqiao.geometry.covers(p) for p in centres)
    covered = result.cells[
        (result.cells.code == LUGOUQIAO) & ~result.cells.index.isin(beyond.index)
    ]
    assert not any(lugouqiao.geometry.contains(p)
                   for p in geopandas.points_from_xy(covered.lon, covered.lat))  # fmt: skip
    # Area: the sum of the cells' own areas (H3 computes them independently of us).
    cells_km2 = sum(h3.cell_area(h3.int_to_str(int(c)), unit="km^2") for c in beyond.h3)
    assert lugouqiao.gap_km2 == pytest.approx(cells_km2, rel=0.005)  # H3: sphere; us: WGS-84
    assert 0 < lugouqiao.largest_pocket_km2 <= lugouqiao.gap_km2
    assert lugouqiao.largest_pocket.within(lugouqiao.geometry.buffer(1e-9))


def test_workers_are_weighted_at_their_workplaces_by_hand():
    """A 0.1° square, one station at its centre; workplaces at the station, 3 km off, outside."""
    square = geopandas.GeoDataFrame({"code": ["110106017000"], "name": ["x"], "population": [1000]},
                                    geometry=[box(116.2, 39.8, 116.3, 39.9)], crs=4326)  # fmt: skip
    station = geopandas.GeoDataFrame(geometry=[Point(116.25, 39.85)], crs=4326)
    east_3km = 116.25 + 3000 / (111_320 * np.cos(np.radians(39.85)))
    enterprises = geopandas.GeoDataFrame(
        {"outdoor_workers": [50, 30, 999, None], "employees": [60, 40, 999, 7]},
        geometry=[Point(116.25, 39.85), Point(east_3km, 39.85), Point(117.5, 40.5),
                  Point(116.26, 39.85)], crs=4326,
    )  # fmt: skip
    result = analyse(square, station, workers=worker_points(enterprises), with_gaps=False)
    row = result.per_boundary.iloc[0]
    assert row.workers == 80  # the one without a count adds nothing; the outsider is left out
    assert row.share_workers_within_walk == pytest.approx(50 / 80)
    assert row.uncovered_workers == 30
    assert row.workers_per_station == 80
    assert row.part_workers_beyond_walk == pytest.approx(30 / 80)
    assert row.score == pytest.approx(np.mean([row.part_beyond_walk, row.part_load,
                                               row.part_uncovered, 30 / 80]))  # fmt: skip
    assert "1 outside the boundaries left out" in result.method["workers"]
    assert "share of workers beyond a walk" in result.method["score"]

    by_employees = analyse(square, station, workers=worker_points(enterprises, "employees"),
                           with_gaps=False).per_boundary.iloc[0]  # fmt: skip
    assert by_employees.workers == 60 + 40 + 7
    with pytest.raises(InvalidInputError, match="outdoor_workers or employees"):
        worker_points(enterprises, "interns")


def test_bundled_workers_shift_the_ranking_towards_unreached_workplaces():
    boundaries, stations = _bundled()
    enterprises = geopandas.read_file(DATA / "enterprises" / "enterprises.geojson")
    open_now = stations[stations.status == "open"]
    table = analyse(boundaries, open_now, workers=worker_points(enterprises),
                    with_gaps=False).per_boundary  # fmt: skip
    assert table.workers.sum() == pytest.approx(
        enterprises[enterprises.registration_code.str.startswith("110106")].outdoor_workers.sum()
    )
    assert table.set_index("code").loc[LUGOUQIAO, "rank"] <= 3


def test_a_quantile_over_no_cells_is_nan_not_a_crash():
    """No worker anywhere in the boundaries asked about: every group's quantile is unknown."""
    empty = np.empty(0)
    result = grouped_weighted_quantile(empty, empty, np.empty(0, np.int64), 3, 0.9)
    assert result.shape == (3,) and np.isnan(result).all()
