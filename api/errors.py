"""One error shape for every response: ``application/problem+json`` (RFC 9457) with a ``code``.

Domain errors map to HTTP here and nowhere else. 5xx bodies never carry internals: the
details go to the log with the request's path, the client gets a stable code.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import (
    ConflictError,
    DatabaseUnavailableError,
    ForbiddenError,
    GeoError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    UnauthorizedError,
)

log = logging.getLogger("nuanxin.api")
PROBLEM = "application/problem+json"
RETRY_AFTER_S = 5

STATUS_OF: dict[type[GeoError], int] = {
    InvalidInputError: 400,
    UnauthorizedError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    LimitExceededError: 429,
    DatabaseUnavailableError: 503,
}
# Connection-level failures: the database is down or restarting, not a bug in the request.
# Class 57 (operator intervention: admin or crash shutdown, cannot connect now, a cancelled
# statement) and class 08 (connection exceptions) are what a restart looks like from here.
DATABASE_DOWN = (OSError, asyncpg.OperatorInterventionError, asyncpg.PostgresConnectionError,
                 asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError,
                 TimeoutError)  # fmt: skip


def problem(status: int, title: str, detail: str, code: str, *,
            retry_after_s: int | None = None, **extra: Any) -> JSONResponse:  # fmt: skip
    body = {"type": f"/problems/{code}", "title": title, "status": status, "detail": detail,
            "code": code, **extra}  # fmt: skip
    headers = None
    if status in (429, 503):  # when to come back (RFC 9110 10.2.3)
        headers = {"Retry-After": str(retry_after_s or RETRY_AFTER_S)}
    elif status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="nuanxin"'}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    titles = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}
    title = titles.get(exc.status_code, "Request error")
    return problem(exc.status_code, title, str(exc.detail), f"http_{exc.status_code}")


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
               "message": e["msg"]} for e in exc.errors()]  # fmt: skip
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid request", detail, "invalid_request", errors=errors)


async def _geo_error(request: Request, exc: GeoError) -> JSONResponse:
    status = next((s for cls, s in STATUS_OF.items() if isinstance(exc, cls)), 500)
    if status >= 500 and not isinstance(exc, DatabaseUnavailableError):
        return await _unexpected(request, exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInputError) and exc.field:
        extra["field"] = exc.field
    if isinstance(exc, LimitExceededError):
        extra["retry_after_s"] = exc.retry_after_s
    return problem(status, type(exc).__name__.removesuffix("Error"), exc.message, exc.code,
                   **extra)  # fmt: skip


async def _bad_value(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL refused a value (class 22: e.g. a NUL byte in text): the client's input."""
    log.info("database refused a value on %s: %r", request.url.path, exc)
    return problem(400, "Invalid input", "a parameter holds a value the database cannot use "
                   "(e.g. a NUL byte or an out-of-range number)", "invalid_input")  # fmt: skip


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s: %r", request.url.path, exc)
    return problem(503, "Service unavailable", "The database is not reachable; retry shortly.",
                   "database_unavailable")  # fmt: skip


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(500, "Internal error", "Something went wrong on our side.", "internal_error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(GeoError, _geo_error)  # type: ignore[arg-type]
    app.add_exception_handler(asyncpg.DataError, _bad_value)
    for exc_type in DATABASE_DOWN:
        app.add_exception_handler(exc_type, _database_down)
    app.add_exception_handler(Exception, _unexpected)
