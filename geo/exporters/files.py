"""Export stations and enterprises: GeoJSON, GeoPackage, FlatGeobuf, GeoParquet, Shapefile, KML,
CSV, XLSX, and map-platform layouts.

Files carry the same field names the importers read, so export → import gives the same rows.
Coordinates are WGS-84 unless ``crs`` asks for GCJ-02 (Amap, Tencent) or BD-09 (Baidu): the
only place data leaves WGS-84 is here, at the edge. A file says which system it is in: a
GeoPackage, FlatGeobuf, GeoParquet or Shapefile labels shifted points with a CRS named GCJ-02
or BD-09 (:func:`geo.crs.crs_label`; neither has an EPSG code), and GeoJSON and KML, which are
WGS-84 by definition, refuse them (see :mod:`geo.exporters.vector`). CSV and XLSX have no CRS
to label: the command says which system it wrote.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from geo.crs import CoordSystem, convert, crs_label
from geo.errors import InvalidInputError
from geo.exporters.vector import DRIVERS, check_vector_crs, write_frame
from geo.vocab import LABELS_ZH, Amenity, StationKind


class ExportLayout(StrEnum):
    """``records``: our own fields (re-importable). ``amap``/``baidu``: the columns a union
    fills in to submit points to those platforms in bulk, in their coordinate systems."""

    RECORDS = "records"
    AMAP = "amap"
    BAIDU = "baidu"
    HSDS = "hsds"  # Open Referral HSDS 3.0, a folder of CSVs: see geo/exporters/hsds.py


STATION_FIELDS = (
    "source", "external_id", "kind", "name", "lon", "lat", "address", "phone", "host_type",
    "host_name", "status", "opened_on", "closed_on", "amenities", "services", "opening_hours",
    "access", "access_condition", "floor_area_m2", "seats", "source_crs", "last_verified_at",
)  # fmt: skip
ENTERPRISE_FIELDS = (
    "source", "external_id", "name", "lon", "lat", "address", "employees", "outdoor_workers",
    "union_status", "industry", "registration_code",
)  # fmt: skip
LIST_FIELDS = {"amenities", "services", "access"}
VECTOR = {".geojson", *DRIVERS}
FORMATS = {*VECTOR, ".csv", ".xlsx"}


def _select(table: str, fields: Sequence[str]) -> str:
    columns = ", ".join(
        "ST_X(geom) AS lon" if f == "lon" else "ST_Y(geom) AS lat" if f == "lat" else f
        for f in fields
    )
    # Soft-deleted rows are not exported.
    return f"SELECT {columns} FROM {table} WHERE deleted_at IS NULL ORDER BY source, external_id"  # noqa: S608


def fetch_rows(conn: Connection, table: str) -> list[dict[str, Any]]:
    """Every row of ``stations`` or ``enterprises`` as plain values (lon/lat in WGS-84)."""
    fields = {"stations": STATION_FIELDS, "enterprises": ENTERPRISE_FIELDS}.get(table)
    if fields is None:
        raise InvalidInputError(f"cannot export {table!r}", field="table")
    return [dict(row._mapping) for row in conn.execute(text(_select(table, fields)))]


BOUNDARY_FIELDS = (
    "code", "name", "level", "parent_code", "vintage", "valid_from", "valid_to",
    "population", "population_year", "population_source", "communities",
)  # fmt: skip


def write_boundaries(conn: Connection, path: Path, *, vintage: str | None = None,
                     crs: CoordSystem = CoordSystem.WGS84) -> int:  # fmt: skip
    """Boundaries (all, or one vintage) to any vector format, importable back unchanged; in
    GCJ-02 or BD-09 (labelled; not GeoJSON or KML) every vertex is shifted."""
    import geopandas
    import numpy as np
    import shapely

    if path.suffix.lower() not in VECTOR:
        raise InvalidInputError(f"boundaries export to {', '.join(sorted(VECTOR))} "
                                "(polygons need geometry)")  # fmt: skip
    check_vector_crs(path.suffix.lower(), crs)
    columns = ", ".join(BOUNDARY_FIELDS)
    frame = geopandas.read_postgis(
        text(f"SELECT {columns}, geom FROM boundaries "  # noqa: S608 - fixed column list
             "WHERE CAST(:vintage AS text) IS NULL OR vintage = :vintage ORDER BY vintage, code"),
        conn, geom_col="geom", params={"vintage": vintage},
    )  # fmt: skip
    for column in ("valid_from", "valid_to"):
        frame[column] = frame[column].map(lambda d: d.isoformat() if d is not None else None)
    if crs is not CoordSystem.WGS84:

        def shift(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(convert(xy[:, 0], xy[:, 1], CoordSystem.WGS84, crs))

        frame = frame.set_geometry(shapely.transform(frame.geometry.to_numpy(), shift))
        frame = frame.set_crs(crs_label(crs), allow_override=True)
    if path.suffix.lower() == ".geojson":
        frame.to_file(path, driver="GeoJSON")
    else:
        write_frame(frame.rename_geometry("geometry"), path)
    return len(frame)


def _in_crs(rows: list[dict[str, Any]], crs: CoordSystem) -> list[dict[str, Any]]:
    if crs is CoordSystem.WGS84 or not rows:
        return rows
    out = []
    for row in rows:
        lon, lat = convert(row["lon"], row["lat"], CoordSystem.WGS84, crs)
        out.append({**row, "lon": round(float(lon), 7), "lat": round(float(lat), 7)})
    return out


def _cell(value: Any, field: str) -> Any:
    if value is None:
        return ""
    if field in LIST_FIELDS:
        return ";".join(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _platform_rows(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """名称, 地址, 经度, 纬度, 类型, 电话, 营业时间, 设施 — labels in Chinese for the uploader."""
    header = ["名称", "地址", "经度", "纬度", "类型", "电话", "营业时间", "设施"]
    body = []
    for row in rows:
        amenities = "、".join(LABELS_ZH[Amenity(a)] for a in row.get("amenities") or [])
        body.append([row["name"], row.get("address") or "", row["lon"], row["lat"],
                     LABELS_ZH[StationKind(row["kind"])], row.get("phone") or "",
                     row.get("opening_hours") or "", amenities])  # fmt: skip
    return header, body


def layout_crs(layout: ExportLayout, crs: CoordSystem) -> CoordSystem:
    """The coordinate system a file will be in: platform layouts fix their own."""
    if layout in (ExportLayout.RECORDS, ExportLayout.HSDS):
        return crs
    expected = CoordSystem.GCJ02 if layout is ExportLayout.AMAP else CoordSystem.BD09
    if crs not in (CoordSystem.WGS84, expected):
        raise InvalidInputError(f"the {layout} layout is always in {expected}", field="crs")
    return expected


def write_rows(rows: list[dict[str, Any]], path: Path, *, fields: Sequence[str],
               crs: CoordSystem = CoordSystem.WGS84,
               layout: ExportLayout = ExportLayout.RECORDS) -> int:  # fmt: skip
    """Write ``rows`` to ``path`` (format from its suffix); return how many were written."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInputError(f"unsupported export format {suffix!r}; use {sorted(FORMATS)}")
    if layout is ExportLayout.HSDS:
        raise InvalidInputError("HSDS is a folder of tables: use geo.exporters.hsds.write_hsds")
    crs = layout_crs(layout, crs)
    if layout is not ExportLayout.RECORDS and suffix not in {".csv", ".xlsx"}:
        raise InvalidInputError(f"the {layout} layout is a spreadsheet: use .csv or .xlsx")
    check_vector_crs(suffix, crs)
    rows = _in_crs(rows, crs)
    if suffix in VECTOR:
        _write_vector(rows, path, fields, crs)
        return len(rows)
    if layout is ExportLayout.RECORDS:
        header = list(fields)
        body = [[_cell(row.get(f), f) for f in fields] for row in rows]
    else:
        header, body = _platform_rows(rows)
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as handle:  # BOM: Excel reads UTF-8
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(body)
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("stations")
        sheet.append(header)
        for line in body:
            sheet.append(line)
        workbook.save(path)
    return len(rows)


def _write_vector(rows: list[dict[str, Any]], path: Path, fields: Sequence[str],
                  crs: CoordSystem = CoordSystem.WGS84) -> None:  # fmt: skip
    properties = [f for f in fields if f not in {"lon", "lat"}]
    if path.suffix.lower() == ".geojson":
        features = [
            {"type": "Feature",
             "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
             "properties": {f: _json_value(row.get(f)) for f in properties}}
            for row in rows
        ]  # fmt: skip
        document = {"type": "FeatureCollection", "features": features}
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        return
    import geopandas
    from shapely import points

    frame = geopandas.GeoDataFrame(
        {f: [_cell(row.get(f), f) if f in LIST_FIELDS or f.endswith(("_on", "_at"))
             else row.get(f) for row in rows] for f in properties},
        geometry=points([[row["lon"], row["lat"]] for row in rows]) if rows else [],
        crs=crs_label(crs),
    )  # fmt: skip
    write_frame(frame, path)


def _json_value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
