"""``/locate``: the nearest rest points that are open when a worker gets there on foot.

The search is :mod:`geo.locator.search`'s (a KNN shortlist by degrees, the whole radius only
when that cannot prove the answer, ranked by true metres), asked of one place source: the open
stations in memory (:class:`geo.locator.search.IndexSource`) when they reflect every commit
before the request (:mod:`api.runtime.places`), else PostGIS
(:class:`api.locator.sql.PostgisSource`), or re-ranked on foot when a street network is
loaded. For ``now`` and ``arrival`` the sources leave out places whose hours cannot be open in
time (:func:`_hours_filter`).
Opening hours are evaluated with the Chinese calendar in :mod:`geo.locator.rules` (memoised per
minute); the body is spliced from per-station parts serialised once
(:mod:`api.locator.render`). Most requests are answered by :mod:`api.locator.fastpath` through
:func:`answer`, ahead of this route.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.coords import shift_point, to_wgs84
from api.deps import Acquire, AcquireDep
from api.errors import DATABASE_DOWN
from api.locator import render
from api.locator.query import AT_YEARS, LocateParams
from api.locator.schemas import LocateResponse, Notice
from api.locator.sql import FALLBACK_SQL, LeftOut, PostgisSource
from api.runtime.places import Snapshot
from api.runtime.services import Services, services_of
from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.hours import ChinaCalendar, beijing_time, open_state_memo
from geo.locator.index import HoursFilter
from geo.locator.rules import (
    METHOD,
    PROFILE_KINDS,
    WALK_MAX_KM,
    Candidate,
    Located,
    OpenMode,
    WorkerProfile,
    beyond_walk_method,
    locate,
    may_be_open,
    off_network_method,
    stale_from,
    walked_method,
    walking_minutes,
)
from geo.locator.search import Area, IndexSource, nearby, search, search_on_foot
from geo.standards import BEIJING
from geo.vocab import StationKind

router = APIRouter(tags=["locator"])
log = logging.getLogger("nuanxin.locator")
CALENDAR = ChinaCalendar()
STATIC = render.StaticPlaces()  # per-station labels, positions and links; keyed by their inputs


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


async def _straight(snapshot: Snapshot | None, acquire: Acquire | None, area: Area,
                    stale_at: datetime, limit: int) -> list[Candidate]:  # fmt: skip
    """Every match within the radius as the crow flies, nearest first, at most ``limit``: what
    a walk is searched among (from memory when the snapshot is current, else PostGIS)."""
    if snapshot is not None:
        index = IndexSource(snapshot.index, area, stale_at)
        return index.candidates(await index.within(limit))
    assert acquire is not None  # without a snapshot, only PostGIS has the places
    async with acquire() as conn:
        return await PostgisSource(conn, area).within(limit)


async def current_snapshot(services: Services) -> Snapshot | None:
    """The in-memory stations when they reflect every commit before this call through this
    worker, and every other commit up to ``RECENT_S`` before it; else ``None``."""
    places, versions = services.places, services.versions
    if places is None or versions is None:
        return None
    known = await versions.recent()
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
    request: Request, acquire: AcquireDep, query: Annotated[LocateParams, Query()]
) -> Response:
    # The body is built as bytes (see api.locator.render); the response model above documents
    # it and the tests validate against it. api.locator.fastpath answers most requests before
    # they get here, through the same answer() and the same LocateParams.
    body = await answer(services_of(request.app), acquire, query)
    return Response(body, media_type="application/json")


@lru_cache(maxsize=256)
def _kinds(profile: WorkerProfile | None, asked: frozenset[StationKind] | None,
           ) -> tuple[str, ...]:  # fmt: skip
    """The kinds searched, sorted: those meant for ``profile`` (all without one), of those
    ``asked`` for if any. Few combinations, asked for on every request."""
    allowed = PROFILE_KINDS[profile] if profile else frozenset(StationKind)
    return tuple(sorted(k.value for k in (allowed & asked if asked else allowed)))


async def answer(services: Services, acquire: Acquire, q: LocateParams) -> bytes:
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

    area = Area(wlon, wlat, metres, kinds, needs, walk_in=q.walk_in)
    snapshot = await current_snapshot(services)
    try:
        method, found, near = await _find(services, acquire, q, area, moment, snapshot)
        offline: Snapshot | None = None
    except DATABASE_DOWN as exc:  # restarting, or down: answer from the stations in memory
        offline = _latest_snapshot(services)
        if snapshot is not None or offline is None:
            raise
        log.info("database unreachable (%r): /locate answers from memory", exc)
        method, found, near = await _find(services, None, q, area, moment, offline)
        snapshot = offline
    notice = None
    if not found:
        try:
            notice = await _notice(None if offline else acquire, area, q.max_km, near, q.open,
                                   moment)  # fmt: skip
        except DATABASE_DOWN:  # gone since the places were found: say what can be said
            notice = await _notice(None, area, q.max_km, near, q.open, moment)
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
        "walk_in": q.walk_in,
        "kinds": kinds,
        "profile": q.profile.value if q.profile else None,
    }
    results = [render.place(f, s, q.coords) for f, s in zip(found, statics, strict=True)]
    notice_json = notice.model_dump() if notice else None
    return render.body(echo, method, results, notice_json, _as_of(offline))


def _as_of(offline: Snapshot | None) -> dict[str, Any] | None:
    """What an answer from memory says of itself: when its stations were read, how long ago."""
    if offline is None:
        return None
    age = max(0.0, (datetime.now(UTC) - offline.read_at).total_seconds())
    at = offline.read_at.astimezone(BEIJING)
    return {"at": at.isoformat(timespec="seconds"), "age_s": round(age, 1),
            "message": f"The database cannot be reached just now: these places are as of "
                       f"{at:%H:%M:%S} ({age:.0f} s ago), from this server's memory."}  # fmt: skip


async def _find(services: Services, acquire: Acquire | None, q: LocateParams, area: Area,
                moment: datetime, snapshot: Snapshot | None,
                ) -> tuple[str, list[Located], list[Candidate]]:  # fmt: skip
    """The method, the ranked places, and (for an empty answer's notice) the places near.
    From ``snapshot`` when given (``acquire`` may then be ``None``: nothing is read), else
    PostGIS; on foot when a network is loaded."""
    metres, k = area.metres, q.k
    rank = partial(locate, at=moment, mode=q.open, k=k, calendar=CALENDAR, profile=q.profile)
    router = services.walk_router
    method, on_foot = METHOD, None
    if router is not None and q.max_km > WALK_MAX_KM:
        method = beyond_walk_method(q.max_km)
    elif router is not None:
        straight = partial(_straight, snapshot, acquire, area, stale_from(moment))
        on_foot = await search_on_foot(straight, router, area, k, partial(rank, walked=True))
        name = router.network.source
        method = walked_method(name) if on_foot is not None else off_network_method(name)
    near: list[Candidate] = []  # only made for an empty answer's notice
    if on_foot is not None:
        found, walked_to = on_foot
        near = walked_to if not found else near
    elif snapshot is not None:
        hours = _hours_filter(snapshot, q.open, moment, metres)
        index = IndexSource(snapshot.index, area, stale_from(moment), hours)
        found, hits = await search(index, k, rank)
        near = await nearby(index, hits) if not found else near
    else:
        assert acquire is not None
        out = _left_out(_latest_snapshot(services), q.open, moment, metres)
        async with acquire() as conn:
            postgis = PostgisSource(conn, area, out)
            found, rows = await search(postgis, k, rank)
            near = await nearby(postgis, rows) if not found else near
    return method, found, near


async def _notice(
    acquire: Acquire | None,
    area: Area,
    max_km: float,
    candidates: list[Candidate],
    mode: OpenMode,
    moment: datetime,
) -> Notice:
    """Say plainly why the list is empty: outside our area, none near, none open. Without
    ``acquire`` (the database unreachable) the nearest beyond the radius is not looked up."""
    if not candidates:
        if acquire is None:
            message = (f"No matching place within {max_km:g} km (the nearest further away "
                       "cannot be looked up just now).")  # fmt: skip
            return Notice(code="nothing_within", message=message)
        async with acquire() as conn:
            row = await conn.fetchrow(FALLBACK_SQL, area.lon, area.lat, area.kinds, area.needs,
                                      area.walk_in)  # fmt: skip
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
