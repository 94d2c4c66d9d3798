"""Query parameters of the OGC API – Features: parsed by hand so every bad value is a 400.

The standard asks for 400 (not FastAPI's 422) on an invalid value and permits rejecting unknown
parameters, which we do, naming the ones the endpoint knows. The parameters are documented for
OpenAPI once here (``*_PARAMS``) and attached to the routes with ``openapi_extra``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import QueryParams

from api.ogc import cql
from api.ogc.collections import FILTERS, Collection, Selection
from api.ogc.crs import CRS84, EPSG4326, lat_first, parse_crs
from api.ogc.fields import Field, by_name
from geo.config import ApiSettings, Settings
from geo.crs import CoordSystem, parse_coord_system
from geo.errors import InvalidInputError
from geo.standards import BEIJING

MAX_BBOX_KM2 = 100_000.0  # Beijing's own bounding box is about 34,000 km²
MAX_OFFSET = 1_000_000
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
GEOJSON = "application/geo+json"

METADATA_KNOWN = ("f",)
ITEM_KNOWN = ("f", "coords", "crs")
ITEMS_COMMON = ("f", "bbox", "bbox-crs", "limit", "offset", "datetime", "coords", "crs",
                "filter", "filter-lang", "filter-crs", "sortby", "properties")  # fmt: skip
MAX_SORT_KEYS = 5


def single(query: QueryParams, name: str) -> str | None:
    """The one value of ``name``; giving it twice is an error (which one would we obey?)."""
    values = query.getlist(name)
    if len(values) > 1:
        raise InvalidInputError(f"{name} may be given only once", field=name)
    return values[0] if values else None


def reject_unknown(query: QueryParams, known: Iterable[str]) -> None:
    allowed = set(known)
    unknown = sorted({key for key in query if key not in allowed})
    if unknown:
        accepted = f"accepts: {', '.join(sorted(allowed))}" if allowed else "takes none"
        raise InvalidInputError(
            f"unknown query parameter {', '.join(unknown)}; this endpoint {accepted}",
            field=unknown[0],
        )


def output_format(query: QueryParams, accept: str, allowed: tuple[str, ...]) -> str:
    """``f`` if given (one of ``allowed``), else HTML for browsers, else ``allowed[0]``."""
    text = single(query, "f")
    if text is not None:
        if text not in allowed:
            raise InvalidInputError(f"f must be one of {', '.join(allowed)}", field="f")
        return text
    if "html" in allowed and "text/html" in accept:
        return "html"
    return allowed[0]


def coords(query: QueryParams) -> CoordSystem:
    text = single(query, "coords")
    if text is None:
        return CoordSystem.WGS84
    try:
        return parse_coord_system(text)
    except ValueError as exc:
        raise InvalidInputError(f"coords: {exc}", field="coords") from exc


def bbox_area_km2(minx: float, miny: float, maxx: float, maxy: float) -> float:
    """Area of a lon/lat box on a sphere: R² · Δλ · (sin φ₁ − sin φ₀), in km²."""
    span = math.radians(maxx - minx)
    return EARTH_RADIUS_KM**2 * span * (math.sin(math.radians(maxy)) - math.sin(math.radians(miny)))


def parse_bbox(text: str, lat_first: bool = False) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` (or 6 numbers with heights, ignored), capped; in CRS84,
    or ``minlat,minlon,maxlat,maxlon`` when ``bbox-crs`` is EPSG:4326. Returned in CRS84."""
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        order = "minlat,minlon,maxlat,maxlon (bbox-crs EPSG:4326)" if lat_first else \
            "minlon,minlat,maxlon,maxlat (CRS84)"  # fmt: skip
        raise InvalidInputError(f"bbox must be {order}", field="bbox")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if lat_first:
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    minx, miny, maxx, maxy = numbers
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise InvalidInputError(
            "bbox must have min < max within lon -180..180 and lat -90..90 "
            "(boxes across the antimeridian are not supported)",
            field="bbox",
        )
    area = bbox_area_km2(minx, miny, maxx, maxy)
    if area > MAX_BBOX_KM2:
        raise InvalidInputError(
            f"bbox covers {area:,.0f} km²; at most {MAX_BBOX_KM2:,.0f} km² per request",
            field="bbox",
        )
    return minx, miny, maxx, maxy


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInputError(f"{name} must be a whole number", field=name) from None


def parse_limit(text: str | None, settings: Settings) -> int:
    """Page size: default ``default_features``; above ``max_features`` it is clamped (OGC)."""
    if text is None:
        return min(settings.api.default_features, settings.api.max_features)
    limit = _integer(text, "limit")
    if limit < 1:
        raise InvalidInputError("limit must be at least 1", field="limit")
    return min(limit, settings.api.max_features)


def parse_offset(text: str | None) -> int:
    offset = 0 if text is None else _integer(text, "offset")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInputError(f"offset must be within 0..{MAX_OFFSET}", field="offset")
    return offset


def _instant(text: str) -> dt.date:
    """A date, or an RFC 3339 date-time taken as its date in Beijing (UTC+8)."""
    try:
        if len(text) == len("2026-01-01"):
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"datetime {text!r} is not an RFC 3339 date or date-time", field="datetime"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(BEIJING).date()


def parse_datetime(text: str) -> tuple[dt.date | None, dt.date | None]:
    """An instant or an interval ``start/end`` where ``..`` or nothing leaves an end open."""
    parts = text.split("/")
    if len(parts) == 1:
        day = _instant(parts[0])
        return day, day
    if len(parts) != 2:
        raise InvalidInputError("datetime must be an instant or start/end", field="datetime")
    first, last = (None if p in ("", "..") else _instant(p) for p in parts)
    if first is not None and last is not None and first > last:
        raise InvalidInputError("datetime interval ends before it starts", field="datetime")
    return first, last


def selection(query: QueryParams, collection: Collection, settings: Settings) -> Selection:
    """Validate an items request for ``collection``; unknown parameters are refused."""
    known = (*ITEMS_COMMON, *collection.source.filters)
    reject_unknown(query, known)
    chosen = Selection(
        limit=parse_limit(single(query, "limit"), settings),
        offset=parse_offset(single(query, "offset")),
    )
    if (box := single(query, "bbox")) is not None:
        chosen.bbox = parse_bbox(box, lat_first(parse_crs(query, "bbox-crs")))
    elif "bbox-crs" in query:
        raise InvalidInputError("bbox-crs says what bbox is in; give a bbox", field="bbox-crs")
    if (when := single(query, "datetime")) is not None:
        chosen.interval = parse_datetime(when)
    for name in collection.source.filters:
        values = FILTERS[name].parse(query.getlist(name))
        if values:
            chosen.filters[name] = values
    chosen.cql = parse_filter(query)
    fields = collection.source.fields
    if (sortby := single(query, "sortby")) is not None:
        chosen.order = parse_sortby(sortby, fields)
    if (names := single(query, "properties")) is not None:
        chosen.properties = parse_properties(names, collection)
    chosen.lat_first = output_crs(query) == EPSG4326
    return chosen


def output_crs(query: QueryParams) -> str:
    """``crs``: CRS84 or EPSG:4326; naming one together with a shifted ``coords`` is refused."""
    crs = parse_crs(query, "crs")
    if "crs" in query and coords(query) is not CoordSystem.WGS84:
        raise InvalidInputError(
            "crs and coords=gcj02|bd09 cannot be combined: GCJ-02 and BD-09 have no CRS URI, so "
            "no crs describes their coordinates; leave crs out",
            field="crs",
        )
    if crs != CRS84 and single(query, "f") == "html":
        raise InvalidInputError("the HTML view is drawn in CRS84; leave crs out", field="crs")
    return crs


def parse_filter(query: QueryParams) -> cql.Filter | None:
    """``filter`` in ``filter-lang`` (cql2-text by default) with ``filter-crs`` literals."""
    text = single(query, "filter")
    lang = single(query, "filter-lang") or cql.TEXT
    if lang not in cql.LANGUAGES:
        raise InvalidInputError(
            f"filter-lang must be one of {', '.join(cql.LANGUAGES)}", field="filter-lang"
        )
    crs = parse_crs(query, "filter-crs")
    if text is None:
        for name in ("filter-lang", "filter-crs"):
            if name in query:
                raise InvalidInputError(f"{name} describes a filter; give a filter", field=name)
        return None
    if not text.strip():
        raise InvalidInputError("filter is empty", field="filter")
    return cql.parse(text, lang, lat_first(crs))


def parse_sortby(text: str, fields: tuple[Field, ...]) -> tuple[tuple[Field, bool], ...]:
    """``sortby=+name,-opened_on``: fields of the collection, ascending unless ``-``."""
    known = by_name(fields)
    sortable = ", ".join(f.name for f in fields if f.sortable)
    keys: list[tuple[Field, bool]] = []
    for part in (p.strip() for p in text.split(",")):
        name = part.lstrip("+-").strip()
        found = known.get(name)
        if found is None or not found.sortable:
            raise InvalidInputError(
                f"sortby: cannot sort by {name!r}; sortable here: {sortable}", field="sortby"
            )
        if any(f is found for f, _ in keys):
            raise InvalidInputError(f"sortby names {name} twice", field="sortby")
        keys.append((found, part.startswith("-")))
    if len(keys) > MAX_SORT_KEYS:
        raise InvalidInputError(f"sortby takes at most {MAX_SORT_KEYS} keys", field="sortby")
    return tuple(keys)


def parse_properties(text: str, collection: Collection) -> tuple[str, ...]:
    """``properties=name,kind``: only these in each feature's ``properties`` (empty: none)."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    offered = [f.name for f in collection.source.properties]
    unknown = [n for n in names if n not in offered]
    if unknown:
        raise InvalidInputError(
            f"properties: no property {unknown[0]!r} in {collection.id}; its properties: "
            f"{', '.join(offered)}",
            field="properties",
        )
    return tuple(dict.fromkeys(names))


# ---- OpenAPI descriptions -------------------------------------------------------------------


def _param(name: str, description: str, example: Any, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, "example": example}  # fmt: skip


def _f(values: tuple[str, ...], example: str) -> dict[str, Any]:
    text = f"output format: {', '.join(values)}; without it, browsers asking for HTML get HTML"
    return _param("f", text, example, {"type": "string", "enum": list(values)})


COORDS_PARAM = _param(
    "coords", "coordinate system of output geometries: wgs84 (GPS, OSM; the default), gcj02 "
    "(Amap, Tencent), bd09 (Baidu); bbox input is always CRS84 (WGS-84 lon/lat)",
    "gcj02", {"type": "string", "enum": [c.value for c in CoordSystem], "default": "wgs84"},
)  # fmt: skip


def _crs_param(name: str, what: str) -> dict[str, Any]:
    return _param(name, f"{what}: {CRS84} (lon, lat; the default) or {EPSG4326} (lat, lon)",
                  EPSG4326, {"type": "string", "format": "uri", "enum": [CRS84, EPSG4326],
                             "default": CRS84})  # fmt: skip


CRS_PARAM = _crs_param("crs", "CRS of output geometries (OGC API – Features Part 2); the "
                       "response says it in Content-Crs; not with coords=gcj02|bd09")  # fmt: skip
METADATA_PARAMS = [_f(("json", "html"), "json")]
ITEM_PARAMS = [_f(("geojson", "json", "html"), "geojson"), COORDS_PARAM, CRS_PARAM]
QUERYABLES_PARAMS = [_f(("json", "html"), "json")]


FILTER_USERS = {"kind": "stations", "status": "stations", "amenity": "stations",
                "boundary": "stations, enterprises", "union_status": "enterprises",
                "level": "boundaries", "parent_code": "boundaries"}  # fmt: skip


def items_params() -> list[dict[str, Any]]:
    """Documented with the settings' default values (configured ones may differ)."""
    fields = ApiSettings.model_fields
    default, most = fields["default_features"].default, fields["max_features"].default
    common = [
        _f(("geojson", "json", "html"), "geojson"),
        _param("bbox", "minlon,minlat,maxlon,maxlat in CRS84: features whose geometry "
               f"intersects the box; at most {MAX_BBOX_KM2:,.0f} km²", "116.2,39.8,116.3,39.9",
               {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6}),
        _param("limit", f"page size; default {default}, at most {most} (settings "
               "NUANXIN_API__DEFAULT_FEATURES, NUANXIN_API__MAX_FEATURES); a larger value is "
               "clamped to the maximum, not an error, as OGC API Features asks", 100,
               {"type": "integer", "minimum": 1, "default": default}),
        _param("offset", "features to skip (next/prev links carry it for you)", 0,
               {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
        _param("datetime", "RFC 3339 instant or start/end interval ('..' for open): stations "
               "open (opened_on ≤ t < closed_on) and boundaries valid then; enterprises have no "
               "time and are not filtered", "2026-12-01",
               {"type": "string"}),
        _crs_param("bbox-crs", "CRS of bbox"),
        COORDS_PARAM,
        CRS_PARAM,
        _param("filter", "a CQL2 filter (OGC API – Features Part 3) over the collection's "
               "queryables (…/queryables): comparisons, LIKE, BETWEEN, IN, IS NULL, CASEI, "
               "AND/OR/NOT, S_INTERSECTS and the other spatial functions, A_CONTAINS and the "
               "other array functions", "kind = 'rest_point' AND A_CONTAINS(amenities, "
               "('microwave')) AND S_INTERSECTS(geometry, BBOX(116.3, 39.85, 116.45, 39.95))",
               {"type": "string", "maxLength": cql.MAX_FILTER_CHARS}),
        _param("filter-lang", "encoding of filter; cql-text is the draft's name (GDAL sends it), "
               "read as cql2-text with ISO strings compared to dates taken as dates", cql.TEXT,
               {"type": "string", "enum": list(cql.LANGUAGES), "default": cql.TEXT}),
        _crs_param("filter-crs", "CRS of the geometry literals in filter"),
        _param("sortby", "comma-separated properties to sort by, each ascending or with - "
               "descending (empty values last); ties keep id order", "-seats,+name",
               {"type": "string"}),
        _param("properties", "comma-separated properties to return (empty: none); geometry "
               "and id are always returned", "name,kind,opening_hours", {"type": "string"}),
    ]  # fmt: skip
    for name, spec in FILTERS.items():
        users = FILTER_USERS[name]
        items: dict[str, Any] = {"type": "string"}
        if spec.enum:
            items["enum"] = list(spec.enum)
        common.append(_param(name, f"{spec.description} (collections: {users})", spec.example,
                             {"type": "array", "items": items}))  # fmt: skip
    return common
