"""``/locate`` answered ahead of FastAPI: a worker's phone asks it more than anything else.

FastAPI's routing, dependency solving and validation of ten query parameters, then the GZip
middleware's wrapping, cost more than the answer itself (see BENCHMARKS.md). This middleware
parses the query string strictly and hands the values to the route's own
:func:`api.locator.route.answer`, so the body is the route's, byte for byte; headers are the
ones the route and GZip would send: gzip from the app's minimum size, with ``Vary``. The deflate is
ISA-L's (``isal``) at its default level: a 17 KB answer of ten places becomes 3.3 KB instead of
level 6's 3.0 KB, in a fifth of stdlib zlib's time (37 µs, bench.api) and about a quarter of
zlib-ng's between answers in one process. Compression had been a request's largest single cost.

It only answers what it understands completely: a GET with plain ``name=value`` pairs, each
known parameter at most once (lists repeat), every value in the exact form FastAPI would accept
with the same meaning. Anything else (percent-encoding, an out-of-range or unusual value, a time
zone in ``at``, a duplicate) goes to the route, which validates it and answers or explains with
problem+json. So errors, OpenAPI and the route's tests stay the reference.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

import asyncpg
from isal import isal_zlib

from api.fastpath import GZIP_MIN, Answer, FastPath, route_path
from api.locator.route import MAX_K, MAX_KM, LocateQuery, answer, router
from api.middleware import Receive, Scope, Send
from api.runtime.services import services_of
from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.locator.rules import OpenMode, WorkerProfile
from geo.vocab import Amenity, StationKind

_NUMBER = re.compile(r"-?\d{1,3}(?:\.\d{1,17})?")
_COUNT = re.compile(r"[1-9]\d?")
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?")  # naive: Beijing time
_ENUMS: dict[str, Any] = {
    "coords": {c.value: c for c in CoordSystem},
    "profile": {p.value: p for p in WorkerProfile},
    "open": {o.value: o for o in OpenMode},
}
_LISTS: dict[str, Any] = {
    "need": {a.value: a for a in Amenity},
    "kind": {k.value: k for k in StationKind},
}
_JSON = b"application/json"

log = logging.getLogger("nuanxin.locator")


def _number(text: str, low: float, high: float, *, above_low: bool = False) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    if value < low or value > high or (above_low and value == low):
        return None
    return value


def parse_query(query_string: bytes) -> LocateQuery | None:
    """The parameters as the route would validate them, or ``None``: let the route decide."""
    if not query_string or b"%" in query_string or b"+" in query_string:
        return None
    try:
        text = query_string.decode("ascii")
    except UnicodeDecodeError:
        return None
    scalars: dict[str, str] = {}
    lists: dict[str, list[Any]] = {}
    for pair in text.split("&"):
        name, sep, value = pair.partition("=")
        if not sep or not value:
            return None
        if name in _LISTS:
            member = _LISTS[name].get(value)
            if member is None:
                return None
            lists.setdefault(name, []).append(member)
        elif name in scalars:
            return None  # FastAPI would take the last one; rare enough to leave to it
        else:
            scalars[name] = value  # unknown names are ignored, as FastAPI ignores them
    lon, lat = scalars.get("lon"), scalars.get("lat")
    if lon is None or lat is None:
        return None
    values: dict[str, Any] = {"need": lists.get("need"), "kind": lists.get("kind")}
    values["lon"], values["lat"] = _number(lon, -180, 180), _number(lat, -90, 90)
    if values["lon"] is None or values["lat"] is None:
        return None
    for name, members in _ENUMS.items():
        if name in scalars:
            values[name] = members.get(scalars[name])
            if values[name] is None:
                return None
    if "k" in scalars:
        if not _COUNT.fullmatch(scalars["k"]) or int(scalars["k"]) > MAX_K:
            return None
        values["k"] = int(scalars["k"])
    if "max_km" in scalars:
        values["max_km"] = _number(scalars["max_km"], 0, MAX_KM, above_low=True)
        if values["max_km"] is None:
            return None
    if "at" in scalars:
        if not _AT.fullmatch(scalars["at"]):
            return None
        try:
            values["at"] = datetime.fromisoformat(scalars["at"])
        except ValueError:
            return None
    return LocateQuery(**values)


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
        pool = services.pool
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
