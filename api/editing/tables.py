"""The tables editors write (stations, enterprises): their columns, validating record, and SQL.

One description per table, so create / update / delete / revert and the audit trail are written
once in ``api/editing/routes.py`` and hold for both. Values are validated by the importers' records
(:mod:`geo.importers.records`), so a row written here is exactly as valid as an imported one.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.importers.audited import ROW_IMAGE_SQL
from geo.importers.records import EnterpriseRecord, StationRecord
from geo.importers.upsert import FINEST_BOUNDARY_SQL

# The importers' rule, so a row written here lands in the same boundary as if imported.
_FINEST_BOUNDARY = f"({FINEST_BOUNDARY_SQL.format(point='ST_SetSRID(ST_MakePoint($1, $2), 4326)')})"


@dataclass(frozen=True)
class EditableTable:
    """A table editors may write. ``private`` columns are never in public output."""

    name: str
    record: type[StationRecord] | type[EnterpriseRecord]
    public: tuple[str, ...]
    private: tuple[str, ...] = ()

    @property
    def editable(self) -> tuple[str, ...]:
        return self.public + self.private

    @property
    def item_path(self) -> str:
        return f"/ogc/collections/{self.name}/items/{{id}}"

    @property
    def image_sql(self) -> str:
        """The row as JSON (lon/lat instead of geometry): what the audit log keeps."""
        image = ROW_IMAGE_SQL.format(t="t")
        return f"SELECT {image} FROM {self.name} AS t WHERE t.id = $1"  # noqa: S608

    @property
    def locked_image_sql(self) -> str:
        """The image, the row locked until commit: a concurrent write waits, so neither undoes
        the other's fields and each audit entry's ``before`` is what it really replaced."""
        return self.image_sql + " FOR UPDATE"

    @property
    def update_sql(self) -> str:
        sets = ", ".join(f"{c} = r.{c}" for c in self.editable)
        return f"""
UPDATE {self.name} AS t
   SET {sets}, deleted_at = r.deleted_at,
       geom = ST_SetSRID(ST_MakePoint($1, $2), 4326), boundary_id = {_FINEST_BOUNDARY}
  FROM jsonb_populate_record(NULL::{self.name}, $4::jsonb) AS r
 WHERE t.id = $3
"""  # noqa: S608 - composed from module constants; values are bound

    @property
    def insert_sql(self) -> str:
        columns = ", ".join(self.editable)
        values = ", ".join(f"r.{c}" for c in self.editable)
        return f"""
INSERT INTO {self.name} (source, external_id, {columns}, geom, boundary_id)
SELECT 'api', $3, {values}, ST_SetSRID(ST_MakePoint($1, $2), 4326), {_FINEST_BOUNDARY}
  FROM jsonb_populate_record(NULL::{self.name}, $4::jsonb) AS r
RETURNING id
"""  # noqa: S608 - composed from module constants; values are bound


_STATION_PUBLIC = (
    "kind", "name", "address", "phone", "host_type", "host_name", "status", "opened_on",
    "closed_on", "amenities", "services", "opening_hours", "access", "access_condition",
    "floor_area_m2", "seats", "last_verified_at",
)  # fmt: skip
_ENTERPRISE_PUBLIC = (
    "name", "address", "employees", "outdoor_workers", "union_status", "industry",
    "registration_code",
)  # fmt: skip
STATIONS = EditableTable("stations", StationRecord, _STATION_PUBLIC,
                         private=("contact_name", "contact_phone", "internal_notes"))  # fmt: skip
ENTERPRISES = EditableTable("enterprises", EnterpriseRecord, _ENTERPRISE_PUBLIC)
TABLES = {table.name: table for table in (STATIONS, ENTERPRISES)}
