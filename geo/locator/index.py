"""Open stations held in memory for the locator: its two searches without a database round trip.

The locator asks the same two questions of PostGIS (:mod:`api.locator.sql`) or of this index,
and the final answers are the same:

* :meth:`PlaceIndex.shortlist`: the ``count`` nearest matching places by degrees (as the GiST
  index walks ``<->``), each with its true metres and its degree distance, from which
  :func:`api.locator.sql.complete_within` proves how far the list is complete;
* :meth:`PlaceIndex.within`: every matching place within ``metres``, nearest metres first (ties
  by id), at most ``limit`` of them.

Both may leave out places by their opening hours (:class:`HoursFilter`, one verdict per distinct
hours text, asked only of the texts the search meets), as the SQL does with a list of hours: at
night most places are closed.

The SQL looks inside a lon/lat box around the radius; the index within the circle through that
box's corners, so its shortlist may also hold places just outside the box. Those are beyond the
radius, where the caller drops them; the proof of completeness holds all the same, and may
simply reach a little less far.

Metres are geodesics on the WGS-84 ellipsoid from pyproj's geographiclib, the algorithm PostGIS
geography uses (they agree to 1e-8 m on 20,000 Beijing points). Degrees come from k-d trees over
(lon, lat): pykdtree's for the shortlist, asked on every request (half of scipy's per-call
cost, most of which is argument handling), scipy's ``cKDTree`` for the whole radius, which
pykdtree cannot ask. pykdtree parallelises queries with OpenMP; for one point that only costs,
so the API limits it to one thread (:mod:`api.app`). Filters are bit masks: a kind is one bit, a
place's amenities a set of bits, with one more bit when anyone may walk in
(:func:`geo.vocab.walk_in`). Pure: places in, candidates out; the API keeps it current.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from pykdtree.kdtree import KDTree
from pyproj import Geod
from scipy.spatial import cKDTree

from geo.locator.rules import STALE_PENALTY, Candidate
from geo.vocab import Amenity, StationKind, walk_in

WGS84 = Geod(ellps="WGS84")
# One bit each in an int64 mask; a vocabulary past 63 values needs a wider mask.
assert len(StationKind) < 64 and len(Amenity) < 63
_KIND_BIT = {kind.value: 1 << i for i, kind in enumerate(StationKind)}
_AMENITY_BIT = {amenity.value: 1 << i for i, amenity in enumerate(Amenity)}
WALK_IN_BIT = 1 << len(Amenity)  # next to the amenities: "needs" it like one
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NEVER = np.iinfo(np.int64).min


def kind_mask(kinds: Iterable[str]) -> int:
    return sum(_KIND_BIT[k] for k in set(kinds))


def amenity_mask(amenities: Iterable[str]) -> int:
    """The bits of the known amenities (a stored value outside the vocabulary has none)."""
    return sum(_AMENITY_BIT.get(a, 0) for a in set(amenities))


def box_reach(lon: float, lat: float, box: tuple[float, float, float, float]) -> float:
    """Degrees from (lon, lat) to the farthest corner of ``box``: every place in it is nearer."""
    return math.hypot(max(lon - box[0], box[2] - lon), max(lat - box[1], box[3] - lat))


class Found(NamedTuple):
    """Places found near a point: their positions in the index and their true metres."""

    at: NDArray[np.intp]
    metres: NDArray[np.float64]


def _micros(moment: datetime | None) -> int:
    """Microseconds since 1970 (UTC), exact; never verified: before any moment."""
    return _NEVER if moment is None else (moment - _EPOCH) // _MICROSECOND


class PlaceIndex:
    """Places (their ``distance_m`` unused) with a k-d tree and filter masks; read-only."""

    def __init__(self, places: Sequence[Candidate]) -> None:
        self.places = list(places)
        n = len(self.places)
        self.lon = np.fromiter((p.lon for p in self.places), np.float64, n)
        self.lat = np.fromiter((p.lat for p in self.places), np.float64, n)
        self.ids = np.fromiter((p.id for p in self.places), np.int64, n)
        self.kind_bits = np.fromiter((_KIND_BIT.get(p.kind, 0) for p in self.places), np.int64, n)
        self.amenity_bits = np.fromiter(
            (amenity_mask(p.amenities) | (WALK_IN_BIT if walk_in(p.access, p.access_condition)
                                          else 0) for p in self.places), np.int64, n)  # fmt: skip
        self.verified = np.fromiter((_micros(p.last_verified_at) for p in self.places),
                                    np.int64, n)  # fmt: skip
        # Each place's opening hours as a number: a filter on hours is one lookup per place.
        ids: dict[str | None, int] = {}
        self.hours_ids = np.fromiter((ids.setdefault(p.opening_hours, len(ids))
                                      for p in self.places), np.intp, n)  # fmt: skip
        self.hours_texts: list[str | None] = list(ids)
        # Each place split around its distance_m, to put a request's metres in at little cost.
        at = Candidate._fields.index("distance_m")
        self._heads = [tuple(p[:at]) for p in self.places]
        self._tails = [tuple(p[at + 1 :]) for p in self.places]
        # Asking for every kind held, and no amenity, is no filter (unless a kind is unknown).
        self._all_kinds = int(np.bitwise_or.reduce(self.kind_bits)) if n else 0
        self._kinds_known = bool(np.all(self.kind_bits != 0))
        xy = np.column_stack([self.lon, self.lat])
        self._tree = cKDTree(xy) if n else None
        self._nearest = KDTree(xy) if n else None

    def __len__(self) -> int:
        return len(self.places)

    def _matches(self, found: NDArray[np.intp], kinds: int, needs: int,
                 hours: HoursFilter | None = None) -> NDArray[np.bool_]:  # fmt: skip
        """Which of ``found`` are of one of ``kinds``, have every amenity of ``needs`` and
        hours that ``hours`` keeps."""
        ok: NDArray[np.bool_] = (self.kind_bits[found] & kinds) != 0
        if needs:
            ok &= (self.amenity_bits[found] & needs) == needs
        if hours is not None:
            ok &= hours.keeps(self.hours_ids[found])
        return ok

    def _found(self, lon: float, lat: float, at: NDArray[np.intp]) -> Found:
        here_lon, here_lat = np.full(len(at), lon), np.full(len(at), lat)
        _, _, metres = WGS84.inv(here_lon, here_lat, self.lon[at], self.lat[at])
        return Found(at, np.asarray(metres, dtype=np.float64))

    def candidate(self, i: int, metres: float) -> Candidate:
        return Candidate._make(self._heads[i] + (metres,) + self._tails[i])

    def candidates(self, found: Found) -> list[Candidate]:
        """The places of ``found`` with their metres, in its order."""
        pairs = zip(found.at.tolist(), found.metres.tolist(), strict=True)
        return [self.candidate(i, m) for i, m in pairs]

    def ranked(self, found: Found, stale_at: datetime) -> Iterator[Candidate]:
        """``found`` in :func:`geo.locator.rules.locate`'s rank order (metres, times the penalty
        when verified at or before ``stale_at`` or never; then id), made only as they are asked
        for."""
        stale = self.verified[found.at] <= _micros(stale_at)
        key = found.metres * np.where(stale, STALE_PENALTY, 1.0)
        order = np.lexsort((self.ids[found.at], key))
        pairs = zip(found.at[order].tolist(), found.metres[order].tolist(), strict=True)
        return (self.candidate(i, m) for i, m in pairs)

    def shortlist(self, lon: float, lat: float, kinds: int, needs: int, reach: float,
                  count: int, hours: HoursFilter | None = None,
                  ) -> tuple[Found, list[float]]:  # fmt: skip
        """The ``count`` nearest matches by degrees within ``reach`` degrees, nearest first,
        and each one's degree distance. Fewer than ``count``: every match within ``reach``."""
        n = len(self.places)
        if self._nearest is None:
            return Found(np.empty(0, np.intp), np.empty(0)), []
        asked = min(n, count + count // 4 + 1)
        unfiltered = (not needs and hours is None and self._all_kinds & kinds == self._all_kinds
                      and self._kinds_known)  # fmt: skip
        here = np.array([[lon, lat]])
        while True:
            degrees, at = self._nearest.query(here, k=asked, distance_upper_bound=reach)
            degrees, at = degrees.reshape(-1), at.reshape(-1).astype(np.intp)
            missing = at[-1] >= n  # missing neighbours come last, as index n (distance inf)
            if missing:
                inside = at < n
                degrees, at = degrees[inside], at[inside]
            exhausted = missing or asked == n
            if unfiltered:
                break
            ok = self._matches(at, kinds, needs, hours)
            at, degrees = at[ok], degrees[ok]
            if len(at) >= count or exhausted:
                break
            asked = min(n, asked * 4)  # filters rejected too many: look further
        at, degrees = at[:count], degrees[:count]
        return self._found(lon, lat, at), degrees.tolist()

    def within(self, lon: float, lat: float, kinds: int, needs: int, reach: float,
               metres: float, limit: int, hours: HoursFilter | None = None,
               ) -> Found:  # fmt: skip
        """Every match within ``metres`` (``reach`` degrees covers them), nearest metres first
        with ties by id, at most ``limit``."""
        if self._tree is None:
            return Found(np.empty(0, np.intp), np.empty(0))
        at = np.asarray(self._tree.query_ball_point((lon, lat), reach), dtype=np.intp)
        found = self._found(lon, lat, at[self._matches(at, kinds, needs, hours)])
        near = found.metres <= metres
        at, distance = found.at[near], found.metres[near]
        order = np.lexsort((self.ids[at], distance))[:limit]
        return Found(at[order], distance[order])


class HoursFilter:
    """Which of an index's opening hours a predicate keeps, asked once per distinct hours text
    and only of the texts a search meets: an index may hold thousands of them, a search near
    one point a few."""

    def __init__(self, index: PlaceIndex, keep: Callable[[str | None], bool]) -> None:
        self._texts = index.hours_texts
        self._keep = keep
        self._asked = np.zeros(len(self._texts), np.bool_)
        self._kept = np.zeros(len(self._texts), np.bool_)
        self._all_asked = not self._texts

    def keeps(self, hours_ids: NDArray[np.intp]) -> NDArray[np.bool_]:
        """For each hours number, whether the predicate keeps it."""
        if not self._all_asked:
            new = hours_ids[~self._asked[hours_ids]]
            if new.size:
                for h in np.unique(new).tolist():
                    self._kept[h] = self._keep(self._texts[h])
                self._asked[new] = True
                self._all_asked = bool(self._asked.all())
        kept: NDArray[np.bool_] = self._kept[hours_ids]
        return kept

    def left_out(self, ask_all: bool) -> tuple[list[str], bool]:
        """The texts left out, and whether places without hours are: of every text when
        ``ask_all``, else of those asked so far (fewer left out is safe, only slower)."""
        if ask_all:
            self.keeps(np.arange(len(self._texts)))
        out = [self._texts[i] for i in np.flatnonzero(self._asked & ~self._kept).tolist()]
        return [t for t in out if t is not None], None in out
