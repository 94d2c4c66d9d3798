"""How a command fails: one readable line on stderr and an exit code, never a traceback.

Errors this project raises on purpose (:class:`geo.errors.GeoError`), constraint violations,
unusable settings, a lost database and one with no schema yet are explained; anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from geo.errors import GeoError
from geo.store.models import explain_integrity_error

F = TypeVar("F", bound=Callable[..., Any])
# Exit codes, the same for every command (README, "Exit codes"). 2 is click's: a usage error.
EXIT_OK = 0  # done; an import wrote (or found unchanged) every row
EXIT_FAILED = 1  # the command could not do its work; nothing was written
EXIT_PARTIAL = 3  # an import wrote its good rows and rejected others (listed, saved beside it)


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print ``error: message`` in red on stderr; raise the returned exit."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def friendly_errors(func: F) -> F:
    """Show a GeoError, a violated constraint, bad settings, a lost database or a file that
    cannot be read or written as one line."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GeoError as exc:
            raise fail(exc.message) from exc
        except IntegrityError as exc:
            _, message = explain_integrity_error(exc)
            raise fail(f"{message}; nothing was written") from exc
        except OSError as exc:  # e.g. an export into a folder that does not exist
            where = f"{exc.filename}: " if exc.filename else ""
            raise fail(f"{where}{exc.strerror or exc}") from exc
        except ValidationError as exc:  # settings from the environment that cannot be used
            reasons = "; ".join(str(e.get("msg", e)) for e in exc.errors())
            raise fail(f"invalid settings: {reasons}") from exc
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
            raise fail(f"cannot reach the database: {reason}") from exc
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42P01":  # undefined_table; else a bug
                raise
            reason = str(exc.orig).strip().splitlines()[0]
            raise fail(f"the database has no schema yet ({reason}): run `nuanxin db upgrade`, "
                       "or `nuanxin up` for the bundled data") from exc  # fmt: skip

    return wrapper  # type: ignore[return-value]
