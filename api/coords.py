"""``coords=wgs84|gcj02|bd09`` on any endpoint: storage stays WGS-84, output shifts at the edge.

Partners drawing on Amap or Tencent basemaps need GCJ-02, on Baidu BD-09. GeoJSON from PostGIS
is shifted here in one vectorised pass over every coordinate of the document.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import Query

from geo.crs import CoordSystem, convert

CoordsQuery = Annotated[
    CoordSystem,
    Query(description="coordinate system of the output (and of lon/lat input where there is "
          "one): wgs84 (GPS, OSM), gcj02 (Amap, Tencent), bd09 (Baidu)"),
]  # fmt: skip


def _positions(node: Any, found: list[list[float]]) -> None:
    """Collect every position ([lon, lat, ...] list) in a GeoJSON coordinates tree, in place."""
    if node and isinstance(node[0], (int, float)):
        found.append(node)
        return
    for child in node:
        _positions(child, found)


def _geometries(document: Any) -> list[dict[str, Any]]:
    kind = document.get("type") if isinstance(document, dict) else None
    if kind == "FeatureCollection":
        return [g for f in document.get("features", []) for g in _geometries(f)]
    if kind == "Feature":
        return _geometries(document.get("geometry") or {})
    if kind == "GeometryCollection":
        return [g for child in document.get("geometries", []) for g in _geometries(child)]
    if kind and "coordinates" in document:
        return [document]
    return []


def shift_geojson(document: Any, system: CoordSystem) -> Any:
    """``document`` (a GeoJSON object) with its coordinates in ``system``; modified in place.

    A ``bbox`` member is not shifted: callers that emit one compute it after shifting.
    """
    if system is CoordSystem.WGS84:
        return document
    positions: list[list[float]] = []
    for geometry in _geometries(document):
        _positions(geometry["coordinates"], positions)
    if positions:
        xy = np.array([p[:2] for p in positions], dtype=np.float64)
        lon, lat = convert(xy[:, 0], xy[:, 1], CoordSystem.WGS84, system)
        for position, x, y in zip(positions, lon.tolist(), lat.tolist(), strict=True):
            position[0], position[1] = round(x, 7), round(y, 7)
    return document


def shift_point(lon: float, lat: float, system: CoordSystem) -> tuple[float, float]:
    """One WGS-84 point in ``system`` (7 decimals: about a centimetre)."""
    x, y = convert(lon, lat, CoordSystem.WGS84, system)
    return round(x, 7), round(y, 7)


def to_wgs84(lon: float, lat: float, system: CoordSystem) -> tuple[float, float]:
    """An input point given in ``system`` back to WGS-84 (exact iterative inverse)."""
    return convert(lon, lat, system, CoordSystem.WGS84)
