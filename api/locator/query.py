"""``/locate``'s parameters: one strict model, read by the route and by its fast path.

The route takes :class:`LocateParams` as FastAPI's query model (which documents it in OpenAPI
and turns a bad value into a 422 problem); the fast path reads the query string into the same
model with :func:`parse_query`, so both accept exactly the same values with the same meaning.
The fast path reads only plain ``name=value`` pairs, each scalar at most once: anything else
(percent-encoding, a duplicate, a value the model refuses) is left to the route, which explains.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from geo.crs import CoordSystem
from geo.locator.rules import OpenMode, WorkerProfile
from geo.vocab import Amenity, StationKind

MAX_K = 20  # places per answer
MAX_KM = 20.0  # search radius
DEFAULT_K = 5
DEFAULT_MAX_KM = 5.0
DEFAULT_OPEN = OpenMode.ARRIVAL
AT_YEARS = (2000, 2100)  # what a worker or planner may ask about (checked by answer(): a 400)


class LocateParams(BaseModel):
    """Where the worker is, what they need, and when they want it open."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    lon: float = Field(ge=-180, le=180, examples=[116.2135], description="longitude")
    lat: float = Field(ge=-90, le=90, examples=[39.8496], description="latitude")
    coords: CoordSystem = Field(
        CoordSystem.WGS84,
        description="coordinate system of the output (and of lon/lat input where there is "
        "one): wgs84 (GPS, OSM), gcj02 (Amap, Tencent), bd09 (Baidu)",
    )
    k: int = Field(DEFAULT_K, ge=1, le=MAX_K, description="how many places (at most 20)")
    need: list[Amenity] | None = Field(
        None, description="amenities the place must have (all of them)"
    )
    walk_in: bool = Field(
        False,
        description="only places anyone may walk into: no registration, member QR code "
        "or union card needed (how to get in recorded, and no condition on who)",
    )
    kind: list[StationKind] | None = Field(None, description="only these kinds")
    profile: WorkerProfile | None = Field(
        None, description="who is asking: keeps the places meant for them, marks what they need"
    )
    open: OpenMode = Field(
        DEFAULT_OPEN,
        description="arrival: open when you get there on foot; now: open now; any",
    )
    at: datetime | None = Field(
        None,
        description="plan for this time instead of now (ISO; no zone = Beijing time; years"
        " 2000-2100)",
        examples=["2026-11-29T05:00"],
    )
    max_km: float = Field(DEFAULT_MAX_KM, gt=0, le=MAX_KM, description="search radius in km")


_LISTS = frozenset({"need", "kind"})  # may repeat: need=toilet&need=hot_water


def parse_query(query_string: bytes) -> LocateParams | None:
    """The parameters as the route reads them, or ``None``: let the route answer (and explain).

    Unknown names are ignored, as FastAPI ignores them.
    """
    if not query_string or b"%" in query_string or b"+" in query_string:
        return None
    try:
        text = query_string.decode("ascii")
    except UnicodeDecodeError:
        return None
    values: dict[str, Any] = {}
    for pair in text.split("&"):
        name, sep, value = pair.partition("=")
        if not sep:
            return None
        if name in _LISTS:
            values.setdefault(name, []).append(value)
        elif name in values:
            return None  # FastAPI would take the last one; rare enough to leave to it
        else:
            values[name] = value
    try:
        return LocateParams.model_validate(values)
    except ValidationError:
        return None
