"""Tiles answered ahead of FastAPI: no routing, dependencies or GZip per tile.

A map pans through tiles it mostly has seen, so most tile requests are cache hits or 304s; on
those FastAPI's machinery (routing alone tries every route first) cost more than the answer.
This middleware sits just inside ``OperationsMiddleware`` (request id, limits, metrics and
security headers still apply) and answers a valid GET that accepts gzip — a 304, a cached
tile, or a miss drawn through the pool — with exactly the headers the route would send (ETag,
Cache-Control, Vary, X-Tile-Cache, CORS through the app's own CORS settings). Anything else —
identity encoding, an invalid tile, a query it does not know, a database error — goes on to
the route, which stays the reference.
"""

from __future__ import annotations

import re

import asyncpg

from api.errors import DATABASE_DOWN
from api.fastpath import Answer, FastPath, route_path
from api.middleware import Receive, Scope, Send
from api.ogc.tiles import (
    CACHE_CONTROL,
    LAYERS,
    MVT,
    accepts_gzip,
    draw,
    etag_of,
    matches,
    router,
)
from api.runtime.freshness import VERSIONS_KEY, LayerVersions, Versions, read_versions
from api.runtime.services import services_of

_TILE = re.compile(r"/tiles/([a-z]+)/(\d{1,2})/(\d{1,7})/(\d{1,7})\.mvt")
_QUERY = re.compile(rb"(?:v=\d{1,18})?")  # what the route accepts without a 422
_CACHE_CONTROL = CACHE_CONTROL.encode()
_MVT = MVT.encode()


# The route whose metrics label and answers the fast path shares (routers exist at import).
_TILE_ROUTE = next(r for r in router.routes if getattr(r, "name", "") == "get_tile")


class TileFastPath(FastPath):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        versions: LayerVersions | None = None
        if scope["type"] == "http":
            versions = services_of(scope["app"]).versions
        if versions is None:  # no lifespan (tests) or not HTTP: the app as it is
            await self.app(scope, receive, send)
            return
        answer = await self._answer(scope, versions) if scope["method"] == "GET" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        await self.respond(scope, receive, send, answer, _TILE_ROUTE)

    async def _answer(self, scope: Scope, versions: LayerVersions) -> Answer | None:
        """A 304 or the tile (cached, else drawn), or ``None`` when the route must answer."""
        match = _TILE.fullmatch(route_path(scope))
        if match is None or not _QUERY.fullmatch(scope["query_string"]):
            return None
        spec = LAYERS.get(match[1])
        z, x, y = int(match[2]), int(match[3]), int(match[4])
        if spec is None or not spec.minzoom <= z <= spec.maxzoom or x >> z or y >> z:
            return None  # the route explains what is wrong
        known, offline = await versions.current(), False
        if known is None:  # no dedicated connection: read through the pool
            known, offline = await self._read_or_last_known(scope, versions)
            if known is None:
                return None  # the route explains
        scope[VERSIONS_KEY] = known  # read after arrival: the route may use it on a miss
        version, stamp = known.get(spec.name, (0, ""))
        accept = if_none_match = ""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        gzipped = accepts_gzip(accept)
        etag = etag_of(spec.key, version, stamp, z, x, y, gzipped)
        headers = [(b"etag", etag.encode()), (b"cache-control", _CACHE_CONTROL),
                   (b"vary", b"Accept-Encoding")]  # fmt: skip
        if matches(if_none_match, etag):
            return 304, headers, b""
        if not gzipped:  # identity answers are left to the route: GZip may recompress them
            return None
        services = services_of(scope["app"])
        cache = services.tile_cache
        body = cache.get((spec.key, version, stamp, z, x, y))
        headers.append((b"x-tile-cache", b"hit" if body is not None else b"miss"))
        if offline:
            if body is None:
                return None  # nothing to draw it from: the route answers 503
            headers.append((b"x-tile-offline", b"database unreachable; tile as last read"))
        if body is None:
            pool = services.reads
            if pool is None:
                return None
            try:
                async with pool.acquire() as conn:
                    body, *drawn = await draw(conn, spec, z, x, y, cache)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return None  # the route tries again and explains the failure (problem+json)
            if tuple(drawn) != (version, stamp):  # changed between the two statements
                headers[0] = (b"etag", etag_of(spec.key, *drawn, z, x, y, gzipped).encode())
        if not body:
            return 204, headers, b""
        headers += [(b"content-encoding", b"gzip"), (b"content-length", str(len(body)).encode()),
                    (b"content-type", _MVT)]  # fmt: skip
        return 200, headers, body

    async def _read_or_last_known(self, scope: Scope, versions: LayerVersions,
                                  ) -> tuple[Versions | None, bool]:  # fmt: skip
        """The versions read through the pool; while the database cannot be reached at all,
        the last ones read (``True``: offline, so only cached tiles may be served)."""
        pool = services_of(scope["app"]).reads
        if pool is None:
            return None, False
        try:
            async with pool.acquire() as conn:
                return await read_versions(conn), False
        except DATABASE_DOWN:
            return versions.last_known, versions.last_known is not None
