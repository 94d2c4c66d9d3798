"""Which stations count as supply: by kind, lifecycle status and whether they are open at a time.

Coverage on a Sunday at 05:00 (sanitation shifts) is not coverage on a Tuesday at 10:00: most
subdistrict stations keep office hours. Opening hours are read with the Chinese calendar
(public holidays and make-up workdays, 调休) from :mod:`geo.hours`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import geopandas
import numpy as np

from geo.errors import InvalidInputError
from geo.hours import ChinaCalendar, open_mask
from geo.vocab import StationKind, StationStatus

DEFAULT_STATUSES = (StationStatus.OPEN.value,)


@dataclass(frozen=True)
class Supply:
    """The stations selected, and a sentence saying how, for the result's method."""

    stations: geopandas.GeoDataFrame
    description: str
    closed_at_time: int = 0  # right status and kind, but shut at the moment asked
    unknown_hours: int = 0  # no opening hours recorded; counted as open


def _checked(values: Collection[str] | None, allowed: type[StationKind] | type[StationStatus],
             name: str) -> list[str] | None:  # fmt: skip
    if values is None:
        return None
    known = {member.value for member in allowed}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidInputError(
            f"unknown {name} {', '.join(unknown)}; choose from {', '.join(sorted(known))}",
            field=name,
        )
    return list(values)


def select_supply(
    stations: geopandas.GeoDataFrame,
    *,
    kinds: Collection[str] | None = None,
    statuses: Collection[str] = DEFAULT_STATUSES,
    at: datetime | None = None,
    calendar: ChinaCalendar | None = None,
) -> Supply:
    """Stations of ``kinds`` (all if ``None``) in ``statuses`` that are open at ``at``.

    ``at`` must be timezone-aware; ``None`` ignores opening hours. Stations without recorded
    hours count as open at any time, and the description says how many there were.
    """
    kind_list = _checked(kinds, StationKind, "kind")
    status_list = _checked(statuses, StationStatus, "status")
    keep = stations["status"].isin(status_list).to_numpy().copy()
    if kind_list is not None:
        keep &= stations["kind"].isin(kind_list).to_numpy()
    parts = [
        f"kinds {', '.join(sorted(kind_list))}" if kind_list is not None else "all kinds",
        f"status {', '.join(sorted(status_list or []))}",
    ]
    closed = unknown = 0
    if at is not None:
        if at.tzinfo is None:
            raise InvalidInputError("the time needs a zone, e.g. 2026-11-29T05:00+08:00",
                                    field="at")  # fmt: skip
        hours = stations.get("opening_hours")
        texts = [h if isinstance(h, str) else None for h in (hours if hours is not None else
                                                              [None] * len(stations))]  # fmt: skip
        open_now = np.array(open_mask(texts, at, calendar or ChinaCalendar(),
                                      unknown_hours_open=True), dtype=bool)  # fmt: skip
        blank = np.array([t is None or not str(t).strip() for t in texts], dtype=bool)
        closed = int((keep & ~open_now).sum())
        unknown = int((keep & blank).sum())
        keep &= open_now
        parts.append(f"open at {at.isoformat(timespec='minutes')} (Chinese calendar, 调休)")
        if unknown:
            parts.append(f"{unknown} without recorded hours counted as open")
    selected = stations[keep]
    description = f"{len(selected)} of {len(stations)} stations: " + "; ".join(parts)
    return Supply(selected, description, closed, unknown)
