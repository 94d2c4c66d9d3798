"""``/locate`` answered ahead of FastAPI: a worker's phone asks it more than anything else.

FastAPI's routing, dependency solving and validation of ten query parameters, then the GZip
middleware's wrapping, cost more than the answer itself (see BENCHMARKS.md). This middleware
reads the query string into the route's own model (:func:`api.locator.query.parse_query`) and
hands it to the route's own :func:`api.locator.route.answer`, so the body is the route's, byte
for byte; headers are the ones the route and GZip would send: gzip from the app's minimum
size, with ``Vary``. The deflate is
ISA-L's (``isal``) at its default level: a 17 KB answer of ten places becomes 3.3 KB instead of
level 6's 3.0 KB, in a fifth of stdlib zlib's time (37 µs, bench.api) and about a quarter of
zlib-ng's between answers in one process. Compression had been a request's largest single cost.

It only answers what it reads completely: a GET with plain ``name=value`` pairs, each scalar
at most once (lists repeat), that the model accepts. Anything else (percent-encoding, a
duplicate, an invalid value) goes to the route, which reads the same model and answers or
explains with problem+json.
"""

from __future__ import annotations

import logging

import asyncpg
from isal import isal_zlib

from api.fastpath import GZIP_MIN, Answer, FastPath, route_path
from api.locator.query import parse_query
from api.locator.route import answer, router
from api.middleware import Receive, Scope, Send
from api.runtime.services import services_of
from geo.errors import InvalidInputError

_JSON = b"application/json"

log = logging.getLogger("nuanxin.locator")


# The route whose metrics label and answers the fast path shares (routers exist at import).
_LOCATE_ROUTE = next(r for r in router.routes if getattr(r, "path", "") == "/locate")


class LocateFastPath(FastPath):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reply = None
        if scope["type"] == "http" and scope["method"] == "GET":
            reply = await self._answer(scope)
        if reply is None:
            await self.app(scope, receive, send)
        else:
            await self.respond(scope, receive, send, reply, _LOCATE_ROUTE)

    async def _answer(self, scope: Scope) -> Answer | None:
        services = services_of(scope["app"])
        pool = services.reads
        if pool is None or route_path(scope) != "/locate":
            return None  # no lifespan (tests), or another path
        query = parse_query(scope["query_string"])
        if query is None:
            return None
        try:
            body = await answer(services, pool.acquire, query)
        except (InvalidInputError, OSError, TimeoutError, asyncpg.PostgresError,
                asyncpg.InterfaceError):  # fmt: skip
            return None  # e.g. a GCJ-02 point outside China, the database down: the route explains
        except Exception:  # the route answers again, and explains (problem+json) if it fails
            log.warning("/locate fast path gave way to the route", exc_info=True)
            return None
        headers = [(b"content-type", _JSON)]
        accept = next((v for n, v in scope["headers"] if n == b"accept-encoding"), b"")
        if b"gzip" in accept and len(body) >= GZIP_MIN:  # as GZipMiddleware decides
            body = isal_zlib.compress(body, wbits=31)  # 31: a gzip stream
            headers += [(b"vary", b"Accept-Encoding"), (b"content-encoding", b"gzip")]
        return 200, [(b"content-length", str(len(body)).encode()), *headers], body
