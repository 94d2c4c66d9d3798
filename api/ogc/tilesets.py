"""``/ogc``: OGC API – Tiles Part 1 over the existing vector tiles, for GDAL, QGIS and MapLibre.

The tiles themselves are ``/tiles``' (same SQL, cache, ETags and versions: ``api/ogc/tiles.py``);
this module describes them as the standard asks: ``/ogc/tileMatrixSets`` (their OGC TMS 2.0
definitions from morecantile, the tiling library of the field), and for each collection with
tiles (``stations``, ``boundaries``) a tilesets list, a tileset (limits per zoom from the
data's extent, its layer and fields) and tiles at ``{tileMatrix}/{tileRow}/{tileCol}``, the
standard's order (z/y/x, where ``/tiles`` is z/x/y). ``/ogc/tiles`` is the dataset's tilesets:
both layers in one tile (each at the zooms it has), so a map needs one request per tile.
Two tilings: WebMercatorQuad (what web maps use) and WorldCRS84Quad (in degrees; GDAL's OGCAPI
driver reads vector tiles right only in a geographic tiling, since it places the CRS84 extent
on the tile grid unprojected).
"""

from __future__ import annotations

import functools
import gzip
import json
from typing import Annotated, Any

import asyncpg
import morecantile
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.deps import ReadConnectionDep
from api.ogc import params
from api.ogc.tile_schemas import TileMatrixSets, Tileset, Tilesets
from api.ogc.tiles import (
    CACHE_CONTROL,
    CRS84_LAYERS,
    LAYERS,
    MVT,
    TileLayer,
    accepts_gzip,
    cached_or_drawn,
    current_versions,
    etag_of,
    matches,
    mvt_answer,
    tile_response,
    tile_responses,
)
from api.runtime.services import services_of
from api.schemas import answer
from geo.errors import InvalidInputError, NotFoundError

router = APIRouter(prefix="/ogc", tags=["ogc-tiles"])

JSON = "application/json"
TILINGS: dict[str, dict[str, TileLayer]] = {"WebMercatorQuad": LAYERS,
                                            "WorldCRS84Quad": CRS84_LAYERS}  # fmt: skip
TILING_SCHEME_REL = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
TILESETS_VECTOR_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
GEODATA_REL = "http://www.opengis.net/def/rel/ogc/1.0/geodata"
_CONF = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CONFORMANCE = [f"{_CONF}{c}" for c in ("core", "tileset", "tilesets-list", "geodata-tilesets",
                                       "dataset-tilesets", "mvt", "oas30")]  # fmt: skip
# Which collection has which tile layer (a kind's collection has none: its features are the
# stations layer's with one ``kind``, which a style filters on).
TILED = {"stations": "stations", "boundaries": "boundaries"}
GEOMETRY_TYPES = {"stations": "points", "boundaries": "polygons"}
_FIELD_TYPES = {"Number": "number", "String": "string"}

CollectionIdPath = Annotated[
    str, Path(alias="collectionId", description="a collection with tiles: stations or boundaries",
              openapi_examples={c: {"value": c} for c in TILED}),
]  # fmt: skip
TmsPath = Annotated[
    str, Path(alias="tileMatrixSetId", description="the tiling: WebMercatorQuad or WorldCRS84Quad",
              openapi_examples={t: {"value": t} for t in TILINGS}),
]  # fmt: skip

TileMatrixPath = Annotated[int, Path(alias="tileMatrix", description="zoom",
                                     openapi_examples={"14": {"value": 14}})]  # fmt: skip
TileRowPath = Annotated[int, Path(alias="tileRow", description="row, 0 at the north",
                                  openapi_examples={"6208": {"value": 6208}})]  # fmt: skip
TileColPath = Annotated[int, Path(alias="tileCol", description="column, 0 at the west",
                                  openapi_examples={"13489": {"value": 13489}})]  # fmt: skip


@functools.cache
def _tms(tms_id: str) -> morecantile.TileMatrixSet:
    return morecantile.tms.get(tms_id)


def _href(request: Request, path: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/ogc{path}"


def _link(request: Request, rel: str, path: str, title: str, media: str = JSON) -> dict[str, Any]:
    return {"rel": rel, "type": media, "title": title, "href": _href(request, path)}


def _json(doc: dict[str, Any]) -> Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), media_type=JSON)


def _no_params(request: Request) -> None:
    params.reject_unknown(request.query_params, ("f",))
    if request.query_params.get("f", "json") != "json":
        raise InvalidInputError("f must be json", field="f")


def _check_tms(tms_id: str) -> None:
    if tms_id not in TILINGS:
        raise NotFoundError(f"no tile matrix set {tms_id!r}; offered: {', '.join(TILINGS)}")


def _tiled(collection_id: str, tms_id: str) -> TileLayer:
    if collection_id not in TILED:
        raise NotFoundError(f"collection {collection_id!r} has no tiles; tiled: {', '.join(TILED)}")
    _check_tms(tms_id)
    return TILINGS[tms_id][TILED[collection_id]]


@router.get("/tileMatrixSets", summary="The tilings offered: WebMercatorQuad, WorldCRS84Quad",
            responses={200: answer(TileMatrixSets)})  # fmt: skip
async def tile_matrix_sets(request: Request) -> Response:
    _no_params(request)
    found = [{"id": t, "title": _tms(t).title, "uri": _tms(t).uri,
              "links": [_link(request, "self", f"/tileMatrixSets/{t}", _tms(t).title or t)]}
             for t in TILINGS]  # fmt: skip
    return _json({"tileMatrixSets": found,
                  "links": [_link(request, "self", "/tileMatrixSets", "tilings")]})  # fmt: skip


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}",
    summary="A tiling's definition (OGC Two Dimensional Tile Matrix Set 2.0, JSON)",
    responses={
        200: answer(morecantile.models.TileMatrixSet),
        404: {"description": "unknown tile matrix set"},
    },
)
async def tile_matrix_set(request: Request, tms_id: TmsPath) -> Response:
    _no_params(request)
    _check_tms(tms_id)
    return _json(_tms(tms_id).model_dump(mode="json", exclude_none=True, by_alias=True))


def _tileset_summary(request: Request, base: str, title: str, tms_id: str) -> dict[str, Any]:
    """What a tilesets list says of one tileset at ``base`` (a path under /ogc)."""
    tms = _tms(tms_id)
    tile = _link(request, "item", base, "a tile", MVT)
    tile["href"] += "/{tileMatrix}/{tileRow}/{tileCol}"
    tile["templated"] = True
    return {
        "title": f"{title} ({tms_id})", "dataType": "vector",
        "crs": tms.crs.srs, "tileMatrixSetURI": tms.uri,
        "links": [_link(request, "self", base, "this tileset"),
                  _link(request, TILING_SCHEME_REL, f"/tileMatrixSets/{tms_id}", tms_id),
                  tile],
    }  # fmt: skip


def _collection_tiles(collection_id: str, spec: TileLayer) -> str:
    return f"/collections/{collection_id}/tiles/{spec.tms}"


def _layer(spec: TileLayer) -> dict[str, Any]:
    return {
        "id": spec.name, "title": spec.description, "dataType": "vector",
        "geometryType": GEOMETRY_TYPES[spec.name],
        "minTileMatrix": str(spec.minzoom), "maxTileMatrix": str(spec.maxzoom),
        "propertiesSchema": {"type": "object", "properties": {
            name: {"type": _FIELD_TYPES[kind]} for name, kind in spec.fields.items()}},
    }  # fmt: skip


async def _bounds(conn: asyncpg.Connection, spec: TileLayer) -> tuple[float, ...] | None:
    row = await conn.fetchrow(spec.bounds_sql)
    return tuple(row) if row is not None and row[0] is not None else None


@router.get(
    "/collections/{collectionId}/tiles",
    summary="The vector tilesets of a collection (stations, boundaries), one per tiling",
    responses={200: answer(Tilesets), 404: {"description": "the collection has no tiles"}},
)
async def tilesets(request: Request, collection_id: CollectionIdPath) -> Response:
    _no_params(request)
    specs = [_tiled(collection_id, t) for t in TILINGS]
    return _json({
        "tilesets": [_tileset_summary(request, _collection_tiles(collection_id, s),
                                      s.description, s.tms) for s in specs],
        "links": [_link(request, "self", f"/collections/{collection_id}/tiles", "tilesets")],
    })  # fmt: skip


def _limits(tms_id: str, zooms: range, bounds: tuple[float, ...] | None) -> list[dict[str, Any]]:
    """Per zoom, the rows and columns holding data (the whole matrix when there is none)."""
    tms, found = _tms(tms_id), []
    for z in zooms:
        if bounds is None:
            matrix = tms.matrix(z)
            low = morecantile.Tile(0, 0, z)
            high = morecantile.Tile(matrix.matrixWidth - 1, matrix.matrixHeight - 1, z)
        else:
            west, south, east, north = bounds
            low, high = tms.tile(west, north, z), tms.tile(east, south, z)
        found.append({"tileMatrix": str(z), "minTileRow": low.y, "maxTileRow": high.y,
                      "minTileCol": low.x, "maxTileCol": high.x})  # fmt: skip
    return found


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}",
    summary="A collection's vector tileset: its layer, fields, zooms and where tiles hold data",
    responses={
        200: answer(Tileset),
        404: {"description": "no tiles, or an unknown tile matrix set"},
    },
)
async def tileset(
    request: Request, conn: ReadConnectionDep, collection_id: CollectionIdPath, tms_id: TmsPath
) -> Response:
    _no_params(request)
    spec = _tiled(collection_id, tms_id)
    bounds = await _bounds(conn, spec)
    doc = _tileset_summary(request, _collection_tiles(collection_id, spec), spec.description,
                           tms_id)  # fmt: skip
    doc["links"].append(_link(request, GEODATA_REL, f"/collections/{collection_id}",
                              "the collection"))  # fmt: skip
    doc["tileMatrixSetLimits"] = _limits(tms_id, range(spec.minzoom, spec.maxzoom + 1), bounds)
    doc["layers"] = [_layer(spec)]
    return _json(doc)


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A vector tile (Mapbox Vector Tile), rows from the north",
    response_class=Response,
    responses=tile_responses(
        "row or column outside the matrix",
        "no tiles, an unknown tile matrix set, or a zoom without tiles",
    ),
)
async def tile(
    request: Request, conn: ReadConnectionDep, collection_id: CollectionIdPath, tms_id: TmsPath,
    tile_matrix: TileMatrixPath, tile_row: TileRowPath, tile_col: TileColPath,
) -> Response:  # fmt: skip
    spec = _tiled(collection_id, tms_id)
    if not spec.minzoom <= tile_matrix <= spec.maxzoom:
        raise NotFoundError(f"{collection_id} has {tms_id} tiles at tile matrices "
                            f"{spec.minzoom}..{spec.maxzoom}, not {tile_matrix}")  # fmt: skip
    _check_cell(tms_id, tile_matrix, tile_row, tile_col)
    return await tile_response(request, conn, spec, tile_matrix, tile_col, tile_row)


def _check_cell(tms_id: str, tile_matrix: int, tile_row: int, tile_col: int) -> None:
    matrix = _tms(tms_id).matrix(tile_matrix)
    for name, value, size in (("tileRow", tile_row, matrix.matrixHeight),
                              ("tileCol", tile_col, matrix.matrixWidth)):  # fmt: skip
        if not 0 <= value < size:
            raise InvalidInputError(f"{name} must lie within 0..{size - 1} at tile matrix "
                                    f"{tile_matrix}", field=name)  # fmt: skip


# ---- the dataset's tilesets: every layer in one tile ----------------------------------------

DATASET_TITLE = "Stations and boundaries"


def _dataset_zooms(tms_id: str) -> range:
    specs = TILINGS[tms_id].values()
    return range(min(s.minzoom for s in specs), max(s.maxzoom for s in specs) + 1)


@router.get("/tiles", summary="The dataset's vector tilesets (every layer in one tile), per tiling",
            responses={200: answer(Tilesets)})  # fmt: skip
async def dataset_tilesets(request: Request) -> Response:
    _no_params(request)
    return _json({
        "tilesets": [_tileset_summary(request, f"/tiles/{t}", DATASET_TITLE, t) for t in TILINGS],
        "links": [_link(request, "self", "/tiles", "tilesets")],
    })  # fmt: skip


@router.get(
    "/tiles/{tileMatrixSetId}",
    summary="The dataset's vector tileset: both layers, each with its zooms",
    responses={200: answer(Tileset), 404: {"description": "unknown tile matrix set"}},
)
async def dataset_tileset(request: Request, conn: ReadConnectionDep, tms_id: TmsPath) -> Response:
    _no_params(request)
    _check_tms(tms_id)
    specs = list(TILINGS[tms_id].values())
    found = [b for b in [await _bounds(conn, s) for s in specs] if b is not None]
    bounds = (min(b[0] for b in found), min(b[1] for b in found),
              max(b[2] for b in found), max(b[3] for b in found)) if found else None  # fmt: skip
    doc = _tileset_summary(request, f"/tiles/{tms_id}", DATASET_TITLE, tms_id)
    doc["links"] += [_link(request, GEODATA_REL, f"/collections/{c}", f"the {c} collection")
                     for c in TILED]  # fmt: skip
    doc["tileMatrixSetLimits"] = _limits(tms_id, _dataset_zooms(tms_id), bounds)
    doc["layers"] = [_layer(s) for s in specs]
    return _json(doc)


def _dataset_key(tms_id: str, specs: list[TileLayer], versions: list[tuple[int, str]],
                 z: int, x: int, y: int) -> tuple[object, ...]:  # fmt: skip
    """A dataset tile's cache key (and ETag's parts): each layer with the version drawn."""
    layers = [p for s, v in zip(specs, versions, strict=True) for p in (s.key, *v)]
    return (f"dataset@{tms_id}", *layers, z, x, y)


@router.get(
    "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A dataset vector tile: the stations and boundaries layers the zoom has",
    response_class=Response,
    responses=tile_responses(
        "row or column outside the matrix", "an unknown tile matrix set, or a zoom without tiles"
    ),
)
async def dataset_tile(
    request: Request, conn: ReadConnectionDep, tms_id: TmsPath,
    tile_matrix: TileMatrixPath, tile_row: TileRowPath, tile_col: TileColPath,
) -> Response:  # fmt: skip
    _check_tms(tms_id)
    zooms = _dataset_zooms(tms_id)
    if tile_matrix not in zooms:
        raise NotFoundError(f"the dataset has {tms_id} tiles at tile matrices "
                            f"{zooms.start}..{zooms.stop - 1}, not {tile_matrix}")  # fmt: skip
    _check_cell(tms_id, tile_matrix, tile_row, tile_col)
    specs = [s for s in TILINGS[tms_id].values() if s.minzoom <= tile_matrix <= s.maxzoom]
    z, x, y = tile_matrix, tile_col, tile_row
    gzipped = accepts_gzip(request.headers.get("accept-encoding", ""))
    versions = await current_versions(request, conn)
    known = [versions.get(s.name, (0, "")) for s in specs]
    key = _dataset_key(tms_id, specs, known, z, x, y)
    headers = {"ETag": etag_of(*key, gzipped), "Cache-Control": CACHE_CONTROL,
               "Vary": "Accept-Encoding"}  # fmt: skip
    if matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    cache = services_of(request.app).tile_cache
    body = cache.get(key)
    if body is None:
        bodies, drawn = [], []
        for spec, version in zip(specs, known, strict=True):
            layer_body, _, now = await cached_or_drawn(request, conn, spec, z, x, y, version)
            bodies.append(layer_body)
            drawn.append(now)
        # An MVT is a sequence of layer messages: two tiles' bytes joined are one tile of both.
        joined = b"".join(gzip.decompress(b) for b in bodies if b)
        body = gzip.compress(joined, compresslevel=6, mtime=0) if joined else b""
        if drawn != known:  # changed between the statements: file it under what was drawn
            key = _dataset_key(tms_id, specs, drawn, z, x, y)
            headers["ETag"] = etag_of(*key, gzipped)
        cache.put(key, body)  # joined once, not on every request
    return mvt_answer(body, gzipped, headers)
