"""Who is calling: ``Authorization: Bearer nx_<id>_<secret>`` → a
:class:`geo.store.tokens.Principal`.

Missing, malformed, unknown, wrong or revoked tokens all get the same 401, so a caller learns
nothing about which tokens exist. Admin-only routes answer 403 to editors; a district editor's
writes are checked against their district's boundary where the row is written.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.deps import ConnectionDep
from api.runtime.services import services_of
from geo.errors import ForbiddenError, UnauthorizedError
from geo.store.tokens import Principal, Role, matches, parse_token

_LOOKUP = """
UPDATE api_tokens SET last_used_at = now()
 WHERE id = $1 AND revoked_at IS NULL
RETURNING id, name, role, district_code, secret_hash
"""


async def current_principal(request: Request, conn: ConnectionDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    parsed = parse_token(token) if scheme.lower() == "bearer" else None
    row = await conn.fetchrow(_LOOKUP, parsed[0]) if parsed else None
    key = services_of(request.app).settings.token_secret.get_secret_value()
    if parsed is None or row is None or not matches(parsed[1], row["secret_hash"], key):
        raise UnauthorizedError("a valid API token is needed: Authorization: Bearer nx_…")
    return Principal(row["id"], row["name"], Role(row["role"]), row["district_code"])


def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.role is not Role.ADMIN:
        raise ForbiddenError("only an admin may do this")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
