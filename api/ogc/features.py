"""``/ogc``: OGC API – Features Parts 1–3 (core, GeoJSON, HTML, OpenAPI; CRS; CQL2) on PostGIS.

``/`` is the map page, so the API lives under ``/ogc``: landing page, ``/ogc/conformance``,
``/ogc/collections``, ``/ogc/collections/{collectionId}``, ``…/items`` and
``…/items/{featureId}``. Pages of features are built by PostGIS in one statement (count and
features together); Python only adds the envelope and links. Collections and SQL are in
``collections``, public fields (and ``/queryables``) in ``fields``, CQL2 in ``cql``, CRSs in
``crs``, parameters in ``params``, HTML in ``html``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from api.coords import shift_geojson
from api.deps import ReadConnectionDep, SettingsDep
from api.ogc import cql, params
from api.ogc.collections import (
    COLLECTIONS,
    EXTENTS_SQL,
    Collection,
    item_query,
    items_query,
)
from api.ogc.crs import CRS84, EPSG4326, content_crs, lat_first
from api.ogc.html import render
from api.ogc.schemas import (
    CollectionInfo,
    Collections,
    Conformance,
    LandingPage,
    OgcApiDefinition,
    OgcFeature,
    OgcFeatureCollection,
    Queryables,
)
from api.ogc.tilesets import CONFORMANCE as TILES_CONFORMANCE
from api.ogc.tilesets import TILED, TILESETS_VECTOR_REL
from api.schemas import GeoJSONResponse, answer
from geo.crs import CoordSystem
from geo.errors import NotFoundError

router = APIRouter(prefix="/ogc", tags=["ogc-features"])

JSON = "application/json"
GEOJSON = params.GEOJSON
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
_CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
_PART2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/"
_PART3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
CONFORMANCE = [
    f"{_CONF}core", f"{_CONF}geojson", f"{_CONF}html", f"{_CONF}oas30", f"{_PART2}crs",
    f"{_PART3}queryables", f"{_PART3}filter", f"{_PART3}features-filter",
    *(f"{_CQL2}{c}" for c in cql.CONFORMANCE), *TILES_CONFORMANCE,
]  # fmt: skip
TITLE = "Nuanxin 暖心 OGC API – Features"
MEDIA = {"json": JSON, "geojson": GEOJSON, "html": HTML}

CollectionIdPath = Annotated[
    str,
    Path(alias="collectionId", description="a collection id from /ogc/collections",
         openapi_examples={c: {"value": c} for c in ("stations", "stations-rest_point",
                                                     "enterprises", "boundaries")}),
]  # fmt: skip
FeatureIdPath = Annotated[
    str,
    Path(alias="featureId", description="the feature's integer id (its row id; stable)",
         openapi_examples={"one": {"value": "1"}}),
]  # fmt: skip


def _href(request: Request, path: str, **query: str) -> str:
    base = str(request.base_url).rstrip("/")
    return f"{base}/ogc{path}" + (f"?{urlencode(query)}" if query else "")


def _link(href: str, rel: str, media: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": media}
    if title:
        link["title"] = title
    return link


def _self_links(request: Request, fmt: str, json_media: str = JSON) -> list[dict[str, str]]:
    """``self`` in the served format, ``alternate`` in the other (same query otherwise)."""
    if fmt == "html":
        other, own, alt = ("geojson" if json_media == GEOJSON else "json"), HTML, json_media
    else:
        other, own, alt = "html", json_media, HTML
    alternate = request.url.include_query_params(f=other)
    return [_link(str(request.url), "self", own, "this document"),
            _link(str(alternate), "alternate", alt, f"this document as {other}")]  # fmt: skip


def _respond(doc: dict[str, Any], fmt: str, title: str, json_media: str = JSON,
             headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    if fmt == "html":
        return HTMLResponse(render(title, doc), headers=headers)
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), media_type=json_media, headers=headers)


def _metadata_format(request: Request) -> str:
    """Metadata documents take only ``f``: JSON, or HTML when asked for."""
    params.reject_unknown(request.query_params, params.METADATA_KNOWN)
    accept = request.headers.get("accept", "")
    return params.output_format(request.query_params, accept, ("json", "html"))


def _collection(collection_id: str) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFoundError(f"no collection {collection_id!r}; see /ogc/collections") from None


def _collection_doc(
    request: Request, c: Collection, extent: tuple[float, ...] | None
) -> dict[str, Any]:
    path = f"/collections/{c.id}"
    doc: dict[str, Any] = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": [CRS84, EPSG4326], "storageCrs": CRS84,
        "links": [
            _link(_href(request, path), "self", JSON, c.title),
            _link(_href(request, path, f="html"), "alternate", HTML, f"{c.title} as HTML"),
            _link(_href(request, f"{path}/items"), "items", GEOJSON, f"{c.title}: features"),
            _link(_href(request, f"{path}/items", f="html"), "items", HTML,
                  f"{c.title}: features as HTML"),
            _link(_href(request, f"{path}/queryables"), QUERYABLES_REL, SCHEMA_JSON,
                  f"{c.title}: what filter and sortby may name"),
            _link(_href(request, f"{path}/queryables"), "queryables", SCHEMA_JSON,
                  f"{c.title}: what filter and sortby may name"),
        ],
    }  # fmt: skip
    if c.id in TILED:
        doc["links"].append(_link(_href(request, f"{path}/tiles"), TILESETS_VECTOR_REL, JSON,
                                  f"{c.title}: vector tiles"))  # fmt: skip
    if extent is not None:  # an empty collection has no extent to report
        doc["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
    return doc


async def _extents(conn: ReadConnectionDep) -> dict[str, tuple[float, ...] | None]:
    rows = await conn.fetch(EXTENTS_SQL)
    found = {r["id"]: (r["x0"], r["y0"], r["x1"], r["y1"]) for r in rows if r["x0"] is not None}
    return {cid: found.get(cid) for cid in COLLECTIONS}


@router.get(
    "",
    summary="OGC API – Features landing page",
    description="Links to the API definition, conformance classes and collections.",
    responses={200: answer(LandingPage, files=(HTML,))},
    openapi_extra={"parameters": params.METADATA_PARAMS},
)
async def landing(request: Request) -> Response:
    fmt = _metadata_format(request)
    doc = {
        "title": TITLE,
        "description": "Trade-union stations, outdoor-worker rest points, enterprises and "
        "administrative boundaries of Beijing as OGC API – Features (GeoJSON, CRS84).",
        "links": [
            *_self_links(request, fmt),
            _link(_href(request, "/api"), "service-desc", JSON, "API definition (OpenAPI)"),
            _link(f"{request.base_url}docs", "service-doc", HTML, "API documentation"),
            _link(_href(request, "/conformance"), "conformance", JSON, "conformance classes"),
            _link(_href(request, "/collections"), "data", JSON, "collections"),
            _link(_href(request, "/tileMatrixSets"),
                  "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", JSON, "tiling schemes"),
            _link(_href(request, "/tiles"), TILESETS_VECTOR_REL, JSON,
                  "vector tiles of the whole dataset"),
            _link(f"{request.base_url}styles/nuanxin.json", "stylesheet", JSON,
                  "MapLibre style for the vector tiles"),
        ],
    }  # fmt: skip
    return _respond(doc, fmt, TITLE)


@router.get(
    "/api",
    summary="The OGC API's own definition: the /ogc operations, paths relative to /ogc",
    description="The service's OpenAPI document narrowed to this API, with ``servers`` at "
    "/ogc, so that clients which look an items path up relative to the landing page (GDAL's "
    "OAPIF driver does) find its parameters: which filter languages, which properties.",
    responses={200: answer(OgcApiDefinition)},
)
async def api_definition(request: Request) -> Response:
    params.reject_unknown(request.query_params, ())
    whole = request.app.openapi()
    paths = {path.removeprefix("/ogc") or "/": ops for path, ops in whole["paths"].items()
             if path == "/ogc" or path.startswith("/ogc/")}  # fmt: skip
    doc = {**whole, "servers": [{"url": _href(request, "")}], "paths": paths}
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), media_type=JSON)


@router.get(
    "/conformance",
    summary="Conformance classes this API implements",
    responses={200: answer(Conformance, files=(HTML,))},
    openapi_extra={"parameters": params.METADATA_PARAMS},
)
async def conformance(request: Request) -> Response:
    fmt = _metadata_format(request)
    doc = {"links": _self_links(request, fmt), "conformsTo": CONFORMANCE}
    return _respond(doc, fmt, "Conformance")


@router.get(
    "/collections",
    summary="Every collection: stations (all and per kind), enterprises, boundaries",
    responses={200: answer(Collections, files=(HTML,))},
    openapi_extra={"parameters": params.METADATA_PARAMS},
)
async def collections(request: Request, conn: ReadConnectionDep) -> Response:
    fmt = _metadata_format(request)
    extents = await _extents(conn)
    doc = {
        "links": _self_links(request, fmt),
        "collections": [_collection_doc(request, c, extents[c.id]) for c in COLLECTIONS.values()],
    }
    return _respond(doc, fmt, "Collections")


@router.get(
    "/collections/{collectionId}",
    summary="One collection: extent, CRS and links to its features",
    responses={200: answer(CollectionInfo, files=(HTML,))},
    openapi_extra={"parameters": params.METADATA_PARAMS},
)
async def collection(
    request: Request, conn: ReadConnectionDep, collection_id: CollectionIdPath
) -> Response:
    chosen = _collection(collection_id)
    fmt = _metadata_format(request)
    doc = _collection_doc(request, chosen, (await _extents(conn))[chosen.id])
    doc["links"][:2] = _self_links(request, fmt)
    return _respond(doc, fmt, chosen.title)


def _paging_links(request: Request, offset: int, limit: int, returned: int, matched: int,
                  media: str) -> list[dict[str, str]]:  # fmt: skip
    links = []
    if offset + returned < matched:
        url = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append(_link(str(url), "next", media, "next page"))
    if offset > 0:
        url = request.url.include_query_params(offset=max(0, offset - limit), limit=limit)
        links.append(_link(str(url), "prev", media, "previous page"))
    return links


@router.get(
    "/collections/{collectionId}/items",
    summary="Features of a collection, filtered and paged (GeoJSON)",
    description="A GeoJSON FeatureCollection with numberMatched, numberReturned, timeStamp and "
    "next/prev links that keep the other parameters. Unknown parameters, and filters that do "
    "not apply to the collection, are refused with 400.",
    response_class=GeoJSONResponse,
    responses={200: answer(OgcFeatureCollection, files=(HTML,))},
    openapi_extra={"parameters": params.items_params()},
)
async def items(request: Request, conn: ReadConnectionDep, settings: SettingsDep,
                collection_id: CollectionIdPath) -> Response:  # fmt: skip
    chosen = _collection(collection_id)
    query = request.query_params
    selection = params.selection(query, chosen, settings)
    fmt = params.output_format(
        query, request.headers.get("accept", ""), ("geojson", "json", "html")
    )
    system = params.coords(query)
    crs = params.output_crs(query)
    sql, args = items_query(chosen, selection)
    row = await conn.fetchrow(sql, *args)
    matched: int = row["matched"]
    returned = max(0, min(selection.limit, matched - selection.offset))
    media = HTML if fmt == "html" else GEOJSON
    head: dict[str, Any] = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": [
            *_self_links(request, fmt, GEOJSON),
            _link(_href(request, f"/collections/{chosen.id}"), "collection", JSON, chosen.title),
            *_paging_links(request, selection.offset, selection.limit, returned, matched, media),
        ],
    }
    features_text: str = row["features"]
    labelled = content_crs(crs) if system is CoordSystem.WGS84 else {}
    if fmt == "html" or system is not CoordSystem.WGS84:
        head["features"] = json.loads(features_text)
        shift_geojson(head, system)
        return _respond(head, fmt, f"{chosen.title}: features", GEOJSON, labelled)
    prefix = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    body = f'{prefix},"features":{features_text}}}'.encode()
    return Response(body, media_type=GEOJSON, headers=labelled)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature by its id (GeoJSON)",
    response_class=GeoJSONResponse,
    responses={200: answer(OgcFeature, files=(HTML,))},
    openapi_extra={"parameters": params.ITEM_PARAMS},
)
async def item(request: Request, conn: ReadConnectionDep, collection_id: CollectionIdPath,
               feature_id: FeatureIdPath) -> Response:  # fmt: skip
    chosen = _collection(collection_id)
    query = request.query_params
    params.reject_unknown(query, params.ITEM_KNOWN)
    fmt = params.output_format(
        query, request.headers.get("accept", ""), ("geojson", "json", "html")
    )
    system = params.coords(query)
    crs = params.output_crs(query)
    missing = NotFoundError(f"no feature {feature_id!r} in collection {chosen.id}")
    if not (feature_id.isascii() and feature_id.isdigit()) or int(feature_id) >= 2**63:
        raise missing
    args: list[Any] = [int(feature_id)]
    if chosen.kind is not None:
        args.append(chosen.kind.value)
    text = await conn.fetchval(item_query(chosen, lat_first(crs)), *args)
    if text is None:
        raise missing
    feature = shift_geojson(json.loads(text), system)
    feature["links"] = [
        *_self_links(request, fmt, GEOJSON),
        _link(_href(request, f"/collections/{chosen.id}"), "collection", JSON, chosen.title),
    ]
    labelled = content_crs(crs) if system is CoordSystem.WGS84 else {}
    return _respond(feature, fmt, f"{chosen.title} #{feature_id}", GEOJSON, labelled)


@router.get(
    "/collections/{collectionId}/queryables",
    summary="What filter and sortby may name in a collection (a JSON Schema)",
    description="The collection's public properties with their types and codes, and its "
    "geometry, as JSON Schema (OGC API – Features Part 3). Every property is queryable; all but "
    "arrays and the geometry are sortable.",
    responses={200: answer(Queryables, SCHEMA_JSON, files=(HTML,))},
    openapi_extra={"parameters": params.QUERYABLES_PARAMS},
)
async def queryables(request: Request, collection_id: CollectionIdPath) -> Response:
    chosen = _collection(collection_id)
    fmt = _metadata_format(request)
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _href(request, f"/collections/{chosen.id}/queryables"),
        "type": "object",
        "title": chosen.title,
        "properties": {f.name: f.schema() for f in chosen.source.fields},
        "additionalProperties": False,
        # The draft's list, which GDAL's OAPIF driver (3.6 to 3.12 at least) reads to decide
        # which names it may send in a filter; an annotation to JSON Schema, ignored by others.
        "queryables": [
            {"id": f.name, "type": f.schema().get("type", "geometry")} for f in chosen.source.fields
        ],
        "links": _self_links(request, fmt, SCHEMA_JSON),
    }
    # application/schema+json, unless the client asks for JSON and not for that (GDAL does)
    accept = request.headers.get("accept", "")
    media = JSON if JSON in accept and SCHEMA_JSON not in accept else SCHEMA_JSON
    return _respond(doc, fmt, f"{chosen.title}: queryables", media)
