"""The locator's search: two questions, asked the same way of every place source.

A worker's request asks for the ``k`` best places within a radius. Every source (the open
stations in memory, :class:`IndexSource`; PostGIS, ``api.locator.sql.PostgisSource``) answers
two questions: the nearest few *by degrees* (a KNN shortlist, which an index walks cheaply)
and, only when that shortlist cannot prove the answer, *every* match within the radius.
:func:`search` asks them and decides, next to the ranking, whether the shortlist is final:
ranking is by true metres (and staleness), and at 39.9°N a degree of longitude is 0.77 of a
degree of latitude, so the shortlist by degrees is complete only within a distance that
:func:`complete_within` derives. :func:`search_on_foot` re-ranks the whole-radius answer by
metres walked on a street network.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar

import numpy as np

from geo.locator.index import (
    WALK_IN_BIT,
    Found,
    HoursFilter,
    PlaceIndex,
    amenity_mask,
    box_reach,
    kind_mask,
)
from geo.locator.rules import Candidate, Located, Rank, rank_key
from geo.network.router import WalkRouter

SHORTLIST = 200  # the most candidates the whole-radius question returns, nearest metres first
KNN_SHORTLIST = 40  # first question: the 40 nearest by degrees, usually final for k <= 10
METRES_PER_DEGREE = 111_319.0  # one degree of the equator (a = 6,378,137 m): a lower bound
MERIDIAN_MIN_M_PER_DEGREE = 110_574.0  # one degree of latitude at the equator (the shortest)
SAFETY = 0.99  # 1 % for the planar approximation of short geodesics (as in the envelope)
WALK_SHORTLIST = 2_000  # places fetched by straight line before walking to them
WALK_SHORTLIST_MAX = 50_000  # the refetch when the first cut could hide a nearer walk

Hits = TypeVar("Hits")


def envelope(lon: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box certainly containing the circle (1 % margin over the ellipsoid's radii)."""
    dlat = metres / 110_574 * 1.01
    dlon = metres / (111_320 * max(math.cos(math.radians(lat)), 0.01)) * 1.01
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def complete_within(lat: float, degrees: Sequence[float], limit: int, radius_m: float) -> float:
    """Metres within which a KNN shortlist holds every match, given its rows' degree distances.

    Fewer rows than ``limit``: every match within ``radius_m`` came back. Otherwise every
    place nearer than the last row in degrees is in, and a place ``m`` metres away is at most
    ``m / (metres per degree, shortest axis)`` degrees away, so every place nearer than
    ``last degrees x that`` metres is in. The shortest axis is the parallel at the highest
    latitude the shortlist can reach (less 1 %); strictly nearer: a tie may be cut.
    """
    if len(degrees) < limit:
        return radius_m
    last = degrees[-1]
    top = min(abs(lat) + last, 89.0)
    per_degree = min(METRES_PER_DEGREE * math.cos(math.radians(top)), MERIDIAN_MIN_M_PER_DEGREE)
    return min(last * per_degree * SAFETY, radius_m)


def is_final(rows: int, found: list[Located], k: int, complete_m: float) -> bool:
    """The KNN shortlist holds the answer: it held every match within the radius (fewer rows
    than asked), or ``k`` places were found, all ranking nearer than the distance within which
    it is complete (a place further out ranks at least by its metres)."""
    if rows < KNN_SHORTLIST:
        return True
    return len(found) == k and max(rank_key(f) for f in found) < complete_m


@dataclass(frozen=True, slots=True)
class Area:
    """What a request searches: matches of ``kinds`` with every one of ``needs`` (and, with
    ``walk_in``, that anyone may walk into), within ``metres`` of a WGS-84 point."""

    lon: float
    lat: float
    metres: float
    kinds: list[str]
    needs: list[str] | None = None
    walk_in: bool = False
    box: tuple[float, float, float, float] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", envelope(self.lon, self.lat, self.metres))


@dataclass(frozen=True, slots=True)
class Shortlist(Generic[Hits]):
    """The KNN answer: the hits within the radius, how many rows came back, and every row's
    distance in degrees (nearest first)."""

    hits: Hits
    rows: int
    degrees: Sequence[float]


class PlaceSource(Protocol[Hits]):
    """One back end of the search, made per request for one :class:`Area`. ``Hits`` is the
    source's own form of a result list; only the ranking turns it into places."""

    area: Area
    filters_hours: bool  # leaves out places whose hours cannot be open in time

    async def shortlist(self, count: int) -> Shortlist[Hits]: ...

    async def within(self, limit: int, *, every: bool = False) -> Hits:
        """Every match within the radius, nearest metres first, at most ``limit``; ``every``:
        with the places its hours filter leaves out."""
        ...

    def ranked(self, hits: Hits, rank: Rank) -> list[Located]: ...

    def candidates(self, hits: Hits) -> list[Candidate]: ...


async def search(source: PlaceSource[Hits], k: int, rank: Rank) -> tuple[list[Located], Hits]:
    """The ranked answer, and the hits it came from (see :func:`nearby`)."""
    short = await source.shortlist(KNN_SHORTLIST)
    area = source.area
    complete_m = complete_within(area.lat, short.degrees, KNN_SHORTLIST, area.metres)
    found = source.ranked(short.hits, rank)
    if is_final(short.rows, found, k, complete_m):
        return found, short.hits
    hits = await source.within(SHORTLIST)
    return source.ranked(hits, rank), hits


async def nearby(source: PlaceSource[Hits], hits: Hits) -> list[Candidate]:
    """What an empty answer's notice counts: every match in the radius, open or not."""
    if source.filters_hours:
        hits = await source.within(SHORTLIST, every=True)
    return source.candidates(hits)


class IndexSource:
    """The open stations in memory (:class:`geo.locator.index.PlaceIndex`): the same answers
    as PostGIS. Only the places the ranking reaches become candidates."""

    def __init__(self, index: PlaceIndex, area: Area, stale_at: datetime,
                 hours: HoursFilter | None = None) -> None:  # fmt: skip
        self.area, self.filters_hours = area, hours is not None
        self._index, self._stale_at, self._hours = index, stale_at, hours
        self._kinds = kind_mask(area.kinds)
        self._needs = amenity_mask(area.needs or ()) | (WALK_IN_BIT if area.walk_in else 0)
        self._reach = box_reach(area.lon, area.lat, area.box)

    async def shortlist(self, count: int) -> Shortlist[Found]:
        a = self.area
        short, degrees = self._index.shortlist(a.lon, a.lat, self._kinds, self._needs,
                                               self._reach, count, self._hours)  # fmt: skip
        near = short.metres <= a.metres
        return Shortlist(Found(short.at[near], short.metres[near]), len(degrees), degrees)

    async def within(self, limit: int, *, every: bool = False) -> Found:
        a = self.area
        return self._index.within(a.lon, a.lat, self._kinds, self._needs, self._reach,
                                  a.metres, limit, None if every else self._hours)  # fmt: skip

    def ranked(self, hits: Found, rank: Rank) -> list[Located]:
        return rank(self._index.ranked(hits, self._stale_at), ranked=True)

    def candidates(self, hits: Found) -> list[Candidate]:
        return self._index.candidates(hits)


# --- on foot -----------------------------------------------------------------------------------
Straight = Callable[[int], Awaitable[list[Candidate]]]  # a source's whole radius, as candidates


def walked(router: WalkRouter, lon: float, lat: float, candidates: list[Candidate],
           metres: float) -> list[Candidate] | None:  # fmt: skip
    """``candidates`` with walked metres, nearest first; ``None``: the point is off-network."""
    if not candidates:
        return []
    lons = np.fromiter((c.lon for c in candidates), float, len(candidates))
    lats = np.fromiter((c.lat for c in candidates), float, len(candidates))
    metres_on_foot = router.walk_metres(lon, lat, lons, lats, metres)
    if metres_on_foot is None:
        return None
    pairs = zip(candidates, metres_on_foot, strict=True)
    kept = [c._replace(distance_m=float(m)) for c, m in pairs if math.isfinite(m)]
    return sorted(kept, key=lambda c: (c.distance_m, c.id))


async def search_on_foot(straight: Straight, router: WalkRouter, area: Area, k: int,
                         rank: Rank) -> tuple[list[Located], list[Candidate]] | None:  # fmt: skip
    """The answer ranked by walked metres, and the candidates walked to; ``None`` when the
    point is off the network.

    A walk is never shorter than the straight line, so every place within the radius on foot
    is among those within it as the crow flies: they are fetched (nearest first), walked to in
    one bounded Dijkstra, and those beyond the radius on foot dropped. When the straight list
    was cut at its limit, the answer stands only if every result ranks nearer than the last
    place fetched (anything not fetched is at least that far on foot); else it is fetched again
    without the cut.
    """
    for limit in (WALK_SHORTLIST, WALK_SHORTLIST_MAX):
        line = await straight(limit)
        on_foot = await asyncio.to_thread(walked, router, area.lon, area.lat, line, area.metres)
        if on_foot is None:
            return None
        found = rank(on_foot)
        if (
            limit == WALK_SHORTLIST_MAX
            or len(line) < limit
            or (len(found) == k and max(rank_key(f) for f in found) <= line[-1].distance_m)
        ):
            return found, on_foot
    raise AssertionError("the last shortlist always answers")
