"""Import one file of a given kind: read, validate, upsert, report — in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from geo.errors import InvalidInputError
from geo.importers._validate import ImportReport, Rejection, in_file_order, validate_rows
from geo.importers.geojson import read_features
from geo.importers.upsert import (
    UpsertCounts,
    upsert_boundaries,
    upsert_enterprises,
    upsert_stations,
)
from geo.records import BoundaryRecord, EnterpriseRecord, StationRecord


class ImportKind(StrEnum):
    BOUNDARIES = "boundaries"
    STATIONS = "stations"
    ENTERPRISES = "enterprises"


_KINDS: dict[ImportKind, tuple[type[BaseModel], Callable[[Session, Sequence[Any]], UpsertCounts]]]
_KINDS = {
    ImportKind.BOUNDARIES: (BoundaryRecord, upsert_boundaries),
    ImportKind.STATIONS: (StationRecord, upsert_stations),
    ImportKind.ENTERPRISES: (EnterpriseRecord, upsert_enterprises),
}


def import_file(session: Session, path: Path, kind: ImportKind, *,
                strict: bool = False) -> ImportReport:  # fmt: skip
    """Import ``path`` into the session's open transaction.

    Valid rows are written and bad ones reported; with ``strict`` any bad row raises
    ``InvalidInputError`` before anything is written. Duplicate keys within one file are
    rejected too (the later row), since an upsert could not tell which one is meant.
    """
    if path.suffix.lower() not in {".geojson", ".json"}:
        raise InvalidInputError(f"{path.name}: only GeoJSON is supported by this importer")
    model, write = _KINDS[kind]
    rows, rejected = read_features(path, points=kind is not ImportKind.BOUNDARIES)
    good, bad = validate_rows(rows, model, path.name)
    rejected.extend(bad)
    records, seen = [], set()
    for row, record in good:
        key = _key(record)
        if key in seen:
            reason = f"duplicate key {key!r} in this file"
            rejected.append(Rejection(path.name, row.location, "external_id", reason))
            continue
        seen.add(key)
        records.append(record)
    rejected = in_file_order(rejected)
    if strict and rejected:
        first = rejected[0]
        raise InvalidInputError(
            f"{first.file} {first.location}: {first.column or 'row'}: {first.reason} "
            f"({len(rejected)} rejected in all; nothing was written)"
        )
    counts = write(session, records)
    return ImportReport(path.name, kind.value, counts.inserted, counts.updated,
                        counts.unchanged, tuple(rejected))  # fmt: skip


def _key(record: BaseModel) -> tuple[str, ...]:
    if isinstance(record, BoundaryRecord):
        return (record.code, record.vintage)
    if isinstance(record, StationRecord | EnterpriseRecord):
        return (record.source, record.external_id)
    raise TypeError(f"no key for {type(record).__name__}")
