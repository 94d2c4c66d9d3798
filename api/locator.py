"""``/locate``: the nearest rest points that are open when a worker gets there on foot.

Candidates are ranked by true metres (geography), never by ``<->`` on degrees, which at
39.9°N weighs a degree of longitude as much as a degree of latitude (0.77 as long): one round
trip fetches the KNN shortlist by degrees with true metres, and the whole radius is searched
only when that shortlist cannot prove the answer (see :mod:`api.locator_sql`). Opening hours
are evaluated with the Chinese calendar in :mod:`geo.locator` (memoised per minute); the body
is spliced from per-station parts serialised once (:mod:`api.locator_render`).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api import locator_render as render
from api.coords import CoordsQuery, shift_point, to_wgs84
from api.deps import ConnectionDep
from api.locator_sql import (
    CANDIDATES_SQL,
    FALLBACK_SQL,
    KNN_SHORTLIST,
    KNN_SQL,
    SHORTLIST,
    candidate_of,
    complete_within,
    envelope,
)
from api.locator_walk import search_on_foot
from api.schemas_locator import LocateResponse, Notice
from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.hours import SHANGHAI, ChinaCalendar, beijing_time, open_state_memo
from geo.locator import (
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
    off_network_method,
    rank_key,
    walked_method,
)
from geo.vocab import Amenity, StationKind

router = APIRouter(tags=["locator"])
CALENDAR = ChinaCalendar()
STATIC = render.StaticPlaces()  # per-station labels, positions and links; keyed by their inputs


async def _search(conn: asyncpg.Connection, lon: float, lat: float, kinds: list[str],
                  needs: list[str] | None, metres: float, k: int, rank: Rank,
                  ) -> tuple[list[Candidate], list[Located]]:  # fmt: skip
    """Candidates and answer, from the KNN shortlist when it provably holds the answer.

    The answer is final when the shortlist holds every match within ``metres`` or when ``k``
    places were found, all ranking nearer than the distance within which the shortlist is
    complete (a place further out ranks at least by its metres). Otherwise, rarely: every
    match within ``metres``, nearest first, up to :data:`SHORTLIST`.
    """
    box = envelope(lon, lat, metres)
    rows = await conn.fetch(KNN_SQL, lon, lat, *box, kinds, needs, KNN_SHORTLIST)
    complete = complete_within(lat, [r[-1] for r in rows], KNN_SHORTLIST, metres)
    candidates = [candidate_of(r) for r in rows if r[5] <= metres]  # r[5]: distance_m
    found = rank(candidates)
    if len(rows) < KNN_SHORTLIST or (
        len(found) == k and max(rank_key(f) for f in found) < complete
    ):
        return candidates, found
    rows = await conn.fetch(CANDIDATES_SQL, lon, lat, *box, kinds, needs, metres, SHORTLIST)
    candidates = [candidate_of(r) for r in rows]
    return candidates, rank(candidates)


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
    k: Annotated[int, Query(ge=1, le=20, description="how many places (at most 20)")] = 5,
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
    ] = OpenMode.ARRIVAL,
    at: Annotated[
        datetime | None,
        Query(
            description="plan for this time instead of now (ISO; no zone = Beijing time)",
            examples=["2026-11-29T05:00"],
        ),
    ] = None,
    max_km: Annotated[float, Query(gt=0, le=20, description="search radius in km")] = 5.0,
) -> Response:
    # The body is built as dicts and serialised once (see api.locator_render); the response
    # model above documents it and the tests validate against it.
    if coords is CoordSystem.WGS84:
        wlon, wlat = lon, lat  # FastAPI checked the ranges; no shift to undo
    else:
        try:
            wlon, wlat = to_wgs84(lon, lat, coords)
        except ValueError as exc:
            raise InvalidInputError(str(exc), field="lon") from exc
    moment = beijing_time(at) if at else datetime.now(SHANGHAI)
    allowed = PROFILE_KINDS[profile] if profile else frozenset(StationKind)
    kinds = sorted(k_.value for k_ in (allowed & set(kind) if kind else allowed))
    needs = [n.value for n in need] if need else None

    rank = partial(locate, at=moment, mode=open, k=k, calendar=CALENDAR, profile=profile)
    router = getattr(request.app.state, "walk_router", None)
    method, on_foot = METHOD, None
    if router is not None and max_km > WALK_MAX_KM:
        method = beyond_walk_method(max_km)
    elif router is not None:
        on_foot = await search_on_foot(conn, router, wlon, wlat, kinds, needs, max_km * 1000,
                                       k, partial(rank, walked=True))  # fmt: skip
        name = router.network.source
        method = walked_method(name) if on_foot is not None else off_network_method(name)
    if on_foot is not None:
        candidates, found = on_foot
    else:
        candidates, found = await _search(conn, wlon, wlat, kinds, needs, max_km * 1000, k, rank)
    notice = await _notice(conn, wlon, wlat, kinds, needs, max_km, candidates, found, open, moment)
    if coords is CoordSystem.WGS84:
        out_lon, out_lat = round(wlon, 7), round(wlat, 7)
    else:
        out_lon, out_lat = shift_point(wlon, wlat, coords)
    statics = STATIC.get_many([f.candidate for f in found])
    query = {
        "lon": out_lon,
        "lat": out_lat,
        "coords": coords.value,
        "wgs84": [wlon, wlat],
        "at": moment.isoformat(),
        "open": open.value,
        "k": k,
        "max_km": max_km,
        "needs": needs or [],
        "kinds": kinds,
        "profile": profile.value if profile else None,
    }
    results = [render.place(f, s, coords) for f, s in zip(found, statics, strict=True)]
    notice_json = notice.model_dump() if notice else None
    return Response(render.body(query, method, results, notice_json), media_type="application/json")


async def _notice(
    conn: ConnectionDep,
    lon: float,
    lat: float,
    kinds: list[str],
    needs: list[str] | None,
    max_km: float,
    candidates: list[Candidate],
    found: list[Located],
    mode: OpenMode,
    moment: datetime,
) -> Notice | None:
    """Say plainly why the list is empty (or short): outside our area, none near, none open."""
    if found:
        return None
    if not candidates:
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
