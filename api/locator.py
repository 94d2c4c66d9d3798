"""``/locate``: the nearest rest points that are open when a worker gets there on foot.

Candidates come from PostGIS ranked by true metres (geography), never by ``<->`` on degrees,
which at 39.9°N weighs a degree of longitude as much as a degree of latitude (0.77 as long).
Opening hours are evaluated with the Chinese calendar in :mod:`geo.locator`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.coords import CoordsQuery, shift_point, to_wgs84
from api.deps import ConnectionDep
from api.schemas_locator import LocateResponse, Notice, OpenInfo, Place
from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.hours import SHANGHAI, ChinaCalendar, OpenState, beijing_time, open_state
from geo.locator import (
    METHOD,
    PROFILE_KINDS,
    Candidate,
    Located,
    OpenMode,
    WorkerProfile,
    locate,
    navigation_links,
    rank_key,
    shift_many,
)
from geo.vocab import LABELS_ZH, Amenity, StationKind

router = APIRouter(tags=["locator"])
SHORTLIST = 200  # candidates re-ranked in Python for opening hours; plenty within a few km
NEAR_M = 1500.0  # first search radius: about a 20-minute walk
CALENDAR = ChinaCalendar()

_CANDIDATES_SQL = """
SELECT s.id, s.name, s.kind, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, s.amenities,
       s.opening_hours, s.address, s.phone, s.host_type, s.host_name, s.last_verified_at,
       b.code AS boundary_code, b.name AS boundary_name,
       ST_Distance(s.geom::geography, here.pt::geography) AS distance_m
  FROM stations AS s
  CROSS JOIN (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS pt) AS here
  LEFT JOIN boundaries AS b ON b.id = s.boundary_id
 WHERE s.status = 'open' AND s.deleted_at IS NULL
   AND s.geom && ST_MakeEnvelope($3, $4, $5, $6, 4326)
   AND s.kind = ANY($7)
   AND ($8::text[] IS NULL OR s.amenities @> $8)
   AND ST_DWithin(s.geom::geography, here.pt::geography, $9)
 ORDER BY distance_m, s.id
 LIMIT $10
"""

# Nothing within reach: how far is the nearest matching place, and is the point in our area?
# The KNN shortlist (degrees) is re-ranked by true metres, so the answer is the true nearest
# unless it lies beyond the 50 nearest by degrees, which needs a ratio of axes far above 1/0.77.
_FALLBACK_SQL = """
WITH here AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS pt),
near AS (
  SELECT s.geom FROM stations AS s, here
   WHERE s.status = 'open' AND s.deleted_at IS NULL AND s.kind = ANY($3)
     AND ($4::text[] IS NULL OR s.amenities @> $4)
   ORDER BY s.geom <-> here.pt LIMIT 50
)
SELECT (SELECT min(ST_Distance(near.geom::geography, here.pt::geography)) FROM near, here)
         AS nearest_m,
       EXISTS (SELECT 1 FROM boundaries AS b, here
                WHERE b.valid_to IS NULL AND ST_Covers(b.geom, here.pt)) AS in_area
"""


def _envelope(lon: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box certainly containing the circle (1 % margin over the ellipsoid's radii)."""
    dlat = metres / 110_574 * 1.01
    dlon = metres / (111_320 * max(math.cos(math.radians(lat)), 0.01)) * 1.01
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def _open_info(state: OpenState | None) -> OpenInfo:
    if state is None:
        return OpenInfo(
            is_open=None, closes_at=None, next_open=None, day_type=None, calendar_known=None
        )
    return OpenInfo(
        is_open=state.is_open,
        closes_at=state.closes_at,
        next_open=state.next_open,
        day_type=state.day_type,
        calendar_known=state.calendar_known,
    )


EXTRA = ("address", "phone", "host_type", "host_name", "last_verified_at", "boundary_code",
         "boundary_name")  # fmt: skip


def _candidate(r: Any) -> Candidate:
    return Candidate(id=r["id"], name=r["name"], kind=r["kind"], lon=r["lon"], lat=r["lat"],
                     distance_m=r["distance_m"], amenities=tuple(r["amenities"]),
                     opening_hours=r["opening_hours"], extra={k: r[k] for k in EXTRA})  # fmt: skip


def _place(found: Located, coords: CoordSystem,
           shifted: tuple[tuple[float, float], tuple[float, float]]) -> Place:  # fmt: skip
    c = found.candidate
    (g_lon, g_lat), (b_lon, b_lat) = shifted
    lon, lat = {CoordSystem.WGS84: (c.lon, c.lat), CoordSystem.GCJ02: (g_lon, g_lat),
                CoordSystem.BD09: (b_lon, b_lat)}[coords]  # fmt: skip
    lon, lat = round(lon, 7), round(lat, 7)
    return Place(
        id=c.id,
        name=c.name,
        kind=c.kind,
        kind_label=LABELS_ZH[StationKind(c.kind)],
        lon=lon,
        lat=lat,
        distance_m=round(c.distance_m, 1),
        walk_min=round(found.walk_min, 1),
        arrival=found.arrival,
        open_now=_open_info(found.state_now),
        open_on_arrival=_open_info(found.state_on_arrival),
        closes_soon=found.closes_soon,
        amenities=list(c.amenities),
        amenity_labels=[LABELS_ZH.get(Amenity(a), a) for a in c.amenities],
        profile_matches=list(found.profile_matches),
        verified_days_ago=found.verified_days_ago,
        stale=found.stale,
        navigation=navigation_links(c.lon, c.lat, c.name, shifted),
        **c.extra,
    )


@router.get(
    "/locate",
    summary="Nearest rest points open when you get there",
    response_model=LocateResponse,
    responses={400: {"description": "bad coordinates or parameters (problem+json)"}},
)
async def locate_nearest(
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
) -> LocateResponse:
    try:
        wlon, wlat = to_wgs84(lon, lat, coords)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="lon") from exc
    moment = beijing_time(at) if at else datetime.now(SHANGHAI)
    allowed = PROFILE_KINDS[profile] if profile else frozenset(StationKind)
    kinds = sorted(k_.value for k_ in (allowed & set(kind) if kind else allowed))
    needs = [n.value for n in need] if need else None
    metres = max_km * 1000
    # Most answers lie within a short walk: search there first, and the whole radius only when
    # the near answer is not provably final (fewer than k, or a ranking key beyond the near
    # radius, which a place further out could beat).
    candidates, found = [], []
    for radius in sorted({min(NEAR_M, metres), metres}):
        rows = await conn.fetch(_CANDIDATES_SQL, wlon, wlat, *_envelope(wlon, wlat, radius),
                                kinds, needs, radius, SHORTLIST)  # fmt: skip
        candidates = [_candidate(r) for r in rows]
        found = locate(candidates, at=moment, mode=open, k=k, calendar=CALENDAR, profile=profile)
        if len(found) == k and max(rank_key(f) for f in found) <= radius:
            break
    notice = await _notice(conn, wlon, wlat, kinds, needs, max_km, candidates, found, open, moment)
    out_lon, out_lat = shift_point(wlon, wlat, coords)
    # Every place's GCJ-02 and BD-09 in two vectorised calls (output and navigation links).
    shifted = shift_many([f.candidate.lon for f in found], [f.candidate.lat for f in found])
    return LocateResponse(
        query={
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
        },
        method=METHOD,
        results=[_place(f, coords, s) for f, s in zip(found, shifted, strict=True)],
        notice=notice,
    )


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
        row = await conn.fetchrow(_FALLBACK_SQL, lon, lat, kinds, needs)
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
    known = [c for c in candidates if c.opening_hours]
    when = "when you would arrive" if mode is OpenMode.ARRIVAL else "now"
    message = f"{len(candidates)} matching places within {max_km:g} km, none open {when}."
    if len(known) < len(candidates):
        message += f" {len(candidates) - len(known)} have no recorded hours."
    openings = [
        (state.next_open, c)
        for c in known
        if (state := open_state(c.opening_hours or "", moment, CALENDAR)).next_open
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
