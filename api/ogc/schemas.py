"""Response models of OGC API – Features (``/ogc``): they document the bodies ``features``
builds as dicts, for clients and for the contract test. Nothing validates against them at run
time: the handlers return finished bytes.

A feature's ``properties`` depend on the collection (see ``api/ogc/fields.py``) and on
``properties=``, so they are an open map of the JSON types those fields have.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Geometry, TitledLink

PropertyValue = str | int | float | bool | list[str] | None


class LandingPage(BaseModel):
    title: str
    description: str
    links: list[TitledLink] = Field(description="self, alternate, service-desc, service-doc, "
                                    "conformance, data and the tiling schemes")  # fmt: skip


class Conformance(BaseModel):
    links: list[TitledLink]
    conformsTo: list[str] = Field(description="conformance class URIs")  # noqa: N815 - OGC name


class SpatialExtent(BaseModel):
    bbox: list[tuple[float, float, float, float]] = Field(description="minlon, minlat, maxlon, "
                                                         "maxlat")  # fmt: skip
    crs: str


class Extent(BaseModel):
    spatial: SpatialExtent


class CollectionInfo(BaseModel):
    """One collection: ``stations``, ``stations-<kind>``, ``enterprises`` or ``boundaries``."""

    id: str
    title: str
    description: str
    itemType: Literal["feature"]  # noqa: N815 - OGC name
    crs: list[str]
    storageCrs: str  # noqa: N815 - OGC name
    links: list[TitledLink]
    extent: Extent | None = Field(None, description="absent when the collection is empty")


class Collections(BaseModel):
    links: list[TitledLink]
    collections: list[CollectionInfo]


class OgcFeature(BaseModel):
    """A GeoJSON Feature; positions are (lat, lon) when ``crs`` asked for EPSG:4326."""

    type: Literal["Feature"]
    id: int = Field(description="the row id; stable")
    geometry: Geometry
    properties: dict[str, PropertyValue] = Field(
        description="the collection's public fields (its /queryables), or those named by "
        "properties=; dates and timestamps as ISO 8601 strings"
    )
    links: list[TitledLink] | None = Field(None, description="on a single feature only")


class OgcFeatureCollection(BaseModel):
    """A page of features (GeoJSON) with OGC API – Features' counts and links."""

    type: Literal["FeatureCollection"]
    numberMatched: int  # noqa: N815 - OGC name
    numberReturned: int  # noqa: N815 - OGC name
    timeStamp: dt.datetime  # noqa: N815 - OGC name
    links: list[TitledLink] = Field(description="self, alternate, collection, next, prev")
    features: list[OgcFeature]


class QueryableRef(BaseModel):
    id: str
    type: str = Field(description="the JSON Schema type, or geometry")


class Queryables(BaseModel):
    """A JSON Schema of a collection's queryable properties (OGC API – Features Part 3)."""

    model_config = ConfigDict(populate_by_name=True)

    json_schema: Literal["https://json-schema.org/draft/2020-12/schema"] = Field(alias="$schema")
    schema_id: str = Field(alias="$id")
    type: Literal["object"]
    title: str
    properties: dict[str, dict[str, Any]] = Field(description="each a JSON Schema")
    additional_properties: Literal[False] = Field(alias="additionalProperties")
    queryables: list[QueryableRef] = Field(description="the draft's list, which GDAL reads")
    links: list[TitledLink]


class Server(BaseModel):
    url: str


class OgcApiDefinition(BaseModel):
    """The service's OpenAPI 3.1 document narrowed to the ``/ogc`` operations."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    servers: list[Server] = Field(description="one: the landing page")
    paths: dict[str, dict[str, Any]] = Field(description="relative to the server")
    components: dict[str, Any]
