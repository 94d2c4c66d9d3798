"""The walking network keeps only ways a person may walk: osmnx's rules on a local extract."""

from __future__ import annotations

import geopandas
import numpy as np
import pytest
from shapely import Point, box

from geo.coverage.analysis import analyse
from geo.network.graph import read_network_lines
from geo.network.osm import other_tags, walkable


@pytest.mark.parametrize(("tags", "walked"), [
    ({"highway": "footway"}, True),
    ({"highway": "residential"}, True),
    ({"highway": "residential", "foot": "no"}, False),
    ({"highway": "service", "access": "private"}, False),
    ({"highway": "service", "access": "no"}, False),
    ({"highway": "service", "access": "private", "foot": "yes"}, True),  # OSM: foot overrides
    ({"highway": "service", "access": "private", "foot": "designated"}, True),
    ({"highway": "service", "service": "private"}, False),
    ({"highway": "service", "service": "driveway"}, True),
    ({"highway": "pedestrian", "area": "yes"}, False),
    ({"highway": "primary", "sidewalk": "separate"}, False),  # its footway is walked instead
    ({"highway": "primary", "sidewalk:left": "separate"}, False),
    ({"highway": "primary", "sidewalk": "both"}, True),
    ({"highway": "cycleway"}, False),
    ({"highway": "cycleway", "foot": "yes"}, True),
    ({"highway": "motorway", "foot": "yes"}, False),
    ({"highway": "trunk"}, False),
    ({"highway": "construction"}, False),
    ({"highway": "steps", "foot": "use_sidepath"}, False),
    ({"waterway": "river"}, False),
])  # fmt: skip
def test_the_walking_rules(tags, walked):
    assert walkable(tags) is walked


def test_gdal_other_tags_are_read_with_escapes():
    packed = '"foot"=>"no","name:en"=>"A \\"quoted\\" lane","note"=>"a\\\\b"'
    assert other_tags(packed) == {"foot": "no", "name:en": 'A "quoted" lane', "note": "a\\b"}
    assert other_tags(None) == {} and other_tags(float("nan")) == {}


def _osm(path, ways):
    """An OSM XML file of ways, each ``(id, tags, [(lon, lat), ...])``."""
    nodes, xml, next_id = [], [], 1
    for way_id, tags, points in ways:
        refs = []
        for lon, lat in points:
            nodes.append(f'<node id="{next_id}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>')
            refs.append(f'<nd ref="{next_id}"/>')
            next_id += 1
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        xml.append(f'<way id="{way_id}" version="1">{"".join(refs)}{tag_xml}</way>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
                    + "\n".join(nodes + xml) + "\n</osm>\n", encoding="utf-8")  # fmt: skip


def test_an_extract_loses_private_and_no_foot_ways_and_a_gated_shortcut_is_walked_round(tmp_path):
    """Two streets 333 m apart, joined by a public footway 5 km east and, at the west end, by
    a compound's private lane and a foot=no ramp: a walker goes round by the footway."""
    lons = np.linspace(116.20, 116.26, 61)
    south = [(lon, 39.850) for lon in lons]
    north = [(lon, 39.853) for lon in lons]
    across_west = [(116.20, 39.850), (116.20, 39.853)]  # shares the streets' end nodes' places
    path = tmp_path / "compound.osm"
    _osm(path, [
        (1, {"highway": "residential"}, south),
        (2, {"highway": "residential"}, north),
        (3, {"highway": "footway"}, [(116.26, 39.850), (116.26, 39.853)]),
        (4, {"highway": "service", "access": "private"}, across_west),
        (5, {"highway": "residential", "foot": "no"}, [(116.2001, 39.850), (116.2001, 39.853)]),
        (6, {"highway": "service", "access": "private", "foot": "yes"},
         [(116.23, 39.8501), (116.23, 39.8509)]),  # a private lane open to walkers: kept
    ])  # fmt: skip
    lines = read_network_lines(path)
    assert sorted(lines["osm_id"].astype(int)) == [1, 2, 3, 6]
    lines.attrs["source"] = path.name

    area = geopandas.GeoDataFrame({"code": ["110106017000"], "name": ["compound"],
                                   "population": [10_000]},
                                  geometry=[box(116.195, 39.8485, 116.265, 39.8545)],
                                  crs=4326)  # fmt: skip
    station = geopandas.GeoDataFrame(geometry=[Point(116.20, 39.850)], crs=4326)
    walked = analyse(area, station, network=lines, with_gaps=False)
    north_west = walked.cells[(walked.cells.lat > 39.8525) & (walked.cells.lon < 116.203)]
    assert len(north_west) > 0
    assert (north_west.nearest_m > 9_000).all()  # not through the gate: 5 km there and back


def test_a_line_file_is_filtered_by_its_tags_but_keeps_lines_without_any(tmp_path):
    lines = geopandas.GeoDataFrame(
        {"highway": ["footway", "service", None], "access": [None, "private", None]},
        geometry=geopandas.GeoSeries.from_wkt(["LINESTRING (116.2 39.85, 116.21 39.85)",
                                               "LINESTRING (116.2 39.86, 116.21 39.86)",
                                               "LINESTRING (116.2 39.87, 116.21 39.87)"]),
        crs=4326,
    )  # fmt: skip
    path = tmp_path / "drawn.geojson"
    lines.to_file(path)
    kept = read_network_lines(path)
    assert list(kept.geometry.bounds.miny) == [39.85, 39.87]  # the private service is gone
