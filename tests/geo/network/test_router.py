"""The locator's walking router: metres along the streets, by hand and across a river."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod
from scipy.sparse import csr_array

from geo.crs import local_projector
from geo.errors import InvalidInputError
from geo.network.graph import WalkNetwork
from geo.network.router import WalkRouter
from tests.streets import BRIDGE_LON, NORTH, SOUTH, WEST_LON, write_banks

GEOD = Geod(ellps="WGS84")


def _metres(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    return float(GEOD.inv(lon0, lat0, lon1, lat1)[2])


def test_an_l_shaped_street_by_hand():
    """Streets A(0,0)–B(1000,0)–C(1000,1000) in metres around (116.3, 39.9)."""
    project = local_projector(np.array([116.3]), np.array([39.9]))
    xy = np.array([(0, 0), (1000, 0), (1000, 1000)], dtype=float)
    a, b = np.array([0, 1]), np.array([1, 2])
    length = np.hypot(*(xy[a] - xy[b]).T)
    graph = csr_array((np.r_[length, length], (np.r_[a, b], np.r_[b, a])), shape=(3, 3))
    router = WalkRouter.from_network(WalkNetwork(xy, graph, "hand"), project)
    lon, lat = project.transform([0, 1000, 1000, 50], [0, 0, 1000, 0], direction="INVERSE")

    walked = router.walk_metres(lon[0], lat[0], np.array(lon[1:]), np.array(lat[1:]), 5000)

    assert walked is not None
    # B along the street; C round the corner (2000 m, not the 1414 m diagonal); a place 50 m
    # along the first street snaps to A (hop 50) and is never nearer than the crow flies.
    assert walked.tolist() == pytest.approx([1000, 2000, 50], abs=0.01)
    limited = router.walk_metres(lon[0], lat[0], np.array(lon[1:]), np.array(lat[1:]), 1500)
    assert limited is not None and np.isinf(limited[1]) and limited[0] == pytest.approx(1000)


def test_across_a_river_the_walk_goes_round_by_the_bridge(tmp_path):
    router = WalkRouter.from_file(write_banks(tmp_path / "banks.geojson"))
    west_south, west_north = (WEST_LON + 0.001, SOUTH), (WEST_LON + 0.001, NORTH)
    targets_lon = np.array([west_north[0], WEST_LON + 0.02])
    targets_lat = np.array([west_north[1], SOUTH])

    walked = router.walk_metres(*west_south, targets_lon, targets_lat, limit_m=20_000)

    assert walked is not None
    across = _metres(*west_south, *west_north)
    assert across == pytest.approx(333, abs=2)
    round_by_bridge = 2 * _metres(west_south[0], SOUTH, BRIDGE_LON, SOUTH) + across
    assert walked[0] == pytest.approx(round_by_bridge, rel=0.002)  # ~10.3 km, not 333 m
    along = _metres(*west_south, WEST_LON + 0.02, SOUTH)
    assert walked[1] == pytest.approx(along, rel=0.002)
    within_walk = router.walk_metres(*west_south, targets_lon, targets_lat, limit_m=2_000)
    assert within_walk is not None and np.isinf(within_walk[0]) and np.isfinite(within_walk[1])


def test_an_origin_off_the_network_gets_no_walking_answer(tmp_path):
    router = WalkRouter.from_file(write_banks(tmp_path / "banks.geojson"))
    far = router.walk_metres(116.23, 39.87, np.array([116.23]), np.array([SOUTH]), 20_000)
    assert far is None  # 1.9 km from any street: outside the loaded extract
    empty = router.walk_metres(116.23, SOUTH, np.array([]), np.array([]), 20_000)
    assert empty is not None and empty.size == 0


def test_a_file_without_lines_is_refused(tmp_path):
    path = tmp_path / "points.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"properties": {}, "geometry": {"type": "Point", "coordinates": [116, 39]}}]}',
                    encoding="utf-8")  # fmt: skip
    with pytest.raises(InvalidInputError, match="no walkable lines"):
        WalkRouter.from_file(path)
