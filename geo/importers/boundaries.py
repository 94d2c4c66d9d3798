"""Read boundary layers (GeoJSON, Shapefile folder or zip, GeoPackage, FlatGeobuf, GeoParquet,
KML).

Any declared CRS is reprojected to WGS-84; a GCJ-02/BD-09 layer (declared with ``crs``) is
shifted vertex by vertex. Invalid polygons are repaired when the repair is still polygonal,
with a warning; otherwise the row is rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.crs import CoordSystem, convert, shifted_system
from geo.errors import InvalidInputError
from geo.importers._validate import Rejection, SourceRow
from geo.importers.coords import SourceCrs
from geo.importers.vector import read_frame

BOUNDARY_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "adcode", "gb", "区划代码", "代码", "统计代码"),
    "name": ("name", "名称", "区划名称"),
    "level": ("level", "级别", "层级"),
    "parent_code": ("parent_code", "parentcode", "上级代码"),
    "vintage": ("vintage", "版本", "年份"),
    "valid_from": ("valid_from", "生效日期"),
    "valid_to": ("valid_to", "失效日期"),
    "population": ("population", "人口", "常住人口"),
    "population_year": ("population_year", "人口年份"),
    "population_source": ("population_source", "人口来源"),
    "communities": ("communities", "社区数"),
}
_INDEX = {a.lower(): f for f, aliases in BOUNDARY_ALIASES.items() for a in aliases}
# Columns GDAL's KML drivers add to every layer: styling and timing, never boundary data.
BOUNDARY_FORMATS = {".geojson", ".json", ".shp", ".zip", ".gpkg", ".kml", ".fgb", ".parquet"}


def _open_path(path: Path) -> str:
    if path.is_dir() or path.suffix.lower() in BOUNDARY_FORMATS - {".zip"}:
        return str(path)
    if path.suffix.lower() == ".zip":
        return f"/vsizip/{path}"
    raise InvalidInputError(
        f"{path.name}: unsupported boundary format; use one of {sorted(BOUNDARY_FORMATS)} "
        "or a folder holding a shapefile"
    )


def _fields(columns: list[str], mapping: Mapping[str, str] | None,
            ignore_unknown: bool) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    explicit = {k.lower(): v for k, v in (mapping or {}).items()}
    fields, unknown = {}, []
    for column in columns:
        field = explicit.get(column.lower(), _INDEX.get(column.lower()))
        if field is None:
            unknown.append(column)
        elif field:
            fields[column] = field
    if unknown and not ignore_unknown:
        raise InvalidInputError(
            f"unknown column(s) {unknown}: map them with --map 'column=field', or pass "
            f"--ignore-unknown to drop them; fields: {sorted(BOUNDARY_ALIASES)}",
            field="columns",
        )
    return fields, unknown


def _shift(geometry: BaseGeometry, crs: CoordSystem) -> BaseGeometry:
    def to_wgs84(coords: np.ndarray) -> np.ndarray:
        lon, lat = convert(coords[:, 0], coords[:, 1], crs, CoordSystem.WGS84)
        return np.column_stack([lon, lat])

    return shapely.transform(geometry, to_wgs84)


def _polygonal(geometry: BaseGeometry) -> tuple[BaseGeometry, bool]:
    """The geometry as a valid MultiPolygon if possible, and whether it had to be repaired."""
    if geometry.is_valid:
        return geometry, False
    repaired = shapely.make_valid(geometry)
    parts = [
        g for g in getattr(repaired, "geoms", [repaired]) if isinstance(g, Polygon | MultiPolygon)
    ]
    polygons = [p for part in parts for p in getattr(part, "geoms", [part])]
    return (MultiPolygon(polygons) if polygons else repaired), True


def read_boundaries(
    path: Path,
    mapping: Mapping[str, str] | None = None,
    *,
    crs: SourceCrs = CoordSystem.WGS84,
    defaults: Mapping[str, Any] | None = None,
    ignore_unknown: bool = False,
) -> tuple[list[SourceRow], list[Rejection], list[Rejection]]:
    """Rows (``geometry`` in WGS-84), rejections, and warnings for repaired polygons."""
    frame = read_frame(path, _open_path(path))
    shift: CoordSystem | None = None
    if isinstance(crs, CoordSystem) and crs is not CoordSystem.WGS84:
        shift = crs
    labelled = declared_shift(frame.crs, crs, path)
    if labelled is not None:
        shift = labelled  # GCJ-02/BD-09 as the file says: unshift, do not reproject
    elif frame.crs is None:
        if not isinstance(crs, CRS):
            raise InvalidInputError(
                f"{path.name}: declares no CRS (a shapefile needs its .prj); name one with --crs"
            )
        frame = frame.set_crs(crs)
    if labelled is None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    fields, _ = _fields(columns, mapping, ignore_unknown)
    rows, rejected, warnings = [], [], []
    for number, (values, geometry) in enumerate(
        zip(frame[list(fields)].to_dict("records"), frame.geometry, strict=True), start=1
    ):
        location = f"feature {number}"
        if geometry is None or geometry.is_empty:
            rejected.append(Rejection(path.name, location, "geometry", "no geometry"))
            continue
        if shift is not None:
            geometry = _shift(geometry, shift)
        geometry, repaired = _polygonal(geometry)
        if repaired:
            warnings.append(Rejection(path.name, location, "geometry", "invalid polygon repaired"))
        row = {
            **(defaults or {}),
            **{fields[k]: _plain(v) for k, v in values.items() if _plain(v) is not None},
        }
        row["geometry"] = geometry
        rows.append(SourceRow(location, row))
    return rows, rejected, warnings


def _plain(value: Any) -> Any:
    """numpy scalars and NaN from the data frame as plain Python values (NaN -> None)."""
    if value is None:
        return None
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def declared_shift(declared: CRS | None, asked: SourceCrs, path: Path) -> CoordSystem | None:
    """GCJ-02 or BD-09 when the file's CRS says so (as our exports label them); an ``asked``
    system (``--crs``) other than WGS-84 (the default) that contradicts it is refused."""
    labelled = shifted_system(declared)
    if labelled is not None and asked not in (CoordSystem.WGS84, labelled):
        raise InvalidInputError(f"{path.name} is labelled {labelled} but --crs says {asked}: "
                                "leave out --crs", field="crs")  # fmt: skip
    return labelled


def read_vector_points(path: Path, crs: SourceCrs = CoordSystem.WGS84,
                       mapping: Mapping[str, str] | None = None,
                       ) -> tuple[list[SourceRow], list[Rejection], SourceCrs]:  # fmt: skip
    """Point rows from any vector file (GeoPackage, FlatGeobuf, GeoParquet, Shapefile, KML),
    and the system their ``lon``/``lat`` are in: WGS-84, or GCJ-02/BD-09 when the file is
    labelled so. ``mapping`` renames columns to fields as for a sheet ("" drops one)."""
    frame = read_frame(path, _open_path(path))
    if mapping:
        explicit = {k.lower(): v for k, v in mapping.items()}
        named = {c: explicit[c.lower()] for c in frame.columns if c.lower() in explicit}
        frame = frame.drop(columns=[c for c, f in named.items() if not f])
        frame = frame.rename(columns={c: f for c, f in named.items() if f})
    if frame.crs is None:
        raise InvalidInputError(f"{path.name}: declares no CRS")
    labelled = declared_shift(frame.crs, crs, path)
    if labelled is None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    rows, rejected = [], []
    for number, (values, geometry) in enumerate(
        zip(frame[columns].to_dict("records"), frame.geometry, strict=True), start=1
    ):
        location = f"feature {number}"
        if geometry is None or geometry.geom_type != "Point":
            kind = "no geometry" if geometry is None else geometry.geom_type
            rejected.append(
                Rejection(path.name, location, "geometry", f"expected a Point, got {kind}")
            )
            continue
        row = {k: _plain(v) for k, v in values.items() if _plain(v) not in (None, "")}
        rows.append(SourceRow(location, {**row, "lon": geometry.x, "lat": geometry.y}))
    return rows, rejected, labelled or crs
