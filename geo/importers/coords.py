"""Coordinates of imported points: refuse swapped lat/lon, convert GCJ-02/BD-09 to WGS-84.

Runs on raw rows before validation, so a record only ever holds WGS-84.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from geo.crs import CoordSystem, convert, parse_coord_system
from geo.errors import InvalidInputError
from geo.importers._validate import Rejection, SourceRow

# Where points come from: one of the Chinese web-map systems, or any EPSG CRS (pyproj).
SourceCrs = CoordSystem | CRS
FloatArray = NDArray[np.float64]


def parse_source_crs(text: str) -> SourceCrs:
    """``wgs84``, ``gcj02``, ``bd09``, ``cgcs2000`` (= WGS-84 here) or ``EPSG:n``."""
    try:
        return parse_coord_system(text)
    except ValueError as exc:
        if not re.fullmatch(r"(?i)epsg:\d{4,6}", text.strip()):
            raise InvalidInputError(str(exc), field="crs") from exc
        try:
            return CRS.from_user_input(text.strip().upper())
        except Exception as pyproj_error:  # pyproj raises CRSError, a broad family
            raise InvalidInputError(f"unknown CRS {text!r}", field="crs") from pyproj_error


# Mainland China and around, generously: used only to spot swapped columns.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _in_china(lon: float, lat: float) -> bool:
    return CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]


def _to_wgs84(lon: FloatArray, lat: FloatArray, crs: SourceCrs) -> tuple[FloatArray, FloatArray]:
    if isinstance(crs, CoordSystem):
        return convert(lon, lat, crs, CoordSystem.WGS84)
    x, y = Transformer.from_crs(crs, 4326, always_xy=True).transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _label(crs: SourceCrs) -> str:
    return crs.value if isinstance(crs, CoordSystem) else (crs.to_string() or "custom")


def _row_crs(values: dict[str, Any], default: SourceCrs) -> SourceCrs:
    """The row's own system (a ``coord_system`` / 坐标系 column, taken out) or the file's."""
    text = str(values.pop("coord_system", None) or "").strip()
    return parse_source_crs(text) if text else default


def prepare_points(rows: Iterable[SourceRow], crs: SourceCrs, file: str,
                   *, record_crs: bool) -> tuple[list[SourceRow], list[Rejection]]:  # fmt: skip
    """Rows with ``lon``/``lat`` in WGS-84; swapped pairs rejected, others left to validation.

    A row naming its own system (a ``coord_system`` / 坐标系 column: a union's sheet often mixes
    Amap and GPS points) is converted from that system, else from ``crs``. Conversion runs once
    per system over its rows (vectorised), not row by row. With ``record_crs`` the row also
    carries ``source_crs`` (stations keep where data came from; a ``source_crs`` column, as our
    exports write it, is kept as provenance and converts nothing).
    """
    kept: list[dict[str, Any]] = []
    locations: list[str] = []
    to_convert: dict[str, tuple[SourceCrs, list[int]]] = {}
    rejected: list[Rejection] = []
    for row in rows:
        values = dict(row.values)
        try:
            row_crs = _row_crs(values, crs)
        except InvalidInputError as exc:
            rejected.append(Rejection(file, row.location, "coord_system", exc.message))
            continue
        geographic = isinstance(row_crs, CoordSystem) or row_crs.is_geographic
        lon, lat = _number(values.get("lon")), _number(values.get("lat"))
        if lon is not None and lat is not None and math.isfinite(lon) and math.isfinite(lat):
            if geographic and not _in_china(lon, lat) and _in_china(lat, lon):
                reason = f"lat/lon look swapped (lon={lon}, lat={lat}); lon comes first"
                rejected.append(Rejection(file, row.location, "lon", reason))
                continue
            in_range = -180 <= lon <= 180 and -90 <= lat <= 90
            if row_crs is not CoordSystem.WGS84 and (in_range or not geographic):
                values["lon"], values["lat"] = lon, lat
                label = _label(row_crs)
                to_convert.setdefault(label, (row_crs, []))[1].append(len(kept))
        if record_crs:
            values.setdefault("source_crs", _label(row_crs))
        kept.append(values)
        locations.append(row.location)
    for system, indices in to_convert.values():
        lons = np.array([kept[i]["lon"] for i in indices], dtype=np.float64)
        lats = np.array([kept[i]["lat"] for i in indices], dtype=np.float64)
        out_lon, out_lat = _to_wgs84(lons, lats, system)
        for i, x, y in zip(indices, out_lon.tolist(), out_lat.tolist(), strict=True):
            kept[i]["lon"], kept[i]["lat"] = x, y
    return [SourceRow(loc, v) for loc, v in zip(locations, kept, strict=True)], rejected
