"""API tokens: ``nx_<id>_<secret>``. Only HMAC-SHA256(secret) under a server key is stored.

The id finds the row; the secret is checked with a constant-time comparison. A token is shown
once, when made; revoking sets ``revoked_at`` and takes effect on the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, text

from geo.errors import InvalidInputError, NotFoundError
from geo.standards import is_boundary_code

TOKEN = re.compile(r"^nx_([0-9]{1,18})_([A-Za-z0-9_-]{20,100})$")


class Role(StrEnum):
    ADMIN = "admin"
    DISTRICT_EDITOR = "district_editor"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name, role and (for editors) district."""

    token_id: int
    name: str
    role: Role
    district_code: str | None


def secret_hash(secret: str, key: str) -> str:
    return hmac.new(key.encode(), secret.encode(), hashlib.sha256).hexdigest()


def parse_token(token: str) -> tuple[int, str] | None:
    match = TOKEN.match(token.strip())
    return (int(match[1]), match[2]) if match else None


def matches(secret: str, stored_hash: str, key: str) -> bool:
    return hmac.compare_digest(secret_hash(secret, key), stored_hash)


def check_role(role: Role, district_code: str | None) -> None:
    """An editor belongs to one district (a 12-digit code); an admin to none."""
    if role is Role.DISTRICT_EDITOR and not (district_code and is_boundary_code(district_code)):
        raise InvalidInputError(
            "a district editor needs --district, a 12-digit code", field="district"
        )
    if role is Role.ADMIN and district_code:
        raise InvalidInputError("an admin is not limited to a district", field="district")


def name_taken(name: str) -> InvalidInputError:
    return InvalidInputError(
        f"a token named {name!r} exists; revoke it or choose another name", field="name"
    )


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_text(token_id: int, secret: str) -> str:
    return f"nx_{token_id}_{secret}"


def create_token(
    conn: Connection, name: str, role: Role, district_code: str | None, key: str
) -> str:
    """Store a new token and return it (the only time the secret exists in clear)."""
    check_role(role, district_code)
    exists = conn.execute(text("SELECT 1 FROM api_tokens WHERE name = :n"), {"n": name}).first()
    if exists:
        raise name_taken(name)
    secret = new_secret()
    token_id = conn.execute(
        text(
            "INSERT INTO api_tokens (name, role, district_code, secret_hash) "
            "VALUES (:n, :r, :d, :h) RETURNING id"
        ),
        {"n": name, "r": role.value, "d": district_code, "h": secret_hash(secret, key)},
    ).scalar_one()
    return token_text(token_id, secret)


def revoke_token(conn: Connection, name: str) -> None:
    done = conn.execute(
        text(
            "UPDATE api_tokens SET revoked_at = now() WHERE name = :n "
            "AND revoked_at IS NULL RETURNING id"
        ),
        {"n": name},
    ).first()
    if done is None:
        raise NotFoundError(f"no active token named {name!r}")
