"""The ``/locate`` body as JSON bytes, spliced from pre-serialised parts: no models per request.

What a place shows that does not depend on the request (labels, its position in each
coordinate system, navigation links for four apps, address, verification date...) is
serialised once into :class:`StaticPlace` fragments, kept by :class:`StaticPlaces` under a key
made of every input they are built from: an edit to a station (a new name, a move, new
amenities, a new verification or boundary) is a new key and can never show an old entry.
Per request only distance, walking time, arrival, open states and profile matches are
serialised. Every value goes through pydantic-core, so the bytes are the ones
:class:`api.locator.schemas.LocateResponse` would give, in its field order (a test compares
them with the model's own serialisation).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from geo.crs import CoordSystem
from geo.hours import OpenState
from geo.locator.rules import Candidate, Located, navigation_links, shift_many
from geo.vocab import LABELS_ZH, Access, Amenity, StationKind, walk_in

STATIC_PLACES_MAX = 32_768  # more than the stations of a large city; ~4 KB each
_NO_HOURS = to_json({"is_open": None, "closes_at": None, "next_open": None, "day_type": None,
                     "calendar_known": None})  # fmt: skip
_BOOL = {True: b"true", False: b"false"}


@dataclass(frozen=True, slots=True)
class StaticPlace:
    """A result's station-only parts, as JSON members with their leading comma or brace."""

    head: dict[CoordSystem, bytes]  # {"id" .. "kind_label", "lon", "lat" in that system
    amenities: bytes  # ,"amenities", "amenity_labels" and "access" .. "walk_in"
    contact: bytes  # ,"address" .. "last_verified_at"
    tail: bytes  # ,"boundary_code", "boundary_name", "navigation"} (closes the object)


def static_key(c: Candidate) -> Hashable:
    """Every input of :class:`StaticPlace`: equal keys give equal places."""
    return (c.id, c.name, c.kind, c.lon, c.lat, tuple(c.amenities), c.address, c.phone,
            c.host_type, c.host_name, c.last_verified_at, c.boundary_code,
            c.boundary_name, tuple(c.access), c.access_condition)  # fmt: skip


def _members(values: dict[str, Any]) -> bytes:
    """``"a":1,"b":2`` with a leading comma: members to splice into an object."""
    return b"," + to_json(values)[1:-1]


def _build(c: Candidate, gcj02: tuple[float, float], bd09: tuple[float, float]) -> StaticPlace:
    positions = {
        CoordSystem.WGS84: (c.lon, c.lat),
        CoordSystem.GCJ02: gcj02,
        CoordSystem.BD09: bd09,
    }
    first = {
        "id": c.id,
        "name": c.name,
        "kind": c.kind,
        "kind_label": LABELS_ZH[StationKind(c.kind)],
    }
    amenities = {
        "amenities": list(c.amenities),
        "amenity_labels": [LABELS_ZH.get(Amenity(a), a) for a in c.amenities],
        "access": list(c.access),
        "access_labels": [LABELS_ZH.get(Access(a), a) for a in c.access],
        "access_condition": c.access_condition,
        "walk_in": walk_in(c.access, c.access_condition),
    }
    contact = {
        "address": c.address,
        "phone": c.phone,
        "host_type": c.host_type,
        "host_name": c.host_name,
        "last_verified_at": c.last_verified_at,
    }
    tail = {
        "boundary_code": c.boundary_code,
        "boundary_name": c.boundary_name,
        "navigation": navigation_links(c.lon, c.lat, c.name, (gcj02, bd09)),
    }
    return StaticPlace(
        head={
            system: to_json({**first, "lon": round(lon, 7), "lat": round(lat, 7)})[:-1]
            for system, (lon, lat) in positions.items()
        },
        amenities=_members(amenities),
        contact=_members(contact),
        tail=_members(tail) + b"}",
    )


class StaticPlaces:
    """Least recently used :class:`StaticPlace` entries; event-loop only, so no lock."""

    def __init__(self, max_entries: int = STATIC_PLACES_MAX) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, StaticPlace] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get_many(self, candidates: Sequence[Candidate]) -> list[StaticPlace]:
        """One entry per candidate; the missing ones converted together (two numpy calls)."""
        keys = [static_key(c) for c in candidates]
        found: list[StaticPlace | None] = [self._entries.get(key) for key in keys]
        missing = [i for i, place in enumerate(found) if place is None]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        for i, key in enumerate(keys):  # hits become the most recent, before any eviction
            if found[i] is not None:
                self._entries.move_to_end(key)
        if missing:
            shifted = shift_many([candidates[i].lon for i in missing],
                                 [candidates[i].lat for i in missing])  # fmt: skip
            for i, (gcj02, bd09) in zip(missing, shifted, strict=True):
                found[i] = self._entries[keys[i]] = _build(candidates[i], gcj02, bd09)
            while len(self._entries) > self.max_entries:  # never this call's: they are newest
                self._entries.popitem(last=False)
        return [place for place in found if place is not None]


_OPEN_INFOS_MAX = 4096
# Kept by identity, not by value: hashing an OpenState (a dataclass of five fields) cost more
# than the lookup saved, and the locator's states are shared objects (open_state_memo gives one
# per hours and minute). Each entry holds its state, so no other object can take its id.
_open_infos: dict[int, tuple[OpenState, bytes]] = {}


def open_info(state: OpenState | None) -> bytes:
    """An :class:`api.locator.schemas.OpenInfo` object; states repeat across places and calls."""
    if state is None:
        return _NO_HOURS
    entry = _open_infos.get(id(state))
    if entry is not None:
        return entry[1]
    if len(_open_infos) >= _OPEN_INFOS_MAX:
        _open_infos.clear()
    json = to_json({"is_open": state.is_open, "closes_at": state.closes_at,
                    "next_open": state.next_open, "day_type": state.day_type,
                    "calendar_known": state.calendar_known})  # fmt: skip
    _open_infos[id(state)] = (state, json)
    return json


def place(found: Located, static: StaticPlace, coords: CoordSystem) -> bytes:
    """One result, in :class:`api.locator.schemas.Place`'s field order."""
    c = found.candidate
    measured = {
        "distance_m": round(c.distance_m, 1),
        "walk_min": round(found.walk_min, 1),
        "arrival": found.arrival,
    }
    days = found.verified_days_ago
    return b"".join((
        static.head[coords], _members(measured),
        b',"open_now":', open_info(found.state_now),
        b',"open_on_arrival":', open_info(found.state_on_arrival),
        b',"closes_soon":', _BOOL[found.closes_soon],
        static.amenities,
        b',"profile_matches":', to_json(found.profile_matches) if found.profile_matches else b"[]",
        static.contact,
        b',"verified_days_ago":', b"null" if days is None else str(days).encode(),
        b',"stale":', _BOOL[found.stale],
        static.tail,
    ))  # fmt: skip


def body(query: dict[str, Any], method: str, results: list[bytes],
         notice: dict[str, Any] | None, as_of: dict[str, Any] | None = None) -> bytes:  # fmt: skip
    """The whole response, as :class:`api.locator.schemas.LocateResponse` would serialise."""
    return b"".join((
        b'{"query":', to_json(query), b',"method":', to_json(method),
        b',"results":[', b",".join(results), b'],"notice":', to_json(notice),
        b',"stations_as_of":', to_json(as_of), b"}",
    ))  # fmt: skip
