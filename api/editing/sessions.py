"""The console's sign-in: an editor pastes their API token once and gets a session cookie.

``POST /console/session`` checks the token (the API's own check) and sets ``nx_session``: a
random id, HttpOnly, SameSite=Strict, Secure over HTTPS, never the token. The database keeps
only the id's SHA-256, with the session's start and last use: it ends when unused for
``session_idle_minutes`` (30), ``session_absolute_hours`` (12) after sign-in, at sign-out
(``DELETE``), or when its token is revoked, on every API worker at once (a signed cookie alone
could not be signed out). Sign-in attempts are throttled per client: after
:data:`MAX_FAILURES` failures in :data:`WINDOW_MIN` minutes, even a good token waits.

CSRF: the double-submit cookie of ``starlette-csrf`` (a small, maintained ASGI middleware; its
tokens are signed with ``itsdangerous``). It guards unsafe requests that carry the session
cookie: the console sends the ``csrftoken`` cookie's value back as ``X-CSRFToken``. Requests
without the session cookie (scripts with ``Authorization: Bearer``, workers' reports) are not
affected, and only the console's responses are given the cookie, so the public API stays
cookie-free and cacheable.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Receive, Scope, Send
from starlette_csrf.middleware import CSRFMiddleware

from api.deps import ConnectionDep
from api.editing.auth import (
    SESSION_COOKIE,
    PrincipalDep,
    client_hash,
    session_hash,
    token_principal,
)
from api.editing.schemas import ConsoleSession, ConsoleUser
from api.errors import problem
from api.runtime.services import services_of
from api.schemas import answer, json_answer
from geo.errors import LimitExceededError, UnauthorizedError
from geo.store.tokens import Principal

router = APIRouter(tags=["console"])
MAX_FAILURES = 5
WINDOW_MIN = 10
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
CONSOLE_PATHS = ("/console",)  # the responses that hand out the CSRF cookie

_FAILURES = """
SELECT count(*) FROM signin_attempts
 WHERE client_hash = $1 AND NOT succeeded AND at > now() - make_interval(mins => $2)
"""


_ATTEMPT = "INSERT INTO signin_attempts (client_hash, succeeded) VALUES ($1, $2)"


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=300, description="the editor's API token")


def _secure(request: Request) -> bool:
    """Secure in production and whenever the request came over HTTPS (directly or through a
    proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    production = services_of(request.app).settings.environment == "production"
    return production or request.url.scheme == "https" or forwarded == "https"


def _who(principal: Principal) -> dict[str, Any]:
    return {"token_id": principal.token_id, "name": principal.name,
            "role": principal.role.value, "district_code": principal.district_code}  # fmt: skip


@router.post("/console/session", summary="Sign in to the console with an API token",
             responses={200: answer(ConsoleSession)})  # fmt: skip
async def sign_in(
    request: Request, conn: ConnectionDep, body: Annotated[SignIn, Body()]
) -> JSONResponse:
    client = client_hash(request)
    if await conn.fetchval(_FAILURES, client, WINDOW_MIN) >= MAX_FAILURES:
        raise LimitExceededError(
            f"too many failed sign-ins: try again in {WINDOW_MIN} minutes",
            retry_after_s=WINDOW_MIN * 60,
        )
    try:
        principal = await token_principal(request, conn, body.token.strip())
    except UnauthorizedError:
        await conn.execute(_ATTEMPT, client, False)
        raise
    await conn.execute(_ATTEMPT, client, True)
    session = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO console_sessions (id_hash, token_id) VALUES ($1, $2)",
        session_hash(session),
        principal.token_id,
    )
    api = services_of(request.app).settings.api
    expires = datetime.now(UTC) + timedelta(hours=api.session_absolute_hours)
    limits = {"expires_at": expires.isoformat(), "idle_minutes": api.session_idle_minutes}
    response = JSONResponse(_who(principal) | limits)
    response.set_cookie(SESSION_COOKIE, session, max_age=int(api.session_absolute_hours * 3600),
                        path="/", httponly=True, samesite="strict",
                        secure=_secure(request))  # fmt: skip
    return response


@router.get("/console/session", summary="Who is signed in",
            responses={200: answer(ConsoleUser)})  # fmt: skip
async def whoami(who: PrincipalDep) -> Response:
    return json_answer(_who(who))


@router.delete("/console/session", status_code=204, summary="Sign out")
async def sign_out(request: Request, conn: ConnectionDep) -> Response:
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        await conn.execute(
            "UPDATE console_sessions SET ended_at = now() WHERE id_hash = $1 AND ended_at IS NULL",
            session_hash(session),
        )
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=_secure(request))  # fmt: skip
    return response


def _console_request(scope: Scope) -> bool:
    if str(scope.get("path", "")).startswith(CONSOLE_PATHS):
        return True
    marker = SESSION_COOKIE.encode()
    if not any(k == b"cookie" and marker in v for k, v in scope.get("headers", ())):
        return False
    return SESSION_COOKIE in Request(scope).cookies


class ConsoleCsrf(CSRFMiddleware):
    """starlette-csrf for the console: refusals as problem+json, and the cookie handed out only
    by the console's own responses or to a signed-in browser."""

    def __init__(self, app: Any, secret: str, secure: bool) -> None:
        super().__init__(app, secret, sensitive_cookies={SESSION_COOKIE}, cookie_name=CSRF_COOKIE,
                         cookie_samesite="strict", cookie_secure=secure,
                         header_name=CSRF_HEADER)  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Only the console and signed-in browsers go through the check and get the cookie;
        everything else passes straight on, with no cookie parsing per message."""
        if scope["type"] == "http" and not _console_request(scope):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _get_error_response(self, request: Request) -> Response:
        return problem(403, "Forbidden", "this write needs the console's CSRF token: send the "
                       f"{CSRF_COOKIE} cookie's value as X-CSRFToken", "csrf_failed")  # fmt: skip
