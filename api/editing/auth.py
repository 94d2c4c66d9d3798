"""Who is calling: ``Authorization: Bearer nx_<id>_<secret>``, or the console's session cookie
(:mod:`api.editing.sessions`) → a :class:`geo.store.tokens.Principal`.

Missing, malformed, unknown, wrong or revoked tokens all get the same 401, so a caller learns
nothing about which tokens exist. A session ended (signed out, idle, past its absolute limit,
or its token revoked) gets a 401 that says to sign in again. Admin-only routes answer 403 to
editors; a district editor's writes are checked against their district's boundary where the
row is written.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from api.deps import ConnectionDep
from api.runtime.services import services_of
from geo.errors import ForbiddenError, UnauthorizedError
from geo.standards import BEIJING
from geo.store.tokens import Principal, Role, matches, parse_token

_LOOKUP = """
UPDATE api_tokens SET last_used_at = now()
 WHERE id = $1 AND revoked_at IS NULL
RETURNING id, name, role, district_code, secret_hash
"""


SESSION_COOKIE = "nx_session"

# A live session: not ended, token not revoked, used within the idle limit, young enough.
_SESSION = """
UPDATE console_sessions AS s SET last_seen_at = now()
  FROM api_tokens AS t
 WHERE s.id_hash = $1 AND s.ended_at IS NULL AND t.id = s.token_id AND t.revoked_at IS NULL
   AND s.last_seen_at > now() - make_interval(secs => $2)
   AND s.created_at > now() - make_interval(secs => $3)
RETURNING t.id, t.name, t.role, t.district_code
"""


def client_hash(request: Request) -> str:
    """The client as an HMAC of its address and the day: throttles count it, nobody can read
    an address back from it."""
    key = services_of(request.app).settings.token_secret.get_secret_value()
    host = request.client.host if request.client else "unknown"
    day = datetime.now(BEIJING).date().isoformat()
    return hmac.new(key.encode(), f"{host}|{day}".encode(), hashlib.sha256).hexdigest()


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def token_principal(request: Request, conn: ConnectionDep, token: str) -> Principal:
    """The principal of an API token, or the one 401 for every kind of bad token."""
    parsed = parse_token(token)
    row = await conn.fetchrow(_LOOKUP, parsed[0]) if parsed else None
    key = services_of(request.app).settings.token_secret.get_secret_value()
    if parsed is None or row is None or not matches(parsed[1], row["secret_hash"], key):
        raise UnauthorizedError("a valid API token is needed: Authorization: Bearer nx_…")
    return Principal(row["id"], row["name"], Role(row["role"]), row["district_code"])


async def current_principal(request: Request, conn: ConnectionDep) -> Principal:
    header = request.headers.get("authorization", "")
    session = request.cookies.get(SESSION_COOKIE)
    if not header and session:
        api = services_of(request.app).settings.api
        row = await conn.fetchrow(_SESSION, session_hash(session), api.session_idle_minutes * 60,
                                  api.session_absolute_hours * 3600)  # fmt: skip
        if row is None:
            raise UnauthorizedError("your session has ended (signed out, unused for too long "
                                    "or expired): sign in again")  # fmt: skip
        return Principal(row["id"], row["name"], Role(row["role"]), row["district_code"])
    scheme, _, token = header.partition(" ")
    return await token_principal(request, conn, token if scheme.lower() == "bearer" else "")


def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.role is not Role.ADMIN:
        raise ForbiddenError("only an admin may do this")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
