"""Read GeoJSON FeatureCollections into raw rows (properties plus geometry)."""

from __future__ import annotations

import json
from collections.abc import Mapping
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


def read_features(
    path: Path, *, points: bool, mapping: Mapping[str, str] | None = None
) -> tuple[list[SourceRow], list[Rejection]]:
    """Rows from a FeatureCollection; point features become ``lon``/``lat`` values.

    ``mapping`` renames properties to fields as for a sheet's headers (case-insensitive;
    ``""`` drops one), the CLI's ``--map`` and the upload API's ``map``. A file that is not a
    FeatureCollection, or declares a CRS other than WGS-84, is refused whole
    (``InvalidInputError``); a feature with a bad geometry is rejected alone.
    """
    explicit = {key.lower(): field for key, field in (mapping or {}).items()}
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
            rows.append(SourceRow(location, _row(feature, points=points, mapping=explicit)))
        except FieldClashError as exc:
            rejected.append(Rejection(path.name, location, exc.field, str(exc)))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            rejected.append(Rejection(path.name, location, "geometry", str(exc)))
    return rows, rejected


class FieldClashError(ValueError):
    """Two properties of one feature name the same field (one of them through ``mapping``)."""

    def __init__(self, field: str, keys: tuple[str, str]) -> None:
        super().__init__(f"properties {keys[0]!r} and {keys[1]!r} both give {field!r}")
        self.field = field


def _row(feature: Any, *, points: bool, mapping: Mapping[str, str]) -> dict[str, Any]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    values: dict[str, Any] = {}
    given_by: dict[str, str] = {}
    for key, value in (feature.get("properties") or {}).items():
        field = mapping.get(str(key).lower(), key)
        if not field:  # "" drops the property on purpose
            continue
        if field in values:
            raise FieldClashError(field, (given_by[field], key))
        values[field], given_by[field] = value, key
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
