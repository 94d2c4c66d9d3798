"""Walking distance along a supplied network: by hand, against brute force, and a river case."""

from __future__ import annotations

import geopandas
import numpy as np
import pytest
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra
from shapely import LineString, Point, box

from geo.coverage.analysis import analyse
from geo.crs import local_projector
from geo.errors import InvalidInputError
from geo.network.graph import WalkNetwork, build_network, network_nearest_two, read_network_lines


def _network(nodes: list[tuple[float, float]], edges: list[tuple[int, int]]) -> WalkNetwork:
    xy = np.array(nodes, dtype=float)
    a, b = np.array(edges).T
    length = np.hypot(*(xy[a] - xy[b]).T)
    graph = csr_array((np.r_[length, length], (np.r_[a, b], np.r_[b, a])), shape=(len(xy),) * 2)
    return WalkNetwork(xy, graph, "hand-made")


def test_an_l_shaped_street_by_hand():
    """Streets A(0,0)–B(1000,0)–C(1000,1000); stations at A and C; limit 1200 m."""
    network = _network([(0, 0), (1000, 0), (1000, 1000)], [(0, 1), (1, 2)])
    stations = np.array([[0.0, 0.0], [1000.0, 1000.0]])
    cells = np.array([[1000.0, 0.0], [1000.0, 900.0], [100.0, 50.0]])
    nearest, second = network_nearest_two(network, cells, stations, limit_m=1200)
    # At B: both stations 1000 m away. Near C: hop 100 + 0, second station 2000 m on: beyond.
    # Near A: hop √(100²+50²) ≈ 111.8 to A, the other station 2000 m further: beyond.
    assert nearest.tolist() == pytest.approx([1000, 100, np.hypot(100, 50)])
    assert second[0] == pytest.approx(1000)
    assert np.isinf(second[1]) and np.isinf(second[2])
    unlimited = network_nearest_two(network, cells, stations, limit_m=1e9)[1]
    assert unlimited.tolist() == pytest.approx([1000, 2100, np.hypot(100, 50) + 2000])


def test_matches_one_dijkstra_per_station_on_a_random_street_grid():
    rng = np.random.default_rng(3)
    side = 15
    nodes = [(x * 100 + rng.normal(0, 10), y * 100 + rng.normal(0, 10))
             for y in range(side) for x in range(side)]  # fmt: skip
    edges = [(i, i + 1) for i in range(side * side) if (i + 1) % side and rng.random() > 0.15]
    edges += [(i, i + side) for i in range(side * (side - 1)) if rng.random() > 0.15]
    network = _network(nodes, edges)
    station_nodes = rng.choice(side * side, size=12, replace=False)
    stations = network.node_xy[station_nodes]
    cells = network.node_xy  # every node, hop 0
    limit = 600.0
    nearest, second = network_nearest_two(network, cells, stations, limit)

    each = dijkstra(network.graph, indices=station_nodes)  # stations × nodes, the slow truth
    ordered = np.sort(each, axis=0)
    assert nearest == pytest.approx(ordered[0], abs=1e-6)  # a station's own node: 1e-9 m
    expected_second = np.where(ordered[1] <= limit, ordered[1], np.inf)
    assert second == pytest.approx(expected_second)
    assert np.isfinite(second).sum() > 20  # the check is not vacuous


def _osm(path, ways: list[tuple[str, list[tuple[float, float]]]]) -> None:
    nodes, xml_ways, next_id = [], [], 1
    for number, (highway, points) in enumerate(ways, start=1):
        refs = []
        for lon, lat in points:
            nodes.append(f'<node id="{next_id}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>')
            refs.append(f'<nd ref="{next_id}"/>')
            next_id += 1
        xml_ways.append(f'<way id="{1000 + number}" version="1">{"".join(refs)}'
                        f'<tag k="highway" v="{highway}"/></way>')  # fmt: skip
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
                    + "\n".join(nodes + xml_ways) + "\n</osm>\n", encoding="utf-8")  # fmt: skip


def test_a_river_with_one_bridge_is_walked_round_and_motorways_are_not_walked(tmp_path):
    """Two banks 333 m apart joined only 5 km east; a motorway across the west end is no path."""
    lons = np.linspace(116.20, 116.26, 61)  # a vertex every ~85 m
    south = [(lon, 39.850) for lon in lons]
    north = [(lon, 39.853) for lon in lons]
    path = tmp_path / "banks.osm"
    # The north bank's west end does not share a node with the motorway, so only the bridge
    # joins the banks for walkers.
    _osm(path, [("residential", south), ("footway", north),
                ("footway", [(116.26, 39.850), (116.26, 39.853)]),
                ("motorway", [(116.2001, 39.850), (116.2001, 39.853)])])  # fmt: skip
    lines = read_network_lines(path)
    assert "motorway" not in set(lines.highway)
    lines.attrs["source"] = path.name

    banks = box(116.195, 39.8485, 116.265, 39.8545)
    area = geopandas.GeoDataFrame({"code": ["110106017000"], "name": ["banks"],
                                   "population": [10_000]}, geometry=[banks], crs=4326)  # fmt: skip
    station = geopandas.GeoDataFrame(geometry=[Point(116.20, 39.850)], crs=4326)
    straight = analyse(area, station, with_gaps=False)
    walked = analyse(area, station, network=lines, with_gaps=False)
    assert "walked along the network banks.osm" in walked.method["reach"]
    assert "walked along the network" in walked.method["radius"]

    cells = walked.cells.assign(straight_m=straight.cells.nearest_m)
    north_west = cells[(cells.lat > 39.8525) & (cells.lon < 116.203)]
    assert len(north_west) > 0
    assert (north_west.straight_m < 600).all()  # across the water: close as the crow flies
    assert (north_west.nearest_m > 9_000).all()  # on foot: 5 km there, the bridge, 5 km back
    assert walked.per_boundary.share_within_walk[0] < straight.per_boundary.share_within_walk[0]
    # Along the station's own bank a walk is never shorter than the crow flies, and is not
    # much longer: the hop onto the street is the only detour.
    south_bank = cells[(cells.lat < 39.8505) & (cells.lon < 116.21)]
    ratio = south_bank.nearest_m / south_bank.straight_m
    assert (ratio >= 0.999).all() and ratio.median() < 1.2


def test_networks_that_cannot_be_read_are_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_network_lines(tmp_path / "none.osm")
    garbage = tmp_path / "roads.gpkg"
    garbage.write_text("not a geopackage", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not a network GDAL can read"):
        read_network_lines(garbage)
    points = tmp_path / "points.geojson"
    geopandas.GeoDataFrame(geometry=[Point(116.3, 39.9)], crs=4326).to_file(points)
    with pytest.raises(InvalidInputError, match="no walkable lines"):
        read_network_lines(points)


def test_build_network_merges_shared_vertices_and_keeps_the_shorter_parallel_edge():
    lines = geopandas.GeoDataFrame(geometry=[
        LineString([(116.30, 39.90), (116.31, 39.90)]),
        LineString([(116.31, 39.90), (116.31, 39.91)]),
        LineString([(116.30, 39.90), (116.305, 39.905), (116.31, 39.90)]),  # a longer way round
        LineString([(116.30, 39.90), (116.31, 39.90)]),  # the same street twice
    ], crs=4326)  # fmt: skip
    project = local_projector(np.array([116.305]), np.array([39.905]))
    network = build_network(lines, project, "test")
    assert len(network.node_xy) == 4
    assert network.edges == 4  # direct, north, and the two legs of the detour
    a_x, a_y = project.transform(116.30, 39.90)
    b_x, b_y = project.transform(116.31, 39.90)
    a = int(np.argmin(np.hypot(network.node_xy[:, 0] - a_x, network.node_xy[:, 1] - a_y)))
    b = int(np.argmin(np.hypot(network.node_xy[:, 0] - b_x, network.node_xy[:, 1] - b_y)))
    # 0.01° of longitude at 39.9°N is about 855 m: once, not summed over the duplicate street.
    assert network.graph[[a], [b]][0] == pytest.approx(855, rel=0.01)
