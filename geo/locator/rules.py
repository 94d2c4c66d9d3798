"""The locator's rules, pure: walking time, open on arrival, worker profiles, navigation links.

The API fetches candidates near the worker (true metres, from PostGIS); this module decides which
are open when the worker gets there, ranks them and says how each figure was computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import NamedTuple, Protocol
from urllib.parse import quote, urlencode

import numpy as np

from geo.crs import CoordSystem, convert
from geo.hours import ChinaCalendar, OpenState, open_state_memo
from geo.standards import DETOUR_FACTOR, WALK_SPEED_M_PER_MIN
from geo.vocab import Amenity, StationKind

CLOSES_SOON_MIN = 30
STALE_DAYS = 180  # not confirmed for half a year (or never): the map may be wrong about it
STALE_PENALTY = 1.5  # a stale place ranks as if half as far again: a sure one nearby first
_STALE_RULE = (
    f"places not verified for {STALE_DAYS} days (or never) rank as if {STALE_PENALTY:g}× as far"
)
METHOD = (
    f"straight-line metres on the WGS-84 ellipsoid (PostGIS geography); walking minutes = "
    f"metres × {DETOUR_FACTOR} detour ÷ {WALK_SPEED_M_PER_MIN:g} m/min; {_STALE_RULE}"
)


def walked_method(network: str) -> str:
    """How distances were found when a street network is loaded and the worker is on it."""
    return (
        f"metres walked along the street network {network} (shortest path; the hops onto the "
        f"nearest street walked straight); walking minutes = metres ÷ {WALK_SPEED_M_PER_MIN:g} "
        f"m/min; {_STALE_RULE}"
    )


def off_network_method(network: str) -> str:
    return (
        f"straight line: this point is more than 300 m from every street of the loaded "
        f"network {network}, so the walk there is unknown. {METHOD}"
    )


# Walks are searched up to this far: beyond, nobody walks (an hour on foot), and a public
# request must not cost a Dijkstra over half the city (7.5 ms at 20 km on a 40 km grid).
WALK_MAX_KM = 5.0


def beyond_walk_method(max_km: float) -> str:
    return (
        f"straight line: a {max_km:g} km search is beyond the {WALK_MAX_KM:g} km walked "
        f"along the streets. {METHOD}"
    )


class OpenMode(StrEnum):
    ARRIVAL = "arrival"  # open when the worker gets there on foot
    NOW = "now"  # open at the moment asked
    ANY = "any"  # whatever the hours say


class WorkerProfile(StrEnum):
    SANITATION = "sanitation"  # 环卫工人
    COURIER = "courier"  # 快递员、外卖骑手
    DRIVER = "driver"  # 出租车、网约车司机
    GUARD = "guard"  # 保安


# Places meant for every outdoor worker; a sanitation care point (环卫工人爱心服务点) is kept for
# sanitation workers, and counselling points (心灵驿站) are not a place to rest.
REST_KINDS = frozenset(StationKind) - {StationKind.SANITATION_CARE_POINT,
                                       StationKind.COUNSELLING_POINT}  # fmt: skip
PROFILE_KINDS: dict[WorkerProfile, frozenset[StationKind]] = {
    WorkerProfile.SANITATION: REST_KINDS | {StationKind.SANITATION_CARE_POINT},
    WorkerProfile.COURIER: REST_KINDS,
    WorkerProfile.DRIVER: REST_KINDS,
    WorkerProfile.GUARD: REST_KINDS,
}
# What each profile usually looks for: shown as matches on each result, never a hard filter.
PROFILE_AMENITIES: dict[WorkerProfile, tuple[Amenity, ...]] = {
    WorkerProfile.SANITATION: (Amenity.HOT_WATER, Amenity.MICROWAVE, Amenity.TOILET,
                               Amenity.SEATING),
    WorkerProfile.COURIER: (Amenity.PHONE_CHARGING, Amenity.EBIKE_CHARGING, Amenity.HOT_WATER,
                            Amenity.TOILET),
    WorkerProfile.DRIVER: (Amenity.PARKING, Amenity.TOILET, Amenity.HOT_WATER),
    WorkerProfile.GUARD: (Amenity.HOT_WATER, Amenity.MICROWAVE, Amenity.SEATING),
}  # fmt: skip


def walking_minutes(distance_m: float, *, walked: bool = False) -> float:
    """Minutes on foot: metres already walked along streets, or straight metres × detour. Also
    the most minutes a place at most ``distance_m`` away can take (a walk is never shorter)."""
    return distance_m * (1.0 if walked else DETOUR_FACTOR) / WALK_SPEED_M_PER_MIN


class Candidate(NamedTuple):
    """A station near the worker, as the database returns it (WGS-84, true metres).

    A named tuple, not a dataclass: the API builds one per row of every shortlist straight
    from the row (same columns, same order), so it must be cheap.
    """

    id: int
    name: str
    kind: str
    lon: float
    lat: float
    distance_m: float
    amenities: Sequence[str]
    opening_hours: str | None
    last_verified_at: datetime | None = None
    address: str | None = None
    phone: str | None = None
    host_type: str | None = None
    host_name: str | None = None
    boundary_code: str | None = None
    boundary_name: str | None = None
    access: Sequence[str] = ()  # geo.vocab.Access codes; empty: not recorded
    access_condition: str | None = None


class Located(NamedTuple):
    """A place in the answer. A named tuple: made for each result of every request."""

    candidate: Candidate
    walk_min: float
    arrival: datetime
    state_now: OpenState | None  # None: no hours recorded
    state_on_arrival: OpenState | None
    closes_soon: bool
    profile_matches: tuple[str, ...]
    verified_days_ago: int | None  # None: never verified
    stale: bool


_located = partial(tuple.__new__, Located)  # Located(*fields) without the keyword machinery


class Rank(Protocol):
    """Candidates in, the ranked answer out: a :func:`locate` with its options bound."""

    def __call__(self, candidates: Iterable[Candidate], *, ranked: bool = False,
                 ) -> list[Located]: ...  # fmt: skip


def stale_from(at: datetime) -> datetime:
    """A place verified at or before this instant (UTC) is stale at ``at``: more than
    :data:`STALE_DAYS` whole days since the check (comparing under one tzinfo is the fast path,
    and the database gives UTC)."""
    return (at - timedelta(days=STALE_DAYS + 1)).astimezone(UTC)


def rank_key(found: Located) -> float:
    """The distance a place ranks by: its metres, times the penalty when it is stale."""
    return found.candidate.distance_m * (STALE_PENALTY if found.stale else 1.0)


def locate(
    candidates: Iterable[Candidate],
    *,
    at: datetime,
    mode: OpenMode,
    k: int,
    calendar: ChinaCalendar,
    profile: WorkerProfile | None = None,
    walked: bool = False,
    ranked: bool = False,
) -> list[Located]:
    """The ``k`` nearest candidates (by true metres) that satisfy ``mode`` at ``at``.

    ``walked``: the candidates' metres were walked along streets (no detour factor on top).
    ``ranked``: they come in rank order already (and may be made as they are asked for).

    A place without recorded hours is never promised open: it is left out unless ``mode`` is
    ``any``. A place not verified for :data:`STALE_DAYS` (or never) ranks as if
    :data:`STALE_PENALTY` times as far. Ties go to the smaller id: stable answers. Hours are
    evaluated only down to the ``k``-th answer, through :func:`open_state_memo`.
    """
    wanted = PROFILE_AMENITIES.get(profile, ()) if profile else ()
    stale_at = stale_from(at)

    def rank(c: Candidate) -> tuple[float, int]:
        verified = c.last_verified_at
        stale = verified is None or verified <= stale_at
        return (c.distance_m * STALE_PENALTY if stale else c.distance_m), c.id

    # Run for every candidate of every request: the loop avoids calls and objects it can.
    out: list[Located] = []
    now_states: dict[str, OpenState] = {}  # every candidate shares ``at``
    soon = timedelta(minutes=CLOSES_SOON_MIN)
    at_utc = at.astimezone(UTC)  # the same instant; subtracting within one tzinfo is faster
    only_now, only_arrival = mode is OpenMode.NOW, mode is OpenMode.ARRIVAL
    for c in candidates if ranked else sorted(candidates, key=rank):
        hours = c.opening_hours
        minutes = walking_minutes(c.distance_m, walked=walked)
        arrival = at + timedelta(minutes=minutes)
        if hours and not hours.isspace():
            on_arrival = open_state_memo(hours, arrival, calendar)
            now = now_states.get(hours)
            if now is None:
                now = now_states[hours] = open_state_memo(hours, at, calendar)
        else:
            now = on_arrival = None
        if only_now and not (now and now.is_open):
            continue
        if only_arrival and not (on_arrival and on_arrival.is_open):
            continue
        closes_soon = bool(
            on_arrival and on_arrival.is_open and on_arrival.closes_at is not None
            and on_arrival.closes_at - arrival <= soon
        )  # fmt: skip
        matches = tuple(a.value for a in wanted if a.value in c.amenities) if wanted else ()
        verified = c.last_verified_at
        if verified is None:
            days, stale = None, True
        else:
            days, stale = max((at_utc - verified).days, 0), verified <= stale_at  # rank's rule
        out.append(_located((c, minutes, arrival, now, on_arrival, closes_soon, matches, days,
                             stale)))  # fmt: skip
        if len(out) == k:
            break
    return out


def may_be_open(hours: str | None, since: datetime, until: datetime,
                calendar: ChinaCalendar) -> bool:  # fmt: skip
    """Whether a place with these hours can be open at some instant from ``since`` to ``until``.

    One that cannot is never in :func:`locate`'s answer for ``now`` or ``arrival`` when every
    candidate is reached within that span: a search may leave it out before measuring it (at
    night most places are closed, and measuring them all was most of a request's time). Hours
    that cannot be evaluated (unparsable, or a moment past the calendar's reach) are kept:
    :func:`locate` decides about them as before.
    """
    if not hours or hours.isspace():
        return False
    try:
        state = open_state_memo(hours, since, calendar)
    except (ValueError, OverflowError):
        return True
    return state.is_open or (state.next_open is not None and state.next_open <= until)


def shift_many(lons: list[float], lats: list[float],
               ) -> list[tuple[tuple[float, float], tuple[float, float]]]:  # fmt: skip
    """GCJ-02 and BD-09 of many WGS-84 points in two vectorised calls (one per system)."""
    x, y = np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)
    g_lon, g_lat = convert(x, y, CoordSystem.WGS84, CoordSystem.GCJ02)
    b_lon, b_lat = convert(x, y, CoordSystem.WGS84, CoordSystem.BD09)
    return [((float(a), float(b)), (float(c), float(d)))
            for a, b, c, d in zip(g_lon, g_lat, b_lon, b_lat, strict=True)]  # fmt: skip


def navigation_links(lon: float, lat: float, name: str,
                     shifted: tuple[tuple[float, float], tuple[float, float]] | None = None,
                     ) -> dict[str, str]:  # fmt: skip
    """Walking directions in each app, with the coordinates that app expects.

    Amap and Tencent take GCJ-02, Baidu BD-09 (and says so with ``coord_type``), OSM apps and the
    ``geo:`` URI WGS-84. Tencent and Baidu put latitude first. ``shifted`` passes the GCJ-02
    and BD-09 positions when the caller converted many places at once (see
    :func:`shift_many`).
    """
    (g_lon, g_lat), (b_lon, b_lat) = shifted or shift_many([lon], [lat])[0]
    amap = urlencode({"to": f"{g_lon:.6f},{g_lat:.6f},{name}", "mode": "walk",
                      "coordinate": "gaode", "callnative": 1, "src": "nuanxin"})  # fmt: skip
    baidu = urlencode({"destination": f"latlng:{b_lat:.6f},{b_lon:.6f}|name:{name}",
                       "coord_type": "bd09ll", "mode": "walking", "output": "html",
                       "src": "nuanxin"})  # fmt: skip
    tencent = urlencode({"type": "walk", "to": name, "tocoord": f"{g_lat:.6f},{g_lon:.6f}",
                         "referer": "nuanxin"})  # fmt: skip
    return {
        "amap": f"https://uri.amap.com/navigation?{amap}",
        "baidu": f"https://api.map.baidu.com/direction?{baidu}",
        "tencent": f"https://apis.map.qq.com/uri/v1/routeplan?{tencent}",
        "osm": f"https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot&route=%3B{lat:.6f}%2C{lon:.6f}",
        "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(name)})",
    }
