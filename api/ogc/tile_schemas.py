"""Response models of the tiles' documents (TileJSON, OGC API – Tiles): documentation for
clients and the contract test only; the handlers return finished bytes. A tiling's definition
is documented by morecantile's own OGC TMS 2.0 model, which is what builds it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas import TitledLink

FieldType = Literal["Number", "String", "Boolean"]


class VectorLayer(BaseModel):
    id: str
    description: str
    minzoom: int
    maxzoom: int
    fields: dict[str, FieldType] = Field(description="each property and its type")


class TileJson(BaseModel):
    """TileJSON 3.0.0 for one layer; ``tiles`` carries the data version (``?v=``)."""

    tilejson: Literal["3.0.0"]
    name: str
    description: str
    scheme: Literal["xyz"]
    tiles: list[str] = Field(min_length=1, description="URL templates with {z}/{x}/{y}")
    minzoom: int
    maxzoom: int
    bounds: list[float] = Field(min_length=4, max_length=4, description="west, south, east, north")
    center: list[float] = Field(min_length=3, max_length=3, description="lon, lat, zoom")
    vector_layers: list[VectorLayer]


class TileMatrixSetEntry(BaseModel):
    id: str
    title: str | None
    uri: str | None
    links: list[TitledLink]


class TileMatrixSets(BaseModel):
    tileMatrixSets: list[TileMatrixSetEntry]  # noqa: N815 - OGC name
    links: list[TitledLink]


class TileLink(TitledLink):
    templated: bool | None = Field(None, description="the href is a URI template")


class TilesetSummary(BaseModel):
    """A tileset as a tilesets list names it."""

    title: str
    dataType: Literal["vector"]  # noqa: N815 - OGC name
    crs: str
    tileMatrixSetURI: str  # noqa: N815 - OGC name
    links: list[TileLink] = Field(description="self, the tiling scheme, the templated item")


class Tilesets(BaseModel):
    tilesets: list[TilesetSummary]
    links: list[TitledLink]


class TileMatrixLimits(BaseModel):
    tileMatrix: str  # noqa: N815 - OGC name
    minTileRow: int  # noqa: N815 - OGC name
    maxTileRow: int  # noqa: N815 - OGC name
    minTileCol: int  # noqa: N815 - OGC name
    maxTileCol: int  # noqa: N815 - OGC name


class PropertySchema(BaseModel):
    type: Literal["number", "string", "boolean"]


class PropertiesSchema(BaseModel):
    type: Literal["object"]
    properties: dict[str, PropertySchema]


class TileLayerInfo(BaseModel):
    id: str
    title: str
    dataType: Literal["vector"]  # noqa: N815 - OGC name
    geometryType: Literal["points", "polygons"]  # noqa: N815 - OGC name
    minTileMatrix: str  # noqa: N815 - OGC name
    maxTileMatrix: str  # noqa: N815 - OGC name
    propertiesSchema: PropertiesSchema  # noqa: N815 - OGC name


class Tileset(TilesetSummary):
    """One tileset: where its tiles hold data (per zoom) and its layers with their zooms."""

    tileMatrixSetLimits: list[TileMatrixLimits]  # noqa: N815 - OGC name
    layers: list[TileLayerInfo]
