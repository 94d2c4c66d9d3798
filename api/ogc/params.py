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

from api.ogc.collections import FILTERS, Collection, Selection
from geo.config import ApiSettings, Settings
from geo.crs import CoordSystem, parse_coord_system
from geo.errors import InvalidInputError
from geo.standards import BEIJING

MAX_BBOX_KM2 = 100_000.0  # Beijing's own bounding box is about 34,000 km²
MAX_OFFSET = 1_000_000
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
GEOJSON = "application/geo+json"

METADATA_KNOWN = ("f",)
ITEM_KNOWN = ("f", "coords")
ITEMS_COMMON = ("f", "bbox", "limit", "offset", "datetime", "coords")


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
        raise InvalidInputError(
            f"unknown query parameter {', '.join(unknown)}; this endpoint accepts: "
            f"{', '.join(sorted(allowed))}",
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


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` (or 6 numbers with heights, ignored), CRS84, capped."""
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise InvalidInputError("bbox must be minlon,minlat,maxlon,maxlat (CRS84)", field="bbox")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
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
        chosen.bbox = parse_bbox(box)
    if (when := single(query, "datetime")) is not None:
        chosen.interval = parse_datetime(when)
    for name in collection.source.filters:
        values = FILTERS[name].parse(query.getlist(name))
        if values:
            chosen.filters[name] = values
    return chosen


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
METADATA_PARAMS = [_f(("json", "html"), "json")]
ITEM_PARAMS = [_f(("geojson", "json", "html"), "geojson"), COORDS_PARAM]


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
        COORDS_PARAM,
    ]  # fmt: skip
    for name, spec in FILTERS.items():
        users = FILTER_USERS[name]
        items: dict[str, Any] = {"type": "string"}
        if spec.enum:
            items["enum"] = list(spec.enum)
        common.append(_param(name, f"{spec.description} (collections: {users})", spec.example,
                             {"type": "array", "items": items}))  # fmt: skip
    return common
