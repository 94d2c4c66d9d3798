"""``/tiles``: Mapbox vector tiles from ``ST_AsMVT``, TileJSON, ETags and an in-process cache.

Every request knows the layer's version as of its arrival (``layer_versions``, bumped by
triggers from migration 0003 whenever ``stations`` or ``boundaries`` change, whoever changes
them): from ``api/runtime/freshness.py`` when the app runs its lifespan, else read here per request.
The version keys the cache and the ETag, so an edit committed by any process shows on the very
next request; old entries are never hit again and age out of the LRU. Tiles are cached
gzip-compressed and sent as such to clients that accept gzip (the app's GZip middleware leaves
them alone). Cache hits are usually answered before routing, by ``api/ogc/tile_fastpath.py``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import ReadConnectionDep
from api.ogc.tile_schemas import TileJson
from api.runtime.caches import TileCache
from api.runtime.freshness import VERSION_JOIN, VERSIONS_KEY, Versions, versions_now
from api.runtime.services import services_of
from api.schemas import answer
from geo.errors import DatabaseUnavailableError, InvalidInputError, NotFoundError

router = APIRouter(tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"
EXTENT = 4096  # tile units per side
BUFFER = 64  # tile units drawn beyond each edge, so symbols and strokes join across tiles
MARGIN = BUFFER / EXTENT  # the same buffer as a fraction of the tile, for ST_TileEnvelope
WORLD_M = 40_075_016.685578488  # Web Mercator world width, metres
# Short freshness, then a cheap revalidation (304 after one indexed SELECT): a browser may show
# a tile up to this old after an edit; the server itself never serves a stale one.
CACHE_CONTROL = "public, max-age=60, must-revalidate"
TILES_REVISION = "1"  # bump when the SQL or the fields change, to retire every client's ETags


def _ex(*values: object) -> dict[str, Any]:
    """OpenAPI examples (the tile coordinates are 天安门's at z14)."""
    return {str(value): {"value": value} for value in values}


LayerPath = Annotated[
    str, Path(description="tile layer: stations or boundaries", openapi_examples=_ex("stations"))
]


@dataclass(frozen=True)
class TileLayer:
    name: str
    minzoom: int
    maxzoom: int
    description: str
    fields: dict[str, str]
    tile_sql: str  # $1..$3 = z, x, y; $4 = simplify tolerance; returns version, stamp, tile
    bounds_sql: str
    # The tiling: Web Mercator (metres, one tile at zoom 0) unless stated; WorldCRS84Quad
    # (degrees, two tiles at zoom 0) has ``span`` 360 and ``zoom_offset`` 1 (see ``CRS84_LAYERS``).
    tms: str = "WebMercatorQuad"
    span: float = WORLD_M
    zoom_offset: int = 0

    @property
    def key(self) -> str:
        """The identity of this layer's tiles in the cache and in ETags."""
        return self.name if self.tms == "WebMercatorQuad" else f"{self.name}@{self.tms}"

    def tolerance(self, z: int) -> float:
        """One tile unit at zoom ``z``, in the tiling's own units: how far outlines simplify."""
        return self.span / float(2 ** (z + self.zoom_offset)) / EXTENT


_ENVELOPE_4326 = f"ST_Transform(ST_TileEnvelope($1, $2, $3, margin => {MARGIN}), 4326)"
# One statement, one snapshot: the version returned is the one the tile was drawn from.
_TILE_SQL = """
SELECT lv.version, lv.changed_at,
       (SELECT ST_AsMVT(t, '{layer}', {extent}, 'geom', 'id') FROM ({features}) AS t
         WHERE t.geom IS NOT NULL) AS tile
  FROM (SELECT $4::float8 AS tolerance_m) AS p
  {version_join}
"""
_STATIONS = f"""
SELECT s.id, s.id AS id, s.kind, s.name, s.status,
       array_to_string(s.amenities, ',') AS amenities, s.opening_hours,
       ST_AsMVTGeom({{geom}}, {{tile}}, {EXTENT}, {BUFFER}, true) AS geom
  FROM stations AS s
 WHERE s.deleted_at IS NULL AND s.geom && {{envelope}}
"""  # noqa: S608 -- composed from module constants only; request values are bound
# Clip in WGS-84 first (a district can have thousands of vertices), then simplify in the
# tiling's units (metres, or degrees for WorldCRS84Quad).
_BOUNDARIES = f"""
SELECT b.id, b.code, b.name, b.level,
       ST_AsMVTGeom(ST_SimplifyPreserveTopology({{clipped}}, p.tolerance_m),
                    {{tile}}, {EXTENT}, {BUFFER}, true) AS geom
  FROM boundaries AS b
 WHERE b.valid_to IS NULL AND b.geom && {{envelope}}
"""  # noqa: S608 -- composed from module constants only; request values are bound
_MERCATOR = {
    "tile": "ST_TileEnvelope($1, $2, $3)", "envelope": _ENVELOPE_4326,
    "geom": "ST_Transform(s.geom, 3857)",
    "clipped": f"ST_Transform(ST_ClipByBox2D(b.geom, {_ENVELOPE_4326}), 3857)",
}  # fmt: skip
# WorldCRS84Quad's zoom z is a square grid of 360° at z + 1 whose lower half lies below the
# south pole: PostGIS's ST_TileEnvelope draws it in degrees with these bounds.
_CRS84_BOUNDS = "ST_MakeEnvelope(-180, -270, 180, 90, 4326)"
_CRS84_TILE = f"ST_TileEnvelope($1 + 1, $2, $3, bounds => {_CRS84_BOUNDS})"
_CRS84_ENVELOPE = (f"ST_TileEnvelope($1 + 1, $2, $3, bounds => {_CRS84_BOUNDS}, "
                   f"margin => {MARGIN})")  # fmt: skip
_CRS84 = {"tile": _CRS84_TILE, "envelope": _CRS84_ENVELOPE, "geom": "s.geom",
          "clipped": f"ST_ClipByBox2D(b.geom, {_CRS84_ENVELOPE})"}  # fmt: skip
_BOUNDS = """
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
  FROM (SELECT ST_Extent(geom) AS e FROM {table}{where}) AS x
"""

LAYERS = {
    layer.name: layer
    for layer in (
        TileLayer(
            "stations", 8, 18, "Union stations, rest points and water points (every kind)",
            {"id": "Number", "kind": "String", "name": "String", "status": "String",
             "amenities": "String", "opening_hours": "String"},
            _TILE_SQL.format(layer="stations", extent=EXTENT,
                             features=_STATIONS.format(**_MERCATOR),
                             version_join=VERSION_JOIN.format(layer="stations")),
            _BOUNDS.format(table="stations", where=" WHERE deleted_at IS NULL"),
        ),
        TileLayer(
            "boundaries", 6, 16, "Current administrative boundaries, simplified per zoom",
            {"id": "Number", "code": "String", "name": "String", "level": "String"},
            _TILE_SQL.format(layer="boundaries", extent=EXTENT,
                             features=_BOUNDARIES.format(**_MERCATOR),
                             version_join=VERSION_JOIN.format(layer="boundaries")),
            _BOUNDS.format(table="boundaries", where=" WHERE valid_to IS NULL"),
        ),
    )
}  # fmt: skip
# The same layers on WorldCRS84Quad (one zoom lower for the same detail), for clients that
# tile in degrees: GDAL's OGCAPI driver reads vector tiles only right in a geographic tiling.
CRS84_LAYERS = {
    name: TileLayer(
        name, layer.minzoom - 1, layer.maxzoom - 1, layer.description, layer.fields,
        _TILE_SQL.format(layer=name, extent=EXTENT,
                         features=(_STATIONS if name == "stations" else _BOUNDARIES).format(
                             **_CRS84),
                         version_join=VERSION_JOIN.format(layer=name)),
        layer.bounds_sql, tms="WorldCRS84Quad", span=360.0, zoom_offset=1,
    )
    for name, layer in LAYERS.items()
}  # fmt: skip


async def draw(
    conn: asyncpg.Connection, spec: TileLayer, z: int, x: int, y: int, cache: TileCache
) -> tuple[bytes, int, str]:
    """Draw a tile and file it (gzip bytes, ``b""`` when empty) under the version it was drawn
    from, which the caller must use: it may be newer than the one the request saw."""
    row = await conn.fetchrow(spec.tile_sql, z, x, y, spec.tolerance(z))
    version, stamp = _version_of(row)
    body = gzip.compress(row["tile"], compresslevel=6, mtime=0) if row["tile"] else b""
    cache.put((spec.key, version, stamp, z, x, y), body)
    return body, version, stamp


def layer_named(name: str) -> TileLayer:
    if name not in LAYERS:
        raise NotFoundError(f"no tile layer {name!r}; layers: {', '.join(LAYERS)}")
    return LAYERS[name]


def check_tile(layer: TileLayer, z: int, x: int, y: int) -> None:
    if not layer.minzoom <= z <= layer.maxzoom:
        raise NotFoundError(
            f"layer {layer.name} has tiles at zoom {layer.minzoom}..{layer.maxzoom}, not {z}"
        )
    last = 2**z - 1
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value <= last:
            raise InvalidInputError(f"{name} must lie within 0..{last} at zoom {z}", field=name)


async def current_versions(request: Request, conn: asyncpg.Connection) -> Versions:
    """Every layer's version as of this request: shared or in memory when possible, else read
    (one read for all layers)."""
    known: Versions | None = request.scope.get(VERSIONS_KEY)  # read by the fast path for us
    if known is None:
        try:
            known = await versions_now(services_of(request.app).versions, conn)
        except asyncpg.UndefinedTableError as exc:
            raise DatabaseUnavailableError("the tile version table is missing; migrate") from exc
    return known


async def current_version(
    request: Request, conn: asyncpg.Connection, layer: str
) -> tuple[int, str]:
    """The layer's version as of this request (see :func:`current_versions`)."""
    return (await current_versions(request, conn)).get(layer, (0, ""))


def _version_of(row: asyncpg.Record | None) -> tuple[int, str]:
    if row is None or row["version"] is None:
        return 0, ""
    return row["version"], row["changed_at"].isoformat()


@functools.lru_cache(maxsize=16_384)  # hashing per hit showed in profiles; keys are small
def etag_of(*parts: object) -> str:
    digest = hashlib.blake2b("|".join(map(str, (TILES_REVISION, *parts))).encode(), digest_size=12)
    return f'"{parts[0]}-{digest.hexdigest()}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2), as If-None-Match requires."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() in {"gzip", "*"}:
            return params.replace(" ", "") not in {"q=0", "q=0.0", "q=0.00", "q=0.000"}
    return False


def tile_responses(bad_cell: str, not_found: str) -> dict[int | str, dict[str, Any]]:
    """What every tile route answers (the MVT, 204, 304) and its own 400 and 404."""
    return {
        200: {"content": {MVT: {}}, "description": "the tile"},
        204: {"description": "the tile is empty"},
        304: {"description": "unchanged since the ETag sent in If-None-Match"},
        400: {"description": bad_cell},
        404: {"description": not_found},
    }


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="A Mapbox vector tile (Web Mercator, XYZ scheme)",
    response_class=Response,
    responses=tile_responses(
        "x or y outside 0..2^z-1", "unknown layer or zoom outside the layer's range"
    ),
)
async def get_tile(
    request: Request,
    conn: ReadConnectionDep,
    layer: LayerPath,
    z: Annotated[
        int, Path(description="zoom (see the layer's TileJSON)", openapi_examples=_ex(14))
    ],
    x: Annotated[
        int, Path(description="column, 0..2^z-1 from the west", openapi_examples=_ex(13489))
    ],
    y: Annotated[int, Path(description="row, 0..2^z-1 from the north", openapi_examples=_ex(6208))],
    v: Annotated[
        int | None,
        Query(
            ge=0,
            description="data version from TileJSON; only busts caches",
            openapi_examples=_ex(42),
        ),
    ] = None,
) -> Response:
    spec = layer_named(layer)
    check_tile(spec, z, x, y)
    return await tile_response(request, conn, spec, z, x, y)


async def tile_response(
    request: Request, conn: asyncpg.Connection, spec: TileLayer, z: int, x: int, y: int
) -> Response:
    """A checked tile's answer: 304 on a matching ETag, 204 when empty, else the MVT (gzip
    when accepted), from the cache or drawn; shared by ``/tiles`` and OGC API – Tiles."""
    gzipped = accepts_gzip(request.headers.get("accept-encoding", ""))
    version, stamp = await current_version(request, conn, spec.name)
    etag = etag_of(spec.key, version, stamp, z, x, y, gzipped)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)

    body, hit, drawn = await cached_or_drawn(request, conn, spec, z, x, y, (version, stamp))
    headers["X-Tile-Cache"] = "hit" if hit else "miss"
    if drawn != (version, stamp):  # changed between the two statements
        headers["ETag"] = etag_of(spec.key, *drawn, z, x, y, gzipped)
    return mvt_answer(body, gzipped, headers)


async def cached_or_drawn(
    request: Request, conn: asyncpg.Connection, spec: TileLayer, z: int, x: int, y: int,
    known: tuple[int, str],
) -> tuple[bytes, bool, tuple[int, str]]:  # fmt: skip
    """A tile's gzip bytes at version ``known`` from the cache, else drawn (then at the version
    it was drawn from); also whether it was a hit, and that version."""
    cache = services_of(request.app).tile_cache
    body = cache.get((spec.key, *known, z, x, y))
    if body is not None:
        return body, True, known
    body, version, stamp = await draw(conn, spec, z, x, y, cache)
    return body, False, (version, stamp)


def mvt_answer(body: bytes, gzipped: bool, headers: dict[str, str]) -> Response:
    """204 for an empty tile, else the gzip bytes as such or decompressed."""
    if not body:
        return Response(status_code=204, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=MVT, headers=headers)
    return Response(gzip.decompress(body), media_type=MVT, headers=headers)


@router.get(
    "/tiles/{layer}.json",
    summary="TileJSON 3.0.0 for one tile layer",
    responses={200: answer(TileJson), 404: {"description": "unknown layer"}},
)
async def get_tilejson(request: Request, conn: ReadConnectionDep, layer: LayerPath) -> Response:
    spec = layer_named(layer)
    version, stamp = await current_version(request, conn, spec.name)
    tile_url = str(request.url_for("get_tile", layer=spec.name, z="0", x="0", y="0"))
    template = tile_url.replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt") + f"?v={version}"
    etag = etag_of(spec.name, version, stamp, template)
    # The tiles URL carries the version, so the document must be revalidated every time.
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    row = await conn.fetchrow(spec.bounds_sql)
    bounds = [round(c, 6) for c in row] if row[0] is not None else [-180, -85.0511, 180, 85.0511]
    center_z = max(spec.minzoom, min(spec.minzoom + 2, spec.maxzoom))
    document = {
        "tilejson": "3.0.0",
        "name": spec.name,
        "description": spec.description,
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": spec.minzoom,
        "maxzoom": spec.maxzoom,
        "bounds": bounds,
        "center": [round((bounds[0] + bounds[2]) / 2, 6), round((bounds[1] + bounds[3]) / 2, 6),
                   center_z],
        "vector_layers": [{"id": spec.name, "description": spec.description,
                           "minzoom": spec.minzoom, "maxzoom": spec.maxzoom,
                           "fields": spec.fields}],
    }  # fmt: skip
    return JSONResponse(document, headers=headers)
