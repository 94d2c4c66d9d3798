"""The pages: the worker's locator (``/``), the overview map (``/map``), the embeddable widget.

``/embed`` carries ``Content-Security-Policy: frame-ancestors`` built from the setting
``embed_origins`` (``NUANXIN_EMBED_ORIGINS``, comma-separated, default ``*``); the locator and
the widget may only load scripts from here and only talk to this API (``connect-src 'self'``).
Basemaps a deployment may use are listed in ``basemaps`` (e.g. ``osm,amap``; none by default);
``basemap_url`` and ``basemap_crs`` add its own tile server as ``custom`` (see ``.env.example``).
"""

from __future__ import annotations

import logging
import re
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.coords import CoordsQuery, shift_point
from api.deps import ReadConnectionDep, SettingsDep
from geo.config import Settings
from geo.crs import CoordSystem
from geo.errors import InvalidInputError, NotFoundError
from maps.basemaps import BASEMAPS, Basemap, custom_basemap
from maps.console import console_html
from maps.embed import EMBED_JS, iframe_snippet, oembed, script_snippet
from maps.locator import Params, locator_html, parse_locator, parse_widget, widget_html
from maps.national_planner import national_html
from maps.pages import index_html
from maps.planner import LANGS, plan_html
from maps.vector_map import vector_html

router = APIRouter(tags=["pages"])
log = logging.getLogger("nuanxin.pages")
_ORIGIN = re.compile(r"^(\*|https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?)$")
SEARCH_LIMIT = 8

# Areas first, then open stations; an exact name first, shorter names before longer ones.
_SEARCH_SQL = """
SELECT type, name, detail, lon, lat FROM (
  SELECT 'area' AS type, b.name, b.level AS detail, ST_X(c.pt) AS lon, ST_Y(c.pt) AS lat,
         0 AS rank
    FROM boundaries AS b CROSS JOIN LATERAL (SELECT ST_PointOnSurface(b.geom) AS pt) AS c
   WHERE b.valid_to IS NULL AND strpos(lower(b.name), lower($1)) > 0
  UNION ALL
  SELECT 'station', s.name, s.kind, ST_X(s.geom), ST_Y(s.geom), 1
    FROM stations AS s
   WHERE s.deleted_at IS NULL AND s.status = 'open' AND strpos(lower(s.name), lower($1)) > 0
) AS found
ORDER BY name = $1 DESC, rank, length(name), name
LIMIT $2
"""


def _params(request: Request) -> Params:
    params: Params = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    return params


def enabled_basemaps(settings: Settings) -> dict[str, Basemap]:
    """The basemaps this deployment may draw: ``none`` always, others only when listed."""
    listed = {b.strip() for b in settings.basemaps.split(",") if b.strip()}
    enabled = {"none": BASEMAPS["none"]} | {i: BASEMAPS[i] for i in listed if i in BASEMAPS}
    url = settings.basemap_url.strip()
    if url:
        enabled["custom"] = custom_basemap(url, settings.basemap_crs, settings.basemap_attribution)
    return enabled


def embed_origins(settings: Settings) -> list[str]:
    """Sites allowed to frame the widget; malformed entries are dropped (and logged)."""
    raw = [o.strip() for o in settings.embed_origins.split(",")]
    good = [o.rstrip("/") for o in raw if o and _ORIGIN.match(o.rstrip("/"))]
    if len(good) < len([o for o in raw if o]):
        log.warning("NUANXIN_EMBED_ORIGINS: ignored malformed entries in %r", raw)
    return good


def _csp(basemap: Basemap, ancestors: list[str], archive: str | None = None) -> str:
    images = " ".join(["'self'", "data:", *([basemap.origin] if basemap.origin else [])])
    framers = " ".join(["'self'", *ancestors])
    parts = urlsplit(archive or "")
    connect = " ".join(["'self'", *([f"{parts.scheme}://{parts.netloc}"] if parts.netloc else [])])
    return (f"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; connect-src {connect}; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {framers}")  # fmt: skip


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _root(request: Request) -> str:
    """The path prefix a reverse proxy serves us under (``--root-path``), for the pages' links
    and API calls; "" at the site's root."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def locator_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The worker's page: nearest places open on arrival, with filters and navigation."""
    basemaps = enabled_basemaps(settings)
    options = parse_locator(_params(request), basemaps)
    basemap = basemaps[options.basemap]
    policy = _csp(basemap, [])
    page = locator_html(options, basemap, _root(request))
    return HTMLResponse(page, headers={"Content-Security-Policy": policy})


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
async def overview_page(request: Request) -> HTMLResponse:
    """The overview map: every station coloured by kind."""
    return HTMLResponse(index_html(_root(request)))


# MapLibre's CSP build: its worker is a static file ('self'), never a blob; no eval.
VECTOR_CSP = ("default-src 'self'; script-src 'self'; worker-src 'self'; child-src 'self'; "
              "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'self'")  # fmt: skip


@router.get("/map/vector", response_class=HTMLResponse, include_in_schema=False)
async def vector_map_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The overview map on vector tiles: MapLibre and ``/styles/nuanxin.json``."""
    lang, _ = _page_options(request, settings)
    page = vector_html(lang, _root(request))
    return HTMLResponse(page, headers={"Content-Security-Policy": VECTOR_CSP})


def _page_options(request: Request, settings: Settings) -> tuple[str, Basemap]:
    """``lang`` (zh or en) and a drawable ``basemap`` of this deployment (else none)."""
    params = _params(request)
    lang = (params.get("lang") or ["zh"])[-1]
    if lang not in LANGS:
        raise InvalidInputError("lang must be zh or en", field="lang")
    basemaps = enabled_basemaps(settings)
    wanted = (params.get("basemap") or ["none"])[-1]
    basemap = basemaps.get(wanted, basemaps["none"])
    return lang, basemap if basemap.drawable else basemaps["none"]


@router.get("/plan", response_class=HTMLResponse, include_in_schema=False)
async def planner_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The planner's workbench: coverage, what-if and siting on the API's own figures."""
    lang, basemap = _page_options(request, settings)
    policy = _csp(basemap, [])
    page = plan_html(lang, basemap, _root(request))
    return HTMLResponse(page, headers={"Content-Security-Policy": policy})


@router.get("/plan/national", response_class=HTMLResponse, include_in_schema=False)
async def national_planner_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The national planner: stored national coverage and siting runs, by province or county."""
    lang, basemap = _page_options(request, settings)
    policy = _csp(basemap, [])
    page = national_html(lang, basemap, _root(request))
    return HTMLResponse(page, headers={"Content-Security-Policy": policy})


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
async def console_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The staff console: places, uploads, reports and editors on the audited write API."""
    lang, basemap = _page_options(request, settings)
    policy = _csp(basemap, [])
    return HTMLResponse(
        console_html(lang, basemap, _root(request)),
        headers={"Content-Security-Policy": policy, "Cache-Control": "no-store"},
    )


@router.get("/embed", response_class=HTMLResponse, include_in_schema=False)
async def widget_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    basemaps = enabled_basemaps(settings)
    options = parse_widget(_params(request), basemaps)
    basemap = basemaps[options.basemap]
    archive = settings.api.tiles_archive_url if options.source == "archive" else None
    if options.source == "archive" and archive is None:
        message = ("source=archive needs NUANXIN_API__TILES_ARCHIVE_URL (where `nuanxin export "
                   "tiles` was published)")  # fmt: skip
        raise InvalidInputError(message, field="source")
    if archive is not None and basemap.crs is not CoordSystem.WGS84:
        raise InvalidInputError("the archive's tiles are WGS-84 (Web Mercator): use a WGS-84 "
                                "basemap with source=archive", field="basemap")  # fmt: skip
    policy = _csp(basemap, embed_origins(settings), archive)
    page = widget_html(options, basemap, _root(request), archive)
    return HTMLResponse(page, headers={"Content-Security-Policy": policy})


@router.get("/embed.js", include_in_schema=False)
async def embed_script() -> Response:
    return Response(EMBED_JS, media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=3600"})  # fmt: skip


@router.get("/embed/snippet", include_in_schema=False)
async def embed_snippet(request: Request, settings: SettingsDep) -> JSONResponse:
    """The snippets for the options given: an ``<iframe>``, a ``<script>`` and the oEmbed URL."""
    options = parse_widget(_params(request), enabled_basemaps(settings))
    base, query = _base_url(request), options.query()
    url = f"{base}/embed" + (f"?{query}" if query else "")
    return JSONResponse({"url": url, "iframe": iframe_snippet(base, options),
                         "script": script_snippet(base, options)})  # fmt: skip


@router.get("/oembed", include_in_schema=False)
async def oembed_endpoint(
    request: Request,
    settings: SettingsDep,
    url: Annotated[str, Query(max_length=2000)],
    format: Annotated[str, Query()] = "json",  # the name oEmbed requires
    maxwidth: Annotated[int | None, Query(ge=50, le=4000)] = None,
    maxheight: Annotated[int | None, Query(ge=50, le=4000)] = None,
) -> JSONResponse:
    """oEmbed 1.0 for widget URLs of this site (``/embed?…``); JSON only (XML is 501)."""
    if format != "json":
        return JSONResponse({"detail": "only format=json is offered"}, status_code=501)
    base, root = _base_url(request), _root(request)  # base ends with the root path, if any
    target, site = urlsplit(url), urlsplit(base)
    here = (target.scheme, target.netloc) == (site.scheme, site.netloc)
    if not here or target.path not in (f"{root}/embed", f"{root}/", root or "/"):
        raise NotFoundError("not a map URL of this site")
    params: Params = {k: v for k, v in parse_qs(target.query).items()}
    options = parse_widget(params, enabled_basemaps(settings))
    return JSONResponse(oembed(base, options, maxwidth, maxheight))


@router.get("/locator/search", include_in_schema=False)
async def search_places(
    conn: ReadConnectionDep,
    q: Annotated[str, Query(min_length=1, max_length=50)],
    coords: CoordsQuery = CoordSystem.WGS84,
) -> JSONResponse:
    """Subdistricts, districts and open stations whose name contains ``q``."""
    if "\x00" in q:
        raise InvalidInputError("q may not contain NUL", field="q")
    rows = await conn.fetch(_SEARCH_SQL, q.strip(), SEARCH_LIMIT)
    results = []
    for row in rows:
        lon, lat = shift_point(row["lon"], row["lat"], coords)
        results.append({"type": row["type"], "name": row["name"], "detail": row["detail"],
                        "lon": lon, "lat": lat})  # fmt: skip
    return JSONResponse({"results": results})


@router.get("/locator/shift", include_in_schema=False)
async def shift_position(
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    coords: CoordsQuery = CoordSystem.WGS84,
) -> JSONResponse:
    """A GPS (WGS-84) position in the map's system, for pages drawn on GCJ-02 tiles."""
    x, y = shift_point(lon, lat, coords)
    return JSONResponse({"lon": x, "lat": y, "coords": coords.value})
