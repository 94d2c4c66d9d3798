"""The collections of the OGC API – Features, and the SQL each is read with.

Three tables give ``2 + len(StationKind)`` collections: ``stations`` (every kind),
``stations-<kind>`` (one per :class:`~geo.vocab.StationKind`), ``enterprises`` and
``boundaries`` (current ones only: ``valid_to IS NULL``). Every feature is assembled by PostGIS
(``json_build_object`` + ``ST_AsGeoJSON(geom, 7)``) from the fields of ``api/ogc/fields.py``:
a page is one round trip and one string.

Public fields only. Enterprises omit ``registration_code`` (where a firm is registered, which for
a sole trader is where a person is registered), ``source`` and ``external_id`` (our import keys)
and the audit timestamps. Stations omit the same import keys, ``source_crs`` and timestamps; a
station's ``phone`` is its public service number and stays (``/stations`` publishes it too).

SQL here is fixed text; request values are bound as ``$n`` parameters. The only text ever
inserted into these templates is another fixed fragment from this module or a ``$n`` number.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from api.ogc.cql import Filter, compile_filter
from api.ogc.fields import (
    BOUNDARY_FIELDS,
    ENTERPRISE_FIELDS,
    STATION_FIELDS,
    Field,
    properties_of,
)
from geo.errors import InvalidInputError
from geo.standards import BOUNDARY_CODE_DIGITS, is_boundary_code
from geo.vocab import (
    LABELS_ZH,
    Amenity,
    BoundaryLevel,
    StationKind,
    StationStatus,
    UnionStatus,
    parse_member,
)

# A boundary code and every code below it (any depth; UNION stops on a cycle).
_WITHIN_BOUNDARY = """t.boundary_id IN (
    WITH RECURSIVE sub(code) AS (
      SELECT unnest({p}::text[])
      UNION SELECT c.code FROM boundaries AS c JOIN sub ON c.parent_code = sub.code)
    SELECT c.id FROM boundaries AS c JOIN sub USING (code))"""


def split_values(raw: list[str]) -> list[str]:
    """Repeated and comma-separated values, flattened, stripped, de-duplicated, in order."""
    found = [part.strip() for item in raw for part in item.split(",")]
    return list(dict.fromkeys(part for part in found if part))


def _members(enum: type[StrEnum], name: str) -> Callable[[list[str]], list[str]]:
    def parse(raw: list[str]) -> list[str]:
        try:
            return [parse_member(enum, value).value for value in split_values(raw)]
        except ValueError as exc:
            codes = ", ".join(m.value for m in enum)
            raise InvalidInputError(f"{name}: {exc}; accepted: {codes}", field=name) from exc

    return parse


def _codes(name: str) -> Callable[[list[str]], list[str]]:
    def parse(raw: list[str]) -> list[str]:
        codes = split_values(raw)
        bad = [c for c in codes if not is_boundary_code(c)]
        if bad:
            raise InvalidInputError(
                f"{name} must be {BOUNDARY_CODE_DIGITS}-digit statistical codes, got {bad[0]!r}",
                field=name,
            )
        return codes

    return parse


@dataclass(frozen=True)
class PropertyFilter:
    """A query parameter that filters on a property: ``sql`` has ``{p}`` for its bound value."""

    name: str
    sql: str
    parse: Callable[[list[str]], list[str]]
    description: str
    example: str
    enum: tuple[str, ...] = ()


def _enum_filter(name: str, sql: str, enum: type[StrEnum], how: str) -> PropertyFilter:
    return PropertyFilter(
        name, sql, _members(enum, name),
        f"{how} these {enum.__name__} codes (or Chinese labels such as "
        f"{LABELS_ZH.get(next(iter(enum)), '')}); repeat the parameter or separate by commas",
        next(iter(enum)).value, tuple(m.value for m in enum),
    )  # fmt: skip


FILTERS: dict[str, PropertyFilter] = {
    f.name: f
    for f in (
        _enum_filter("kind", "t.kind = ANY({p}::text[])", StationKind, "any of"),
        _enum_filter("status", "t.status = ANY({p}::text[])", StationStatus, "any of"),
        _enum_filter("amenity", "t.amenities @> {p}::text[]", Amenity, "all of"),
        PropertyFilter(
            "boundary", _WITHIN_BOUNDARY, _codes("boundary"),
            "12-digit code of a boundary: features in it or in any boundary below it "
            "(a district code finds its subdistricts' features); several codes mean any of them",
            "110106000000",
        ),
        _enum_filter("union_status", "t.union_status = ANY({p}::text[])", UnionStatus, "any of"),
        _enum_filter("level", "t.level = ANY({p}::text[])", BoundaryLevel, "any of"),
        PropertyFilter(
            "parent_code", "t.parent_code = ANY({p}::text[])", _codes("parent_code"),
            "12-digit code of the parent boundary; several codes mean any of them",
            "110106000000",
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Source:
    """One table as features: its FROM clause, public fields, fixed condition and filters."""

    from_sql: str
    fields: tuple[Field, ...]
    where: str
    filters: tuple[str, ...]
    # Date columns bounding a feature's life, [start, end): what ``datetime`` filters on.
    lifespan: tuple[str, str] | None

    @property
    def properties(self) -> tuple[Field, ...]:
        return properties_of(self.fields)


STATIONS = Source(
    "stations AS t LEFT JOIN boundaries AS b ON b.id = t.boundary_id",
    STATION_FIELDS, "t.deleted_at IS NULL", ("kind", "status", "amenity", "boundary"),
    ("t.opened_on", "t.closed_on"),
)  # fmt: skip
ENTERPRISES = Source(
    "enterprises AS t LEFT JOIN boundaries AS b ON b.id = t.boundary_id",
    ENTERPRISE_FIELDS, "t.deleted_at IS NULL", ("union_status", "boundary"), None,
)  # fmt: skip
BOUNDARIES = Source(
    "boundaries AS t", BOUNDARY_FIELDS, "t.valid_to IS NULL", ("level", "parent_code"),
    ("t.valid_from", "t.valid_to"),
)  # fmt: skip


@functools.lru_cache(maxsize=256)  # `properties=` makes the variants
def feature_sql(source: Source, names: tuple[str, ...] | None = None, lat_first: bool = False
                ) -> str:  # fmt: skip
    """The GeoJSON Feature of row ``t``: every public property, or only ``names`` (already
    checked against the source's fields), with (lat, lon) positions for EPSG:4326."""
    chosen = source.properties if names is None else \
        tuple(f for f in source.properties if f.name in names)  # fmt: skip
    pairs = ", ".join(f"'{f.name}', {f.output or f.sql}" for f in chosen)
    geom = "ST_FlipCoordinates(t.geom)" if lat_first else "t.geom"
    return (f"json_build_object('type', 'Feature', 'id', t.id, "
            f"'geometry', ST_AsGeoJSON({geom}, 7)::json, "
            f"'properties', json_build_object({pairs}))")  # fmt: skip


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    source: Source
    kind: StationKind | None = None


def _collections() -> dict[str, Collection]:
    found = [Collection("stations", "Stations and rest points (every kind)",
                        "Union service stations, rest points (暖心驿站), water points and other "
                        "places serving outdoor workers in Beijing", STATIONS)]  # fmt: skip
    for kind in StationKind:
        found.append(Collection(
            f"stations-{kind.value}", f"{LABELS_ZH[kind]} ({kind.value})",
            f"Stations of kind {kind.value} only", STATIONS, kind,
        ))  # fmt: skip
    found.append(Collection("enterprises", "Enterprises (public fields)",
                            "Workplaces with outdoor workers and whether they have a union; "
                            "public fields only", ENTERPRISES))  # fmt: skip
    found.append(Collection("boundaries", "Administrative boundaries (current)",
                            "Current districts, subdistricts and communities with population",
                            BOUNDARIES))  # fmt: skip
    return {c.id: c for c in found}


COLLECTIONS: dict[str, Collection] = _collections()

# Sort keys are selected (k0, k1, …) so the aggregate orders the page as the LIMIT chose it.
_ITEMS_SQL = """
SELECT (SELECT count(*) FROM {source} WHERE {where}) AS matched,
       (SELECT coalesce(json_agg(f.feature ORDER BY {outer_order}), '[]'::json)::text
          FROM (SELECT t.id{keys}, {feature} AS feature FROM {source} WHERE {where}
                 ORDER BY {inner_order} LIMIT {limit} OFFSET {offset}) AS f) AS features
"""
_ITEM_SQL = "SELECT {feature}::text FROM {source} WHERE {where} AND t.id = $1"
# Spatial extents of every collection in one statement (NULLs for an empty one).
EXTENTS_SQL = """
SELECT 'stations-' || kind AS id, ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1,
       ST_YMax(e) AS y1
  FROM (SELECT kind, ST_Extent(geom) AS e FROM stations WHERE deleted_at IS NULL GROUP BY kind) AS k
UNION ALL
SELECT 'stations', ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
  FROM (SELECT ST_Extent(geom) AS e FROM stations WHERE deleted_at IS NULL) AS s
UNION ALL
SELECT 'enterprises', ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
  FROM (SELECT ST_Extent(geom) AS e FROM enterprises WHERE deleted_at IS NULL) AS n
UNION ALL
SELECT 'boundaries', ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
  FROM (SELECT ST_Extent(geom) AS e FROM boundaries WHERE valid_to IS NULL) AS b
"""


@dataclass
class Selection:
    """What an items request asks for, already validated."""

    limit: int
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    # [start, end] dates, either end open (None); only used where the source has a lifespan.
    interval: tuple[dt.date | None, dt.date | None] | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)
    cql: Filter | None = None  # ``filter`` (CQL2), compiled against the source's fields
    # ``sortby``: (field, descending) pairs, most significant first; the id breaks ties.
    order: tuple[tuple[Field, bool], ...] = ()
    properties: tuple[str, ...] | None = None  # ``properties``: None means all of them
    lat_first: bool = False  # ``crs`` EPSG:4326: positions as (lat, lon)


class _Binder:
    def __init__(self) -> None:
        self.args: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def _conditions(collection: Collection, selection: Selection, bind: _Binder) -> str:
    source = collection.source
    parts = [source.where]
    if collection.kind is not None:
        parts.append(f"t.kind = {bind(collection.kind.value)}")
    for name, values in selection.filters.items():
        parts.append(FILTERS[name].sql.format(p=bind(values)))
    if selection.cql is not None:
        parts.append(compile_filter(selection.cql, source.fields, bind))
    if selection.bbox is not None:
        x0, y0, x1, y1 = (bind(v) for v in selection.bbox)
        parts.append(f"ST_Intersects(t.geom, ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4326))")
    if selection.interval is not None and source.lifespan is not None:
        (starts, ends), (first, last) = source.lifespan, selection.interval
        if last is not None:
            parts.append(f"({starts} IS NULL OR {starts} <= {bind(last)})")
        if first is not None:
            parts.append(f"({ends} IS NULL OR {ends} > {bind(first)})")
    return " AND ".join(parts)


def items_query(collection: Collection, selection: Selection) -> tuple[str, list[Any]]:
    """``(sql, args)`` returning ``matched`` (count) and ``features`` (a JSON array as text)."""
    bind = _Binder()
    where = _conditions(collection, selection, bind)
    source = collection.source
    keys = "".join(f", {f.sql} AS k{i}" for i, (f, _) in enumerate(selection.order))
    directions = [" DESC NULLS LAST" if desc else " ASC NULLS LAST" for _, desc in selection.order]
    inner = [f"{f.sql}{d}" for (f, _), d in zip(selection.order, directions, strict=True)]
    outer = [f"f.k{i}{d}" for i, d in enumerate(directions)]
    feature = feature_sql(source, selection.properties, selection.lat_first)
    sql = _ITEMS_SQL.format(source=source.from_sql, where=where, feature=feature, keys=keys,
                            inner_order=", ".join([*inner, "t.id"]),
                            outer_order=", ".join([*outer, "f.id"]),
                            limit=bind(selection.limit), offset=bind(selection.offset))  # fmt: skip
    return sql, bind.args


def item_query(collection: Collection, lat_first: bool = False) -> str:
    """SQL taking the feature id as ``$1`` (and ``$2``, the kind, for a kind's collection)."""
    where = collection.source.where
    if collection.kind is not None:
        where += " AND t.kind = $2"
    source = collection.source
    feature = feature_sql(source, None, lat_first)
    return _ITEM_SQL.format(feature=feature, source=source.from_sql, where=where)
