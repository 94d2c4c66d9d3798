"""Import one file of a given kind: read, fix coordinates, validate, upsert, report.

Everything happens in the caller's transaction, so an import is all-or-nothing: a crash or a
``--strict`` refusal leaves the database as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.importers._validate import (
    ImportReport,
    Progress,
    Rejection,
    SourceRow,
    in_file_order,
    validate_rows,
)
from geo.importers.audited import KEYS_SQL, EditorImport
from geo.importers.boundaries import read_boundaries, read_vector_points
from geo.importers.coords import SourceCrs, prepare_points
from geo.importers.geojson import read_features
from geo.importers.records import BoundaryRecord, EnterpriseRecord, StationRecord
from geo.importers.tables import read_csv, read_xlsx
from geo.importers.upsert import (
    UpsertCounts,
    upsert_boundaries,
    upsert_enterprises,
    upsert_stations,
)


class ImportKind(StrEnum):
    BOUNDARIES = "boundaries"
    STATIONS = "stations"
    ENTERPRISES = "enterprises"


Writer = Callable[[Session, Sequence[Any]], UpsertCounts]
_KINDS: dict[ImportKind, tuple[type[BaseModel], Writer]] = {
    ImportKind.BOUNDARIES: (BoundaryRecord, upsert_boundaries),
    ImportKind.STATIONS: (StationRecord, upsert_stations),
    ImportKind.ENTERPRISES: (EnterpriseRecord, upsert_enterprises),
}
VECTOR_POINT_FORMATS = {".gpkg", ".fgb", ".parquet", ".shp", ".kml"}
POINT_FORMATS = {".geojson", ".json", ".csv", ".xlsx", *VECTOR_POINT_FORMATS}


def row_defaults(kind: ImportKind, *, source: str | None = None, level: str | None = None,
                 vintage: str | None = None, station_kind: str | None = None,
                 kind_option: str = "kind") -> dict[str, str]:  # fmt: skip
    """What fills the fields a row leaves empty (``import_file``'s ``defaults``); a station
    kind only for stations. ``kind_option`` names the option in the caller's words."""
    if station_kind and kind is not ImportKind.STATIONS:
        raise InvalidInputError(f"{kind_option} is for stations: the kind of rows without one",
                                field=kind_option.lstrip("-"))  # fmt: skip
    given = {"source": source, "level": level, "vintage": vintage, "kind": station_kind}
    return {field: value for field, value in given.items() if value}


def import_file(
    session: Session,
    path: Path,
    kind: ImportKind,
    *,
    strict: bool = False,
    crs: SourceCrs = CoordSystem.WGS84,
    mapping: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    ignore_unknown: bool = False,
    on_progress: Progress | None = None,
    editor: EditorImport | None = None,
) -> ImportReport:
    """Import ``path`` into the session's open transaction.

    Valid rows are written and bad ones reported with their line (or feature) and column;
    with ``strict`` any bad row raises ``InvalidInputError`` before anything is written.
    ``crs`` names the coordinate system of point files (converted to WGS-84 here);
    ``mapping`` adds header→field names; ``defaults`` fill fields a row lacks (``source``
    defaults to the file name, ``level``/``vintage`` for boundary layers); ``ignore_unknown``
    drops unmapped boundary columns instead of refusing the file. A later row repeating an
    earlier row's key is rejected: the upsert could not tell which one is meant. With
    ``editor`` (imports through the API) rows outside a district editor's district are
    rejected too, and every row written is audited.
    """
    warnings: list[Rejection] = []
    if kind is ImportKind.BOUNDARIES:
        rows, rejected, warnings = read_boundaries(path, mapping, crs=crs, defaults=defaults,
                                                   ignore_unknown=ignore_unknown)  # fmt: skip
    else:
        rows, rejected, crs = _read_points(path, mapping, crs)
        rows, swapped = prepare_points(rows, crs, path.name,
                                       record_crs=kind is ImportKind.STATIONS)  # fmt: skip
        rejected.extend(swapped)
        filled = {"source": path.stem, **(defaults or {})}
        rows = [_with_identity(row, filled) for row in rows]
    model, write = _KINDS[kind]
    good, bad = validate_rows(rows, model, path.name, on_progress)
    rejected.extend(bad)
    records, seen, kept_rows = [], set(), []
    for row, record in good:
        key = _key(record)
        if key in seen:
            reason = f"duplicate key {key!r} in this file"
            rejected.append(Rejection(path.name, row.location, "external_id", reason))
            continue
        seen.add(key)
        records.append(record)
        kept_rows.append(row)
    if editor is not None:
        refused = editor.admit(session, kind.value, records)
        rejected += [Rejection(path.name, kept_rows[i].location, "lon", reason)
                     for i, reason in refused.items()]  # fmt: skip
        kept = [i for i in range(len(records)) if i not in refused]
        records, kept_rows = [records[i] for i in kept], [kept_rows[i] for i in kept]
    rejected = in_file_order(rejected)
    if strict and rejected:
        first = rejected[0]
        raise InvalidInputError(
            f"{first.file} {first.location}: {first.column or 'row'}: {first.reason} "
            f"({len(rejected)} rejected in all; nothing was written)"
        )
    actor = f"import:{path.name}" if editor is None else f"api:{editor.actor} import:{path.name}"
    session.execute(text("SELECT set_config('nuanxin.actor', :actor, true)"), {"actor": actor})
    counts = write(session, records)
    if editor is not None:
        editor.written(session, kind.value, counts)
    if (
        counts.outside
        and session.execute(text("SELECT EXISTS (SELECT 1 FROM boundaries)")).scalar()
    ):
        reason = "lies in no loaded boundary: check the coordinate system (--crs) and the place"
        warnings += [
            Rejection(path.name, kept_rows[i].location, "lon", reason) for i in counts.outside
        ]
    if kind is not ImportKind.BOUNDARIES:
        reason = "matches a deleted row: kept deleted (an admin can revert the delete)"
        warnings += [Rejection(path.name, kept_rows[i].location, "external_id", reason)
                     for i in _deleted(session, kind.value, records)]  # fmt: skip
    report = ImportReport(path.name, kind.value, counts.inserted, counts.updated,
                          counts.unchanged, tuple(rejected))  # fmt: skip
    return replace(report, warnings=tuple(warnings))


def _read_points(
    path: Path, mapping: Mapping[str, str] | None, crs: SourceCrs
) -> tuple[list[SourceRow], list[Rejection], SourceCrs]:
    """The file's point rows, its rejections, and the system its coordinates are in (``crs``
    unless the file says otherwise)."""
    suffix = path.suffix.lower()
    if suffix in {".geojson", ".json"}:
        return *read_features(path, points=True, mapping=mapping), crs
    if suffix == ".csv":
        return read_csv(path, mapping), [], crs
    if suffix == ".xlsx":
        return read_xlsx(path, mapping), [], crs
    if suffix in VECTOR_POINT_FORMATS:
        return read_vector_points(path, crs, mapping)
    raise InvalidInputError(
        f"{path.name}: unsupported format {suffix!r}; use one of {sorted(POINT_FORMATS)}"
    )


def _with_identity(row: SourceRow, defaults: Mapping[str, Any]) -> SourceRow:
    """Fill defaults; without an id, rows are matched by name and address on re-import."""
    values = {**defaults, **row.values}
    if "external_id" not in values and values.get("name"):
        basis = f"{values.get('name', '')}|{values.get('address', '')}"
        values["external_id"] = "name:" + hashlib.sha1(basis.encode()).hexdigest()[:16]  # noqa: S324
    elif "external_id" in values:
        values["external_id"] = str(values["external_id"])
    return SourceRow(row.location, values)


_DELETED_SQL = f"""
SELECT k.i - 1
  FROM {KEYS_SQL} JOIN {{table}} AS t ON t.source = k.source AND t.external_id = k.eid
 WHERE t.deleted_at IS NOT NULL
 ORDER BY k.i
"""  # noqa: S608 - table names come from ImportKind only


def _deleted(session: Session, table: str, records: Sequence[BaseModel]) -> list[int]:
    """Positions of records whose row was deleted (softly) by an editor: the import does not
    bring it back, and says so, rather than count a row nobody will see as imported."""
    keys = [_key(r) for r in records]
    values = {"sources": [k[0] for k in keys], "ids": [k[1] for k in keys]}
    found = session.execute(text(_DELETED_SQL.format(table=table)), values)
    return [int(i) for (i,) in found]


def _key(record: BaseModel) -> tuple[str, ...]:
    if isinstance(record, BoundaryRecord):
        return (record.code, record.vintage)
    if isinstance(record, StationRecord | EnterpriseRecord):
        return (record.source, record.external_id)
    raise TypeError(f"no key for {type(record).__name__}")
