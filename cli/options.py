"""What the analysis commands share: their options, the moment they ask about, the database
engine and the terminal they print to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from geo.config import Settings
from geo.errors import InvalidInputError
from geo.hours import beijing_time
from geo.store.db import make_engine, resolve_database_url

_BOUNDARY_HELP = "code of a subdistrict or of a district (its subdistricts); repeatable"
BoundaryCodes = Annotated[list[str] | None, typer.Option("--boundary", help=_BOUNDARY_HELP)]
Vintage = Annotated[str | None, typer.Option("--vintage", help="boundary edition, if several")]


def engine(settings: Settings) -> Engine:
    """The configured database (the project's own cluster is started if it is the one)."""
    return make_engine(resolve_database_url(settings))


def parse_time(value: str | None) -> datetime | None:
    """ISO time; without a zone it is Beijing time, which is what a planner means."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(f"--at {value!r} is not an ISO time such as 2026-11-29T05:00",
                                field="at") from exc  # fmt: skip
    return beijing_time(moment)


def console() -> Any:
    """Rich output; when piped to a file it is wide, since nothing wraps it there."""
    from rich.console import Console

    found = Console()
    return found if found.is_terminal else Console(width=160)


def count_text(value: float) -> str:
    """A count for a terminal table; "—" for NaN (unknown, never shown as 0)."""
    return "—" if value != value else f"{value:,.0f}"
