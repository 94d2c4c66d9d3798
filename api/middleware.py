"""One pure-ASGI middleware for what every request needs: an id, limits, a log line, metrics.

* **Request id**: a sane incoming ``X-Request-ID`` is kept, else one is made; it is echoed in
  the response and carried by every log line of the request.
* **Load shedding**: beyond ``max_concurrent_requests`` in flight, answer 503 with
  ``Retry-After`` at once rather than queue until clients time out.
* **Body cap**: a declared or streamed body over ``max_body_bytes`` gets 413.
* **Timeout**: a request running longer than ``request_timeout_s`` gets 503.
* **Metrics** (Prometheus): latency histogram by route template, method and status; requests
  shed; in flight. ``/metrics`` serves them.

Pure ASGI rather than ``BaseHTTPMiddleware``: streaming bodies pass through untouched.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from geo.config import ApiSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# On every response: no MIME sniffing, no full URLs (with coordinates) leaked in Referer.
# Framing is decided per page (the widget sets its own frame-ancestors).
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin")]  # fmt: skip
DEADLINE_KEY = "nuanxin.deadline"  # in the ASGI scope
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("nuanxin.access")


class Metrics:
    """The app's own registry (not the global one), so several apps in one process coexist."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "nuanxin_http_request_duration_seconds",
            "Request latency by route template",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.shed = Counter(
            "nuanxin_http_requests_shed_total",
            "Requests refused with 503 because too many were in flight",
            registry=self.registry,
        )
        self.pool = Gauge(
            "nuanxin_db_pool_connections",
            "Database pool connections by state",
            ["state"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "nuanxin_http_requests_in_flight", "Requests being handled", registry=self.registry
        )


def _problem(
    status: int, title: str, detail: str, code: str, headers: list[tuple[bytes, bytes]]
) -> tuple[Message, Message]:
    body = json.dumps(
        {
            "type": f"/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
        }
    ).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyTooLargeError(Exception):
    pass


class OperationsMiddleware:
    """Every request passes here, cached tiles included: the hot path allocates little (no
    header dict, no ``asyncio.timeout`` object, metric children looked up once per label set)."""

    def __init__(self, app: ASGIApp, settings: ApiSettings, metrics: Metrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.in_flight = 0
        metrics.in_flight.set_function(lambda: self.in_flight)  # read at scrape time
        self._latency: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming, declared = "", None
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
        request_id = incoming if incoming and _SANE_ID.match(incoming) else os.urandom(16).hex()
        token = REQUEST_ID.set(request_id)
        id_header = (b"x-request-id", request_id.encode())
        started = time.perf_counter()
        # When the timeout below will fire (monotonic): work that cannot be cancelled (an
        # upload's import thread) checks it before committing.
        scope[DEADLINE_KEY] = time.monotonic() + self.settings.request_timeout_s
        limit = self.settings.max_body_bytes
        status = 500
        response_started = False

        too_large = False  # the streamed body passed the cap: whatever the app answers, 413
        replaced = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                if too_large and not response_started:
                    replaced = True
                    start, body = _problem(
                        413,
                        "Request too large",
                        f"the body may be at most {limit:,} bytes",
                        "body_too_large",
                        [id_header],
                    )
                    status, response_started = 413, True
                    await send(start)
                    await send(body)
                    return
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), id_header, *SECURITY_HEADERS]
            await send(message)

        async def refuse(
            code: int,
            title: str,
            detail: str,
            code_name: str,
            extra: list[tuple[bytes, bytes]] | None = None,
        ) -> None:
            start, body = _problem(code, title, detail, code_name, [*(extra or [])])
            await send_with_id(start)
            await send_with_id(body)

        try:
            if self.in_flight >= self.settings.max_concurrent_requests:
                self.metrics.shed.inc()
                await refuse(
                    503,
                    "Service busy",
                    "Too many requests in flight; retry shortly.",
                    "overloaded",
                    [(b"retry-after", b"1")],
                )
                return
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await refuse(
                    413,
                    "Request too large",
                    f"the body may be at most {limit:,} bytes",
                    "body_too_large",
                )
                return
            received = 0

            async def capped_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        nonlocal too_large
                        too_large = True
                        raise BodyTooLargeError
                return message

            self.in_flight += 1
            # What asyncio.timeout does, without its per-request object and state machine.
            task = asyncio.current_task()
            expired = False

            def expire() -> None:
                nonlocal expired
                expired = True
                if task is not None:
                    task.cancel()

            cancelling = task.cancelling() if task is not None else 0
            timer = asyncio.get_running_loop().call_later(self.settings.request_timeout_s, expire)
            try:
                try:
                    await self.app(scope, capped_receive, send_with_id)
                finally:
                    timer.cancel()
            except BodyTooLargeError:
                if not response_started:
                    await refuse(
                        413,
                        "Request too large",
                        f"the body may be at most {limit:,} bytes",
                        "body_too_large",
                    )
            except asyncio.CancelledError:
                if not expired or task is None or task.uncancel() > cancelling:
                    raise  # cancelled by someone else (shutdown, disconnect): not ours
                log.warning("request timed out after %.0f s", self.settings.request_timeout_s)
                if not response_started:
                    await refuse(
                        503,
                        "Request timed out",
                        f"no answer within {self.settings.request_timeout_s:g} s; "
                        "ask for less or retry",
                        "timeout",
                        [(b"retry-after", b"5")],
                    )
            finally:
                self.in_flight -= 1
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            key = (template, method, status)
            child = self._latency.get(key)
            if child is None:
                child = self._latency[key] = self.metrics.latency.labels(
                    template, method, str(status)
                )
            child.observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "%s %s %d %.1f ms",
                    method,
                    scope["path"],
                    status,
                    elapsed * 1000,
                    extra={
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                    },
                )
            REQUEST_ID.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and extras."""

    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in self._STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(json_logs: bool) -> None:
    """Route the app's and uvicorn's logs through one handler (JSON or text) on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if json_logs
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    for name in ("nuanxin", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
    logging.getLogger("uvicorn.access").disabled = True  # our access line carries the id
