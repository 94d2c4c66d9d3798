"""Idempotent writes: insert new rows, update changed ones, leave identical ones untouched.

Re-importing the same file therefore changes nothing (not even ``updated_at``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import psycopg
from geoalchemy2 import WKTElement
from psycopg import sql
from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from geo.importers.records import BoundaryRecord, EnterpriseRecord, StationRecord
from geo.store.models import Base


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int
    ids: tuple[int, ...]
    # Positions (0-based, in the records given) of points that lie in no current boundary.
    outside: tuple[int, ...] = ()


def upsert(session: Session, table: Table, rows: Sequence[dict[str, Any]],
           keys: tuple[str, ...]) -> UpsertCounts:  # fmt: skip
    """Insert or update ``rows`` keyed on ``keys``; rows equal to what is stored are skipped.

    Rows go in with COPY into a temporary table, then one INSERT … ON CONFLICT moves them:
    ten times faster than a multi-row INSERT of the same rows, and still one transaction.
    """
    if not rows:
        return UpsertCounts(0, 0, 0, ())
    names = list(rows[0])
    columns = [n for n in names if n not in keys]
    raw = session.connection().connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError("importers need the psycopg 3 driver (postgresql+psycopg://)")
    target, staging = sql.Identifier(table.name), sql.Identifier(f"_import_{table.name}")
    listed = sql.SQL(", ").join(sql.Identifier(n) for n in names)
    with raw.cursor() as cursor:
        cursor.execute(sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {s} ON COMMIT DROP AS SELECT {c} FROM {t} WITH NO DATA"
        ).format(s=staging, c=listed, t=target))  # fmt: skip
        cursor.execute(sql.SQL("TRUNCATE {s}").format(s=staging))
        with cursor.copy(sql.SQL("COPY {s} ({c}) FROM STDIN").format(s=staging, c=listed)) as copy:
            for row in rows:
                copy.write_row([_copy_value(row[n]) for n in names])
        changed = sql.SQL("({old}) IS DISTINCT FROM ({new})").format(
            old=sql.SQL(", ").join(sql.SQL("{t}.{c}").format(t=target, c=sql.Identifier(c))
                                   for c in columns),
            new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{c}").format(c=sql.Identifier(c))
                                   for c in columns),
        )  # fmt: skip
        cursor.execute(sql.SQL(
            "INSERT INTO {t} ({c}) SELECT {c} FROM {s} "
            "ON CONFLICT ({k}) DO UPDATE SET {sets} WHERE {changed} "
            "RETURNING id, (xmax = 0) AS inserted"
        ).format(
            t=target, c=listed, s=staging,
            k=sql.SQL(", ").join(sql.Identifier(k) for k in keys),
            sets=sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
                                    for c in columns),
            changed=changed,
        ))  # fmt: skip
        result = cursor.fetchall()
    inserted = sum(1 for _, is_new in result if is_new)
    return UpsertCounts(inserted, len(result) - inserted, len(rows) - len(result),
                        tuple(row_id for row_id, _ in result))  # fmt: skip


def _copy_value(value: Any) -> Any:
    """COPY speaks text: geometries go as EWKT, enums as their codes."""
    if isinstance(value, WKTElement):
        return f"SRID={value.srid};{value.data}"
    if isinstance(value, StrEnum):
        return value.value
    return value


def _point(lon: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=4326)


def station_row(record: StationRecord) -> dict[str, Any]:
    values = record.model_dump(exclude={"lon", "lat"})
    values["amenities"] = [str(a) for a in record.amenities]
    values["services"] = [str(s) for s in record.services]
    values["access"] = [str(a) for a in record.access]
    values["geom"] = _point(record.lon, record.lat)
    return values


def enterprise_row(record: EnterpriseRecord) -> dict[str, Any]:
    values = record.model_dump(exclude={"lon", "lat"})
    values["geom"] = _point(record.lon, record.lat)
    return values


def boundary_row(record: BoundaryRecord) -> dict[str, Any]:
    values = record.model_dump(exclude={"geometry"})
    values["geom"] = WKTElement(record.geometry.wkt, srid=4326)
    return values


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


# The one rule for which boundary a point belongs to: the finest current one that covers it
# (community, then subdistrict, then district; the newest vintage on a tie). ``{point}`` is a
# geometry(Point, 4326) expression. Importers and the editors' API both use it.
FINEST_BOUNDARY_SQL = """
SELECT b.id FROM boundaries AS b
 WHERE b.valid_to IS NULL AND ST_Covers(b.geom, {point})
 ORDER BY CASE b.level WHEN 'community' THEN 0 WHEN 'subdistrict' THEN 1
                       WHEN 'district' THEN 2 ELSE 3 END, b.vintage DESC
 LIMIT 1
"""

_LOOKUP_SQL = text(f"""
SELECT found.id
  FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS p(lon, lat, i)
  LEFT JOIN LATERAL ({FINEST_BOUNDARY_SQL.format(point="ST_Point(p.lon, p.lat, 4326)")})
       AS found ON true
 ORDER BY p.i
""")  # noqa: S608 - composed from module constants only


def lookup_boundaries(session: Session, points: Sequence[tuple[float, float]]) -> list[int | None]:
    """The finest current boundary covering each point (``None`` where none does)."""
    if not points:
        return []
    lons, lats = zip(*points, strict=True)
    result = session.execute(_LOOKUP_SQL, {"lons": list(lons), "lats": list(lats)})
    return list(result.scalars())


def _upsert_points(session: Session, table: str, rows: list[dict[str, Any]],
                   points: list[tuple[float, float]]) -> UpsertCounts:  # fmt: skip
    """Points get their boundary in the same write, so creating a row is one change, not two."""
    boundary_ids = lookup_boundaries(session, points)
    for row, boundary_id in zip(rows, boundary_ids, strict=True):
        row["boundary_id"] = boundary_id
    counts = upsert(session, _table(table), rows, ("source", "external_id"))
    outside = tuple(i for i, b in enumerate(boundary_ids) if b is None)
    return replace(counts, outside=outside)


def upsert_stations(session: Session, records: Sequence[StationRecord]) -> UpsertCounts:
    rows = [station_row(r) for r in records]
    return _upsert_points(session, "stations", rows, [(r.lon, r.lat) for r in records])


def upsert_enterprises(session: Session, records: Sequence[EnterpriseRecord]) -> UpsertCounts:
    rows = [enterprise_row(r) for r in records]
    return _upsert_points(session, "enterprises", rows, [(r.lon, r.lat) for r in records])


def upsert_boundaries(session: Session, records: Sequence[BoundaryRecord]) -> UpsertCounts:
    rows = [boundary_row(r) for r in records]
    counts = upsert(session, _table("boundaries"), rows, ("code", "vintage"))
    if counts.ids:
        # New or moved boundaries may change which area any point lies in.
        assign_boundaries(session, "stations", None)
        assign_boundaries(session, "enterprises", None)
    return counts


_ASSIGN_SQL = """
UPDATE {table} AS t
   SET boundary_id = found.id
  FROM {table} AS p
  LEFT JOIN LATERAL ({finest}) AS found ON true
 WHERE t.id = p.id
   AND (CAST(:ids AS bigint[]) IS NULL OR p.id = ANY(CAST(:ids AS bigint[])))
   AND t.boundary_id IS DISTINCT FROM found.id
"""


def assign_boundaries(session: Session, table: str, ids: Sequence[int] | None) -> None:
    """Set ``boundary_id`` by spatial join for the given rows (``None``: every row)."""
    if table not in {"stations", "enterprises"}:
        raise ValueError(f"cannot assign boundaries to {table!r}")
    if ids is not None and not ids:
        return
    finest = FINEST_BOUNDARY_SQL.format(point="p.geom")
    session.execute(text(_ASSIGN_SQL.format(table=table, finest=finest)),
                    {"ids": list(ids) if ids is not None else None})  # fmt: skip
