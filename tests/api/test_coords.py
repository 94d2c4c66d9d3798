"""Output coordinates shift at the edge, every position of every geometry, nothing else."""

from __future__ import annotations

import pytest

from api.coords import shift_geojson, shift_point, to_wgs84
from geo.crs import CoordSystem, wgs84_to_bd09, wgs84_to_gcj02


def test_every_position_of_every_geometry_shifts_and_properties_do_not():
    document = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"lon": 116.3}, "geometry": {
            "type": "Point", "coordinates": [116.3, 39.9]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "MultiPolygon", "coordinates": [
            [[[116.0, 39.0], [116.1, 39.0], [116.1, 39.1], [116.0, 39.0]]]]}},
        {"type": "Feature", "properties": {}, "geometry": None},
        {"type": "Feature", "properties": {}, "geometry": {"type": "GeometryCollection",
         "geometries": [{"type": "LineString", "coordinates": [[2.35, 48.85], [116.4, 39.9]]}]}},
    ]}  # fmt: skip
    shifted = shift_geojson(document, CoordSystem.GCJ02)
    point = shifted["features"][0]["geometry"]["coordinates"]
    assert point == pytest.approx(list(wgs84_to_gcj02(116.3, 39.9)), abs=1e-7)
    ring = shifted["features"][1]["geometry"]["coordinates"][0][0]
    assert ring[1] == pytest.approx(list(wgs84_to_gcj02(116.1, 39.0)), abs=1e-7)
    assert ring[0] == ring[-1]  # rings stay closed
    line = shifted["features"][3]["geometry"]["geometries"][0]["coordinates"]
    assert line[0] == [2.35, 48.85]  # Paris is outside China: never shifted
    assert shifted["features"][0]["properties"] == {"lon": 116.3}


def test_single_points_both_ways():
    assert shift_point(116.3, 39.9, CoordSystem.BD09) == pytest.approx(
        wgs84_to_bd09(116.3, 39.9), abs=1e-7
    )
    gcj = wgs84_to_gcj02(116.3, 39.9)
    assert to_wgs84(*gcj, CoordSystem.GCJ02) == pytest.approx((116.3, 39.9), abs=1e-8)
    assert shift_geojson({"type": "Point", "coordinates": [1, 2]}, CoordSystem.WGS84) == {
        "type": "Point", "coordinates": [1, 2]}  # fmt: skip
