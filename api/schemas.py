"""Response models: they document the API (OpenAPI) and the tests validate bodies against them."""

from __future__ import annotations

import datetime as dt
from types import GenericAlias
from typing import Any, Literal

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from geo.vocab import Access, Amenity, BoundaryLevel, HostType, Service, StationKind, StationStatus


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: tuple[float, float]


class Geometry(BaseModel):
    """A GeoJSON geometry (RFC 7946): positions nested as deep as its type needs."""

    type: Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon"]  # fmt: skip
    coordinates: list[Any]


class StationFields(BaseModel):
    """The columns of a station that the public and editors both see."""

    model_config = ConfigDict(extra="forbid")

    kind: StationKind
    name: str
    address: str | None
    phone: str | None
    host_type: HostType
    host_name: str | None
    status: StationStatus
    opened_on: dt.date | None
    closed_on: dt.date | None
    amenities: list[Amenity]
    services: list[Service]
    opening_hours: str | None
    access: list[Access] = Field(description="how a worker gets in; empty: not recorded")
    access_condition: str | None = Field(description="who may enter, if not everyone")
    floor_area_m2: float | None
    seats: int | None
    last_verified_at: dt.datetime | None


class StationProperties(StationFields):
    walk_in: bool | None = Field(
        description="anyone may walk in without registering; null: how to get in not recorded"
    )
    boundary_code: str | None
    boundary_name: str | None


class StationPublic(BaseModel):
    type: Literal["Feature"]
    id: int
    geometry: PointGeometry
    properties: StationProperties


class Link(BaseModel):
    href: str
    rel: str
    type: str


class TitledLink(Link):
    """An OGC API link: ``rel`` a registered relation or an OGC URI, ``title`` for people."""

    title: str | None = None


class StationsPublic(BaseModel):
    """A GeoJSON FeatureCollection of stations, WGS-84 lon/lat."""

    type: Literal["FeatureCollection"]
    numberReturned: int  # noqa: N815 - OGC API Features spelling
    links: list[Link]
    features: list[StationPublic]


class BoundaryProperties(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    level: BoundaryLevel
    parent_code: str | None
    vintage: str
    area_km2: float
    population: int | None
    population_year: int | None
    population_source: str | None
    communities: int | None


class BoundaryPublic(BaseModel):
    type: Literal["Feature"]
    id: int
    geometry: Geometry
    properties: BoundaryProperties


class BoundariesPublic(BaseModel):
    """A GeoJSON FeatureCollection of (Multi)Polygons, WGS-84 lon/lat."""

    type: Literal["FeatureCollection"]
    features: list[BoundaryPublic]


class Liveness(BaseModel):
    status: Literal["ok"]
    uptime_s: float


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
    postgis: str
    schema_revision: str
    replica_behind_bytes: int | None = Field(
        None, description="with a read replica: WAL the primary has that it has not replayed"
    )


class Problem(BaseModel):
    """RFC 9457 problem details: every error this API returns has this shape."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="stable machine-readable code, e.g. invalid_input")
    field: str | None = Field(None, description="the parameter at fault, when there is one")
    errors: list[dict[str, str]] | None = Field(None, description="validation errors (422)")


# Models that answer() names for a media type of their own: FastAPI registers only each
# answer's "model", so api/openapi.py adds these to the document's components.
ALSO_DOCUMENTED: dict[str, type[BaseModel]] = {}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def answer(model: type[BaseModel], *media: str, files: tuple[str, ...] = (),
           other: dict[str, type[BaseModel]] | None = None,
           list_of: bool = False) -> dict[str, Any]:  # fmt: skip
    """A success answer for ``responses=``: ``model`` (a list of them with ``list_of``) for
    application/json and each JSON type in ``media`` (FastAPI gives it to application/json
    only), a model of its own for each type in ``other``, and ``files`` without a schema.
    Documentation only: FastAPI does not validate the Response a handler returns against it, so
    it costs nothing per request."""
    own_schema = {"type": "array", "items": _ref(model)} if list_of else _ref(model)
    content: dict[str, Any] = {m: {"schema": own_schema} for m in media}
    for kind, own in (other or {}).items():
        ALSO_DOCUMENTED[own.__name__] = own
        content[kind] = {"schema": _ref(own)}
    return {"model": GenericAlias(list, model) if list_of else model,
            "content": content | {m: {} for m in files}}  # fmt: skip


class GeoJSONResponse(JSONResponse):
    """For ``response_class=`` on an operation that answers GeoJSON, never plain JSON: FastAPI
    files the answer's model under its response class's media type, application/json by
    default, which would tell a generated client to expect the wrong type. A JSONResponse, or
    FastAPI documents the body as a string. Handlers still return their own Response; this
    only documents."""

    media_type = "application/geo+json"


def json_answer(content: Any, status_code: int = 200) -> Response:
    """``content`` as JSON, encoded as FastAPI encodes a dict its handler's return type
    validates (pydantic-core). For handlers documented with :func:`answer`: with
    ``response_model=None`` FastAPI would walk the dict with ``jsonable_encoder`` (some 40 times
    slower on a 30 KB list) and ``json.dumps``, whose floats read differently (``1e-05``)."""
    return Response(to_json(content), status_code=status_code, media_type="application/json")


_PROBLEM_CONTENT = {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
}
PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"description": description, "content": _PROBLEM_CONTENT}
    for status, description in {
        400: "invalid input (the detail and field say what)",
        401: "a valid API token is needed (writes)",
        403: "the token may not do this (e.g. outside its district)",
        404: "no such resource",
        409: "conflicts with the resource's state",
        413: "request body too large",
        422: "request does not match the parameters' schema",
        429: "too much work asked for at once",
        500: "our fault; no internals in the body",
        503: "database unavailable, overloaded or timed out; see Retry-After",
    }.items()
}
