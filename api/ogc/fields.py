"""The public fields of each OGC collection: how each is read, typed, filtered and sorted.

One table per source drives four things that must agree: the GeoJSON ``properties`` PostGIS
builds (and ``properties=`` narrows), ``/queryables`` (a JSON Schema), the CQL2 compiler
(``api/ogc/cql.py``: which names a filter may use and with which type) and ``sortby``.

Public fields only (see ``api/ogc/collections.py`` for what is left out and why). The SQL here
is fixed text naming the query's aliases ``t`` (the table) and ``b`` (its boundary).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from geo.vocab import (
    Access,
    Amenity,
    BoundaryLevel,
    HostType,
    Service,
    StationKind,
    StationStatus,
    UnionStatus,
)

FieldType = Literal["string", "integer", "number", "date", "timestamp", "array", "geometry"]
GEOMETRY = "geometry"  # the name of every collection's geometry queryable
GEOMETRY_ALIASES = ("geometry", "geom")  # ``geom`` is the column: tipg and QGIS users type it


@dataclass(frozen=True)
class Field:
    """One public field: ``sql`` filters and sorts, ``output`` (default ``sql``) is emitted."""

    name: str
    sql: str
    type: FieldType
    description: str
    enum: builtins.type[StrEnum] | None = None  # codes a value must be (for arrays: each item)
    output: str | None = None

    @property
    def sortable(self) -> bool:
        return self.type not in ("array", "geometry")

    def schema(self) -> dict[str, Any]:
        """This field as a JSON Schema property (OGC API – Features Part 3 queryables)."""
        codes: dict[str, Any] = {"enum": [m.value for m in self.enum]} if self.enum else {}
        base: dict[str, Any] = {"title": self.name, "description": self.description}
        if self.type == "geometry":
            return base | {"format": "geometry-any", "x-ogc-role": "primary-geometry"}
        if self.type == "array":
            return base | {"type": "array", "items": {"type": "string", **codes}}
        if self.type in ("date", "timestamp"):
            return base | {"type": "string", "format": "date" if self.type == "date"
                           else "date-time"}  # fmt: skip
        return base | {"type": self.type, **codes}


def _id() -> Field:
    return Field("id", "t.id", "integer", "the feature's id (its row id; stable)")


def _in_boundary() -> tuple[Field, ...]:
    return (
        Field("boundary_code", "b.code", "string",
              "12-digit statistical code of the smallest boundary the feature lies in"),
        Field("boundary_name", "b.name", "string", "name of that boundary"),
    )  # fmt: skip


STATION_FIELDS: tuple[Field, ...] = (
    _id(),
    Field("kind", "t.kind", "string", "what the place is", StationKind),
    Field("name", "t.name", "string", "the place's name"),
    Field("address", "t.address", "string", "street address"),
    Field("phone", "t.phone", "string", "public service number"),
    Field("host_type", "t.host_type", "string", "who hosts the place", HostType),
    Field("host_name", "t.host_name", "string", "name of the host"),
    Field("status", "t.status", "string", "life-cycle status", StationStatus),
    Field("opened_on", "t.opened_on", "date", "first day open"),
    Field("closed_on", "t.closed_on", "date", "first day closed for good"),
    Field("amenities", "t.amenities", "array", "what a worker finds there", Amenity),
    Field("services", "t.services", "array", "union services offered", Service),
    Field("opening_hours", "t.opening_hours", "string", "OSM opening_hours"),
    Field("access", "t.access", "array", "how one gets in", Access),
    Field("access_condition", "t.access_condition", "string", "conditions of entry, in words"),
    Field("floor_area_m2", "t.floor_area_m2", "number", "floor area in m²"),
    Field("seats", "t.seats", "integer", "seats for resting workers"),
    Field("last_verified_at", "t.last_verified_at", "timestamp",
          "when staff last confirmed the record on site"),
    *_in_boundary(),
    Field(GEOMETRY, "t.geom", "geometry", "the place (a point, WGS-84)"),
)  # fmt: skip

ENTERPRISE_FIELDS: tuple[Field, ...] = (
    _id(),
    Field("name", "t.name", "string", "the enterprise's name"),
    Field("address", "t.address", "string", "street address"),
    Field("industry", "t.industry", "string", "industry, in words"),
    Field("union_status", "t.union_status", "string", "whether it has a union", UnionStatus),
    Field("employees", "t.employees", "integer", "employees"),
    Field("outdoor_workers", "t.outdoor_workers", "integer", "outdoor workers among them"),
    *_in_boundary(),
    Field(GEOMETRY, "t.geom", "geometry", "the workplace (a point, WGS-84)"),
)  # fmt: skip

BOUNDARY_FIELDS: tuple[Field, ...] = (
    _id(),
    Field("code", "t.code", "string", "12-digit statistical code"),
    Field("name", "t.name", "string", "the boundary's name"),
    Field("level", "t.level", "string", "district, subdistrict or community", BoundaryLevel),
    Field("parent_code", "t.parent_code", "string", "code of the boundary above"),
    Field("vintage", "t.vintage", "string", "the edition of the boundary data"),
    Field("population", "t.population", "integer", "resident population"),
    Field("population_year", "t.population_year", "integer", "year of that population"),
    Field("population_source", "t.population_source", "string", "where it comes from"),
    Field("area_km2", "t.area_km2", "number", "area in km² (geodesic)",
          output="round(t.area_km2::numeric, 3)"),
    Field("communities", "t.communities", "integer", "communities (社区) within"),
    Field(GEOMETRY, "t.geom", "geometry", "the outline (a multipolygon, WGS-84)"),
)  # fmt: skip


def properties_of(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    """The fields that appear in a feature's ``properties`` (not its id, not its geometry)."""
    return tuple(f for f in fields if f.name != "id" and f.type != "geometry")


def by_name(fields: tuple[Field, ...]) -> dict[str, Field]:
    found = {f.name: f for f in fields}
    geometry = found.get(GEOMETRY)
    if geometry is not None:
        found.update({alias: geometry for alias in GEOMETRY_ALIASES})
    return found
