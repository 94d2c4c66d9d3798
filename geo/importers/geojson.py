"""Read GeoJSON FeatureCollections into raw rows (properties plus geometry)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from geo.errors import InvalidInputError
from geo.importers._validate import Rejection, SourceRow

WGS84_NAMES = {
    None,
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:EPSG::4326",
    "EPSG:4326",
}


def read_features(path: Path, *, points: bool) -> tuple[list[SourceRow], list[Rejection]]:
    """Rows from a FeatureCollection; point features become ``lon``/``lat`` values.

    A file that is not a FeatureCollection, or declares a CRS other than WGS-84, is refused
    whole (``InvalidInputError``); a feature with a bad geometry is rejected alone.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path.name}: not readable as GeoJSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise InvalidInputError(f"{path.name}: expected a GeoJSON FeatureCollection")
    crs_name = (document.get("crs") or {}).get("properties", {}).get("name")
    if crs_name not in WGS84_NAMES:
        raise InvalidInputError(
            f"{path.name}: declares CRS {crs_name!r}; GeoJSON here must be WGS-84 (RFC 7946)"
        )
    rows: list[SourceRow] = []
    rejected: list[Rejection] = []
    for number, feature in enumerate(document.get("features") or [], start=1):
        location = f"feature {number}"
        try:
            rows.append(SourceRow(location, _row(feature, points=points)))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            rejected.append(Rejection(path.name, location, "geometry", str(exc)))
    return rows, rejected


def _row(feature: Any, *, points: bool) -> dict[str, Any]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    values = dict(feature.get("properties") or {})
    geometry = feature.get("geometry")
    if geometry is None:
        raise ValueError("feature has no geometry")
    if points:
        if geometry.get("type") != "Point":
            raise ValueError(f"expected a Point, got {geometry.get('type')}")
        coords = geometry.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            raise ValueError("Point needs [lon, lat] coordinates")
        values["lon"], values["lat"] = coords[0], coords[1]
    else:
        values["geometry"] = shape(geometry)
    return values
