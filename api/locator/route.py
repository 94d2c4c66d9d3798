"""``/locate``: the nearest rest points that are open when a worker gets there on foot.

Candidates are ranked by true metres (geography), never by ``<->`` on degrees, which at
39.9°N weighs a degree of longitude as much as a degree of latitude (0.77 as long): a KNN
shortlist by degrees comes with true metres, and the whole radius is searched only when that
shortlist cannot prove the answer (see :mod:`api.locator.sql`). Both questions are asked of the
open stations in memory (:mod:`geo.locator.index`) when they reflect every commit before the
request (:mod:`api.runtime.places`), else of PostGIS in one round trip; for ``now`` and
``arrival`` both leave out places whose hours cannot be open in time (:func:`_hours_filter`).
Opening hours are evaluated with the Chinese calendar in :mod:`geo.locator.rules` (memoised per
minute); the body is spliced from per-station parts serialised once
(:mod:`api.locator.render`). Most requests are answered by :mod:`api.locator.fastpath` through
:func:`answer`, ahead of this route.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.coords import CoordsQuery, shift_point, to_wgs84
from api.deps import ConnectionDep
from api.locator import render
from api.locator.schemas import LocateResponse, Notice
from api.locator.sql import (
    CANDIDATES_SQL,
    FALLBACK_SQL,
    KNN_SHORTLIST,
    KNN_SQL,
    SHORTLIST,
    candidate_of,
    complete_within,
    envelope,
)
from api.locator.walk import search_on_foot
from api.runtime.places import Snapshot
from api.runtime.services import Services, services_of
from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.hours import ChinaCalendar, beijing_time, open_state_memo
from geo.locator.index import (
    Found,
    HoursFilter,
    PlaceIndex,
    amenity_mask,
    box_reach,
    kind_mask,
)
from geo.locator.rules import (
    METHOD,
    PROFILE_KINDS,
    WALK_MAX_KM,
    Candidate,
    Located,
    OpenMode,
    Rank,
    WorkerProfile,
    beyond_walk_method,
    locate,
    may_be_open,
    off_network_method,
    rank_key,
    stale_from,
    walked_method,
    walking_minutes,
)
from geo.standards import BEIJING
from geo.vocab import Amenity, StationKind

router = APIRouter(tags=["locator"])
CALENDAR = ChinaCalendar()
STATIC = render.StaticPlaces()  # per-station labels, positions and links; keyed by their inputs
MAX_K = 20  # places per answer
MAX_KM = 20.0  # search radius
DEFAULT_K = 5  # the route's and the fast path's defaults: one source, or they would differ
DEFAULT_MAX_KM = 5.0
DEFAULT_OPEN = OpenMode.ARRIVAL
AT_YEARS = (2000, 2100)  # what a worker or planner may ask about
Acquire = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


@dataclass(frozen=True, slots=True)
class LocateQuery:
    """``/locate``'s parameters, validated (by FastAPI on the route, by the fast path's parser)."""

    lon: float
    lat: float
    coords: CoordSystem = CoordSystem.WGS84
    k: int = DEFAULT_K
    need: Sequence[Amenity] | None = None
    kind: Sequence[StationKind] | None = None
    profile: WorkerProfile | None = None
    open: OpenMode = DEFAULT_OPEN
    at: datetime | None = None
    max_km: float = DEFAULT_MAX_KM


def _final(shortlist: int, found: list[Located], k: int, complete: float) -> bool:
    """The KNN shortlist holds the answer: it held every match within the radius (fewer rows
    than asked), or ``k`` places were found, all ranking nearer than the distance within which
    it is complete (a place further out ranks at least by its metres)."""
    return shortlist < KNN_SHORTLIST or (
        len(found) == k and max(rank_key(f) for f in found) < complete
    )


async def _search(conn: asyncpg.Connection, lon: float, lat: float, kinds: list[str],
                  needs: list[str] | None, metres: float, k: int, rank: Rank,
                  out: LeftOut | None = None,
                  ) -> tuple[Callable[[], list[Candidate]], list[Located]]:  # fmt: skip
    """Candidates (on demand) and answer from PostGIS: the KNN shortlist when it provably holds the
    answer, else (rarely) every match within ``metres``, nearest first, up to
    :data:`SHORTLIST`. Places with the hours ``out`` names (or none, if it says so) are left
    out, but not from a notice's candidates: it counts closed places."""
    box = envelope(lon, lat, metres)
    hours = out or ([], False)
    rows = await conn.fetch(KNN_SQL, lon, lat, *box, kinds, needs, KNN_SHORTLIST, *hours)
    complete = complete_within(lat, [r[-1] for r in rows], KNN_SHORTLIST, metres)
    candidates = [candidate_of(r) for r in rows if r[5] <= metres]  # r[5]: distance_m
    found = rank(candidates)
    if not _final(len(rows), found, k, complete):
        candidates = await _within_sql(conn, lon, lat, box, kinds, needs, metres, SHORTLIST,
                                       hours)  # fmt: skip
        found = rank(candidates)
    if out is not None and not found:  # a notice follows: count every place, closed or not
        candidates = await _within_sql(conn, lon, lat, box, kinds, needs, metres, SHORTLIST)
    return partial(list, candidates), found


def _search_index(index: PlaceIndex, lon: float, lat: float, kinds: list[str],
                  needs: list[str] | None, metres: float, k: int, rank: Rank, stale_at: datetime,
                  hours: HoursFilter | None = None,
                  ) -> tuple[Callable[[], list[Candidate]], list[Located]]:  # fmt: skip
    """:func:`_search`'s two questions asked of the in-memory stations: the same answer. Only
    the places the ranking reaches become candidates; the others only if a notice counts them
    (and then those ``hours`` left out too).
    """
    box = envelope(lon, lat, metres)
    reach = box_reach(lon, lat, box)
    kind_bits, need_bits = kind_mask(kinds), amenity_mask(needs or ())
    short, degrees = index.shortlist(lon, lat, kind_bits, need_bits, reach, KNN_SHORTLIST,
                                     hours)  # fmt: skip
    complete = complete_within(lat, degrees, KNN_SHORTLIST, metres)
    near = short.metres <= metres
    found_near = Found(short.at[near], short.metres[near])
    found = rank(index.ranked(found_near, stale_at), ranked=True)
    if not _final(len(degrees), found, k, complete):
        found_near = index.within(lon, lat, kind_bits, need_bits, reach, metres, SHORTLIST,
                                  hours)  # fmt: skip
        found = rank(index.ranked(found_near, stale_at), ranked=True)
    if hours is not None:
        every = partial(index.within, lon, lat, kind_bits, need_bits, reach, metres, SHORTLIST)
        return lambda: index.candidates(every()), found
    return partial(index.candidates, found_near), found


LeftOut = tuple[list[str], bool]  # hours texts a search leaves out, and whether "no hours"
_HOURS_FILTERS_MAX = 64  # per snapshot: a few modes and spans per minute
# A span is rounded up to whole steps: each span is a filter of its own.
_SPAN_STEP_MIN = 30
# The SQL path has no places in hand to ask about: it asks every hours text of the snapshot
# when there are at most this many (~10 us each, once a minute), else only those asked so far.
_SQL_ASKS_ALL_MAX = 256


def _hours_filter(snapshot: Snapshot, mode: OpenMode, moment: datetime,
                  metres: float) -> HoursFilter | None:  # fmt: skip
    """Which opening hours can be open when this request's places are reached: ``now``: at
    ``moment``; ``arrival``: until the longest walk within ``metres`` ends (rounded up to
    :data:`_SPAN_STEP_MIN`); both over the whole minute of ``moment`` and a minute more, so one
    filter serves every request of that minute, and each hours text is asked once. A place
    whose hours cannot be open by then is never in the answer: searches leave it out before
    measuring it (at night that is most places)."""
    if mode is OpenMode.ANY:
        return None
    since = moment.replace(second=0, microsecond=0)
    steps = 0 if mode is OpenMode.NOW else math.ceil(walking_minutes(metres) / _SPAN_STEP_MIN)
    span = steps * _SPAN_STEP_MIN  # longer is safe (more kept); few spans, few filters
    key = (mode, since, span)
    memo = snapshot.hours_filters
    found: HoursFilter | None = memo.get(key)
    if found is None:
        if len(memo) >= _HOURS_FILTERS_MAX:
            memo.clear()
        until = since + timedelta(minutes=span + 2)
        keep = partial(may_be_open, since=since, until=until, calendar=CALENDAR)
        found = memo[key] = HoursFilter(snapshot.index, keep)
    return found


def _left_out(snapshot: Snapshot | None, mode: OpenMode, moment: datetime,
              metres: float) -> LeftOut | None:  # fmt: skip
    """:func:`_hours_filter`'s verdicts as SQL parameters, from the newest snapshot (current or
    not: hours it does not know, from a newer edit, are kept)."""
    if snapshot is None or (hours := _hours_filter(snapshot, mode, moment, metres)) is None:
        return None
    texts, none = hours.left_out(ask_all=len(snapshot.index.hours_texts) <= _SQL_ASKS_ALL_MAX)
    return (texts, none) if texts or none else None


async def _within(snapshot: Snapshot | None, acquire: Acquire, lon: float, lat: float,
                  kinds: list[str], needs: list[str] | None, metres: float, limit: int,
                  ) -> list[Candidate]:  # fmt: skip
    """Every match within ``metres``, nearest first, at most ``limit``: from memory when the
    snapshot is current, else from PostGIS (what a walk is searched among)."""
    box = envelope(lon, lat, metres)
    if snapshot is not None:
        index = snapshot.index
        found = index.within(lon, lat, kind_mask(kinds), amenity_mask(needs or ()),
                             box_reach(lon, lat, box), metres, limit)  # fmt: skip
        return index.candidates(found)
    async with acquire() as conn:
        return await _within_sql(conn, lon, lat, box, kinds, needs, metres, limit)


async def _within_sql(conn: asyncpg.Connection, lon: float, lat: float,
                      box: tuple[float, float, float, float], kinds: list[str],
                      needs: list[str] | None, metres: float, limit: int,
                      hours: LeftOut = ([], False),
                      ) -> list[Candidate]:  # fmt: skip
    """Every match within ``metres``, nearest first, at most ``limit``, from PostGIS; without
    the places whose hours are among ``hours`` (and without hours, if its flag says so)."""
    rows = await conn.fetch(CANDIDATES_SQL, lon, lat, *box, kinds, needs, metres, limit, *hours)
    return [candidate_of(r) for r in rows]


async def current_snapshot(services: Services) -> Snapshot | None:
    """The in-memory stations when they reflect every commit before this call, else ``None``."""
    places, versions = services.places, services.versions
    if places is None or versions is None:
        return None
    known = await versions.current()
    return None if known is None else places.snapshot_for(known)


def _latest_snapshot(services: Services) -> Snapshot | None:
    return None if services.places is None else services.places.latest


def _statics(candidates: list[Candidate],
             memo: dict[int, render.StaticPlace] | None) -> list[render.StaticPlace]:  # fmt: skip
    """Each place's fixed JSON parts; a current snapshot keeps them by id (its places cannot
    change), which spares building their cache keys."""
    if memo is None:
        return STATIC.get_many(candidates)
    missing = [c for c in candidates if c.id not in memo]
    for c, static in zip(missing, STATIC.get_many(missing), strict=True):
        memo[c.id] = static
    return [memo[c.id] for c in candidates]


@router.get(
    "/locate",
    summary="Nearest rest points open when you get there",
    response_model=LocateResponse,
    responses={400: {"description": "bad coordinates or parameters (problem+json)"}},
)
async def locate_nearest(
    request: Request,
    conn: ConnectionDep,
    lon: Annotated[float, Query(ge=-180, le=180, examples=[116.2135], description="longitude")],
    lat: Annotated[float, Query(ge=-90, le=90, examples=[39.8496], description="latitude")],
    coords: CoordsQuery = CoordSystem.WGS84,
    k: Annotated[
        int, Query(ge=1, le=MAX_K, description="how many places (at most 20)")
    ] = DEFAULT_K,
    need: Annotated[
        list[Amenity] | None, Query(description="amenities the place must have (all of them)")
    ] = None,
    kind: Annotated[list[StationKind] | None, Query(description="only these kinds")] = None,
    profile: Annotated[
        WorkerProfile | None,
        Query(description="who is asking: keeps the places meant for them, marks what they need"),
    ] = None,
    open: Annotated[
        OpenMode,
        Query(description="arrival: open when you get there on foot; now: open now; any"),
    ] = DEFAULT_OPEN,
    at: Annotated[
        datetime | None,
        Query(
            description="plan for this time instead of now (ISO; no zone = Beijing time; years"
            " 2000-2100)",
            examples=["2026-11-29T05:00"],
        ),
    ] = None,
    max_km: Annotated[
        float, Query(gt=0, le=MAX_KM, description="search radius in km")
    ] = DEFAULT_MAX_KM,
) -> Response:
    # The body is built as bytes (see api.locator.render); the response model above documents
    # it and the tests validate against it. api.locator.fastpath answers most requests before
    # they get here, through the same answer().
    query = LocateQuery(lon, lat, coords, k, need, kind, profile, open, at, max_km)
    body = await answer(services_of(request.app), partial(nullcontext, conn), query)
    return Response(body, media_type="application/json")


@lru_cache(maxsize=256)
def _kinds(profile: WorkerProfile | None, asked: frozenset[StationKind] | None,
           ) -> tuple[str, ...]:  # fmt: skip
    """The kinds searched, sorted: those meant for ``profile`` (all without one), of those
    ``asked`` for if any. Few combinations, asked for on every request."""
    allowed = PROFILE_KINDS[profile] if profile else frozenset(StationKind)
    return tuple(sorted(k.value for k in (allowed & asked if asked else allowed)))


async def answer(services: Services, acquire: Acquire, q: LocateQuery) -> bytes:
    """The ``/locate`` body; a database connection is taken only when the answer needs one."""
    if q.coords is CoordSystem.WGS84:
        wlon, wlat = q.lon, q.lat  # ranges checked by the caller; no shift to undo
    else:
        try:
            wlon, wlat = to_wgs84(q.lon, q.lat, q.coords)
        except ValueError as exc:
            raise InvalidInputError(str(exc), field="lon") from exc
    moment = beijing_time(q.at) if q.at else datetime.now(BEIJING)
    if not AT_YEARS[0] <= moment.year <= AT_YEARS[1]:  # else date arithmetic overflows (a 500)
        raise InvalidInputError(f"at must fall in the years {AT_YEARS[0]}-{AT_YEARS[1]}",
                                field="at")  # fmt: skip
    kinds = list(_kinds(q.profile, frozenset(q.kind) if q.kind else None))
    needs = [n.value for n in q.need] if q.need else None
    metres, k = q.max_km * 1000, q.k

    rank = partial(locate, at=moment, mode=q.open, k=k, calendar=CALENDAR, profile=q.profile)
    router = services.walk_router
    method, on_foot = METHOD, None
    snapshot = await current_snapshot(services)
    if router is not None and q.max_km > WALK_MAX_KM:
        method = beyond_walk_method(q.max_km)
    elif router is not None:
        fetch = partial(_within, snapshot, acquire, wlon, wlat, kinds, needs, metres)
        on_foot = await search_on_foot(fetch, router, wlon, wlat, metres, k,
                                       partial(rank, walked=True))  # fmt: skip
        name = router.network.source
        method = walked_method(name) if on_foot is not None else off_network_method(name)
    candidates: Callable[[], list[Candidate]]  # only needed (and made) for a notice
    if on_foot is not None:
        candidates, found = partial(list, on_foot[0]), on_foot[1]
    elif snapshot is not None:
        hours = _hours_filter(snapshot, q.open, moment, metres)
        candidates, found = _search_index(snapshot.index, wlon, wlat, kinds, needs, metres, k,
                                          rank, stale_from(moment), hours)  # fmt: skip
    else:
        out = _left_out(_latest_snapshot(services), q.open, moment, metres)
        async with acquire() as conn:
            candidates, found = await _search(conn, wlon, wlat, kinds, needs, metres, k, rank,
                                              out)  # fmt: skip
    notice = None
    if not found:
        notice = await _notice(acquire, wlon, wlat, kinds, needs, q.max_km, candidates(), q.open,
                               moment)  # fmt: skip
    if q.coords is CoordSystem.WGS84:
        out_lon, out_lat = round(wlon, 7), round(wlat, 7)
    else:
        out_lon, out_lat = shift_point(wlon, wlat, q.coords)
    statics = _statics([f.candidate for f in found], snapshot.statics if snapshot else None)
    echo = {
        "lon": out_lon,
        "lat": out_lat,
        "coords": q.coords.value,
        "wgs84": [wlon, wlat],
        "at": moment.isoformat(),
        "open": q.open.value,
        "k": k,
        "max_km": q.max_km,
        "needs": needs or [],
        "kinds": kinds,
        "profile": q.profile.value if q.profile else None,
    }
    results = [render.place(f, s, q.coords) for f, s in zip(found, statics, strict=True)]
    notice_json = notice.model_dump() if notice else None
    return render.body(echo, method, results, notice_json)


async def _notice(
    acquire: Acquire,
    lon: float,
    lat: float,
    kinds: list[str],
    needs: list[str] | None,
    max_km: float,
    candidates: list[Candidate],
    mode: OpenMode,
    moment: datetime,
) -> Notice:
    """Say plainly why the list is empty: outside our area, none near, none open."""
    if not candidates:
        async with acquire() as conn:
            row = await conn.fetchrow(FALLBACK_SQL, lon, lat, kinds, needs)
        nearest = row["nearest_m"]
        further = (
            f" The nearest is {nearest / 1000:.1f} km away."
            if nearest is not None
            else " There is none at all."
        )
        if not row["in_area"]:
            return Notice(
                code="outside_area",
                nearest_m=nearest,
                message="This point is outside the area this map covers." + further,
            )
        return Notice(
            code="nothing_within",
            nearest_m=nearest,
            message=f"No matching place within {max_km:g} km." + further,
        )
    candidates = sorted(candidates, key=lambda c: (c.distance_m, c.id))  # nearest first
    known = [c for c in candidates if c.opening_hours]
    when = "when you would arrive" if mode is OpenMode.ARRIVAL else "now"
    message = f"{len(candidates)} matching places within {max_km:g} km, none open {when}."
    if len(known) < len(candidates):
        message += f" {len(candidates) - len(known)} have no recorded hours."
    openings = [
        (state.next_open, c)
        for c in known
        if (state := open_state_memo(c.opening_hours or "", moment, CALENDAR)).next_open
    ]
    first = min(openings, key=lambda pair: (pair[0], pair[1].distance_m), default=None)
    if first:
        opens, place = first
        message += f" First to open: {place.name} at {opens:%Y-%m-%d %H:%M}."
    return Notice(
        code="nothing_open",
        nearest_m=candidates[0].distance_m,
        message=message,
        next_open=first[0] if first else None,
        next_open_id=first[1].id if first else None,
    )
