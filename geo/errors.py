"""Domain errors. Each carries a stable ``code`` and a ``message`` safe to show a user.

The API maps these to HTTP in one place (``api/errors.py``); the CLI prints ``message``.
"""

from __future__ import annotations


class GeoError(Exception):
    """Base of every error this project raises on purpose."""

    code = "geo_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(GeoError):
    """A value the caller supplied is wrong; ``field`` names it when there is one."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(GeoError):
    code = "not_found"


class UnauthorizedError(GeoError):
    """No valid credentials (missing, wrong, unknown or revoked token)."""

    code = "unauthorized"


class ForbiddenError(GeoError):
    """Valid credentials, but not for this (e.g. outside the editor's district)."""

    code = "forbidden"


class LimitExceededError(GeoError):
    """Too much work asked for at once (e.g. too many jobs running); try again later, after
    ``retry_after_s`` seconds (the API's ``Retry-After``)."""

    code = "limit_exceeded"

    def __init__(self, message: str, *, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))


class ConflictError(GeoError):
    """The request does not fit the resource's state (e.g. the result of an unfinished job)."""

    code = "conflict"


class DatabaseUnavailableError(GeoError):
    """The database cannot be reached or is not ready (no PostGIS, migrations missing)."""

    code = "database_unavailable"


class LocalDbError(GeoError):
    """The project's own PostgreSQL cluster could not be created or started."""

    code = "local_db_error"
