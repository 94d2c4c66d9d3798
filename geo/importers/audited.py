"""Imports on an editor's behalf: keep to their district, and audit every row written.

An import through the API is the CLI's import plus two duties of the editors' API:

* a district editor may write only inside their district: rows placed outside it, or updating a
  row that lies outside it, are refused like any bad row (with their line and the reason);
* every inserted or changed row gets an ``audit_log`` entry (action ``import``, the row before
  and after), so an admin can see and revert it like an edit.

Both run inside the import's transaction: a refusal of the whole file leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import ForbiddenError
from geo.importers.upsert import UpsertCounts

# A row as JSON, with lon/lat instead of the geometry: the image the audit log keeps.
ROW_IMAGE_SQL = (
    "(to_jsonb({t}) - 'geom') || jsonb_build_object('lon', ST_X({t}.geom), 'lat', ST_Y({t}.geom))"
)
AUDITED_TABLES = ("stations", "enterprises")
# A district editor's area: the current boundary of their code, the newest vintage if two are
# current. One rule for edits (api/editing/routes.py) and uploads; ``{code}`` is a bound parameter.
DISTRICT_SQL = (
    "SELECT geom FROM boundaries WHERE code = {code} AND valid_to IS NULL "
    "ORDER BY vintage DESC LIMIT 1"
)

KEYS_SQL = (  # the records' keys as rows k(source, eid, i), i 1-based
    "unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) WITH ORDINALITY AS k(source, eid, i)"
)
_SNAPSHOT_SQL = f"""
CREATE TEMP TABLE _audit_before ON COMMIT DROP AS
SELECT t.id, {ROW_IMAGE_SQL.format(t="t")} AS image
  FROM {{table}} AS t JOIN {KEYS_SQL} ON t.source = k.source AND t.external_id = k.eid
"""  # noqa: S608 - table names come from AUDITED_TABLES only
_AUDIT_SQL = f"""
INSERT INTO audit_log (actor, action, table_name, row_id, before, after)
SELECT :actor, 'import', :table, t.id, b.image, {ROW_IMAGE_SQL.format(t="t")}
  FROM {{table}} AS t LEFT JOIN _audit_before AS b ON b.id = t.id
 WHERE t.id = ANY(CAST(:written AS bigint[]))
 ORDER BY t.id
"""  # noqa: S608 - table names come from AUDITED_TABLES only
# 1-based positions of rows placed outside the district, or updating a row outside it.
_OUTSIDE_SQL = f"""
WITH district AS ({DISTRICT_SQL.format(code=":district")})
SELECT p.i, 'lies outside your district ' || :district
  FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS p(lon, lat, i),
       district AS d
 WHERE NOT ST_Covers(d.geom, ST_Point(p.lon, p.lat, 4326))
UNION ALL
SELECT k.i, 'would change a row outside your district ' || :district
  FROM {KEYS_SQL}
  JOIN {{table}} AS t ON t.source = k.source AND t.external_id = k.eid, district AS d
 WHERE NOT ST_Covers(d.geom, t.geom)
"""  # noqa: S608 - table names come from AUDITED_TABLES only


@dataclass(frozen=True)
class EditorImport:
    """Who imports (``actor``) and, for a district editor, the district code they may write in."""

    actor: str
    district_code: str | None = None

    def admit(self, session: Session, table: str, records: Sequence[BaseModel]) -> dict[int, str]:
        """Refusals by position in ``records``; snapshots the rows about to change. Boundaries
        are for admins only and not audited row by row (the row-history trigger keeps who
        changed what, as for CLI imports)."""
        if table not in AUDITED_TABLES:
            if self.district_code is not None:
                raise ForbiddenError(f"only admins may import {table}")
            return {}
        keys = {
            "sources": [getattr(r, "source") for r in records],  # noqa: B009
            "ids": [getattr(r, "external_id") for r in records],  # noqa: B009
        }
        session.execute(text("DROP TABLE IF EXISTS _audit_before"))
        session.execute(text(_SNAPSHOT_SQL.format(table=table)), keys)
        if self.district_code is None:
            return {}
        exists = text(f"SELECT EXISTS ({DISTRICT_SQL.format(code=':c')})")  # no geometry sent
        if not session.execute(exists, {"c": self.district_code}).scalar():
            raise ForbiddenError(f"your district {self.district_code} has no current boundary")
        points = {
            "lons": [getattr(r, "lon") for r in records],  # noqa: B009
            "lats": [getattr(r, "lat") for r in records],  # noqa: B009
        }
        refused: dict[int, str] = {}
        rows = session.execute(
            text(_OUTSIDE_SQL.format(table=table)),
            {**keys, **points, "district": self.district_code},
        )
        for position, reason in rows:
            refused.setdefault(int(position) - 1, reason)
        return refused

    def written(self, session: Session, table: str, counts: UpsertCounts) -> None:
        """One audit entry per inserted or changed row, with its image before and after."""
        if table not in AUDITED_TABLES:
            return
        session.execute(
            text(_AUDIT_SQL.format(table=table)),
            {"actor": self.actor, "table": table, "written": list(counts.ids)},
        )
