"""Opening hours in OSM ``opening_hours`` syntax, parsed by opening-hours-py.

Validation happens on write, so every stored value can be evaluated later (open now, closes at).
"""

from __future__ import annotations

import opening_hours

MAX_LENGTH = 255


def validate_opening_hours(text: str) -> str:
    """Return ``text`` stripped if it parses; raise ``ValueError`` saying why not."""
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("opening_hours is empty")
    if len(cleaned) > MAX_LENGTH:
        raise ValueError(f"opening_hours is longer than {MAX_LENGTH} characters")
    try:
        opening_hours.OpeningHours(cleaned)
    except (opening_hours.ParserError, SyntaxError) as exc:  # type: ignore[attr-defined]
        raise ValueError(f"opening_hours {cleaned!r} is not valid OSM syntax") from exc
    return cleaned
