"""The in-memory locator index answers PostGIS's two questions (pure, no database).

Every answer is checked against brute force over all places: degree distances with
``np.hypot`` (as ``<->`` measures them), metres from pyproj's WGS-84 geodesic (as geography
does), filters as ``kind = ANY(kinds) AND amenities @> needs``, and locate()'s rank rule.

Longer than ~400 lines: one module's tests, with the brute-force reference they share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from numpy.typing import NDArray
from pyproj import Geod

from geo.hours import ChinaCalendar, open_state
from geo.locator.index import (
    Found,
    HoursFilter,
    PlaceIndex,
    amenity_mask,
    box_reach,
    kind_mask,
)
from geo.locator.rules import STALE_PENALTY, Candidate, OpenMode, locate, may_be_open, stale_from
from geo.locator.search import KNN_SHORTLIST, SHORTLIST, envelope
from geo.standards import BEIJING
from geo.vocab import Amenity, StationKind

GEOD = Geod(ellps="WGS84")
Keep = Callable[[str | None], bool]  # which opening hours a filter keeps
CAL = ChinaCalendar()
AT = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)  # Wednesday 10:30 in Beijing
AT_NIGHT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # Wednesday 23:00 in Beijing
STALE_AT = stale_from(AT)
UNKNOWN_AMENITY = "massage_chair"  # stored, but outside the vocabulary: ignored
HOURS = ("24/7", "Mo-Fr 09:00-17:00", "Mo-Sa 10:00-10:45", None)
ALL_KINDS = tuple(k.value for k in StationKind)
# Counselling points are rare, so filtering on them makes the index ask the tree for more.
KIND_WEIGHTS = {
    StationKind.SERVICE_CENTRE: 0.08,
    StationKind.SUBDISTRICT_STATION: 0.1,
    StationKind.COMMUNITY_UNION: 0.1,
    StationKind.ENTERPRISE_CENTRE: 0.1,
    StationKind.REST_POINT: 0.35,
    StationKind.WATER_POINT: 0.2,
    StationKind.SANITATION_CARE_POINT: 0.06,
    StationKind.COUNSELLING_POINT: 0.01,
}
SHORTLIST_METRES = [2500.0, 6000.0]
POINTS = [(116.4, 39.9), (116.25, 39.8), (116.58, 40.04), (116.3317, 39.9712), (116.65, 39.9)]
FILTERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "all kinds": (ALL_KINDS, ()),
    "one kind": ((StationKind.REST_POINT.value,), ()),
    "two needs": (ALL_KINDS, (Amenity.HOT_WATER.value, Amenity.TOILET.value)),
    "kinds and needs": (
        (StationKind.WATER_POINT.value, StationKind.SUBDISTRICT_STATION.value),
        (Amenity.MICROWAVE.value, Amenity.PHONE_CHARGING.value),
    ),
}


def random_places(n: int = 2000, seed: int = 20261118) -> list[Candidate]:
    """Places around Beijing with shuffled ids (not in index order), random everything."""
    rng = np.random.default_rng(seed)
    lons = rng.uniform(116.2, 116.6, n)
    lats = rng.uniform(39.75, 40.05, n)
    ids = rng.permutation(n) * 7 + 3
    kinds = rng.choice(list(KIND_WEIGHTS), size=n, p=list(KIND_WEIGHTS.values()))
    places = []
    for i in range(n):
        amenities = [a.value for a in Amenity if rng.random() < 0.35]
        if rng.random() < 0.3:
            amenities.insert(int(rng.integers(len(amenities) + 1)), UNKNOWN_AMENITY)
        age = rng.random()
        verified: datetime | None = None
        if age >= 0.2:  # 20 % never verified, then old (stale) or recent
            days = rng.uniform(182, 900) if age < 0.55 else rng.uniform(0, 179)
            verified = AT - timedelta(days=float(days))
        places.append(Candidate(
            id=int(ids[i]), name=f"place {ids[i]}", kind=str(kinds[i]), lon=float(lons[i]),
            lat=float(lats[i]), distance_m=-1.0, amenities=amenities,
            opening_hours=HOURS[int(rng.integers(len(HOURS)))], last_verified_at=verified,
        ))  # fmt: skip
    return places


@dataclass
class Brute:
    """The same questions answered by looking at every place."""

    places: Sequence[Candidate]

    def __post_init__(self) -> None:
        self.lon = np.array([p.lon for p in self.places])
        self.lat = np.array([p.lat for p in self.places])
        self.ids = np.array([p.id for p in self.places])

    def matches(self, kinds: Sequence[str], needs: Sequence[str],
                hours: Keep | None = None) -> NDArray[np.bool_]:  # fmt: skip
        return np.array([p.kind in kinds and set(needs) <= set(p.amenities)
                         and (hours is None or hours(p.opening_hours))
                         for p in self.places], dtype=bool)  # fmt: skip

    def degrees(self, lon: float, lat: float) -> NDArray[np.float64]:
        return np.hypot(self.lon - lon, self.lat - lat)

    def metres(self, lon: float, lat: float) -> NDArray[np.float64]:
        n = len(self.places)
        _, _, m = GEOD.inv(np.full(n, lon), np.full(n, lat), self.lon, self.lat)
        return np.asarray(m, dtype=np.float64)

    def shortlist(self, lon: float, lat: float, kinds: Sequence[str], needs: Sequence[str],
                  reach: float, count: int, hours: Keep | None = None,
                  ) -> tuple[list[int], NDArray[np.float64]]:  # fmt: skip
        degrees = self.degrees(lon, lat)
        at = np.flatnonzero(self.matches(kinds, needs, hours) & (degrees < reach))
        at = at[np.argsort(degrees[at], kind="stable")][:count]
        return self.ids[at].tolist(), degrees[at]

    def within(self, lon: float, lat: float, kinds: Sequence[str], needs: Sequence[str],
               metres: float, hours: Keep | None = None,
               ) -> tuple[list[int], NDArray[np.float64]]:  # fmt: skip
        """Every match within ``metres`` (of all places, not only those within some reach)."""
        distance = self.metres(lon, lat)
        at = np.flatnonzero(self.matches(kinds, needs, hours) & (distance <= metres))
        at = at[np.lexsort((self.ids[at], distance[at]))]
        return self.ids[at].tolist(), distance[at]


@pytest.fixture(scope="module")
def places() -> list[Candidate]:
    return random_places()


@pytest.fixture(scope="module")
def index(places: list[Candidate]) -> PlaceIndex:
    return PlaceIndex(places)


@pytest.fixture(scope="module")
def brute(places: list[Candidate]) -> Brute:
    return Brute(places)


def ids_of(index: PlaceIndex, found: Found) -> list[int]:
    return [int(i) for i in index.ids[found.at]]


def is_stale(c: Candidate, stale_at: datetime) -> bool:
    return c.last_verified_at is None or c.last_verified_at <= stale_at


def rank_rule(stale_at: datetime) -> Callable[[Candidate], tuple[float, int]]:
    """locate()'s order, written out again: metres (× the penalty when stale), then id."""

    def key(c: Candidate) -> tuple[float, int]:
        return c.distance_m * (STALE_PENALTY if is_stale(c, stale_at) else 1.0), c.id

    return key


def assert_true_metres(index: PlaceIndex, found: Found, lon: float, lat: float) -> None:
    n = len(found.at)
    _, _, metres = GEOD.inv(np.full(n, lon), np.full(n, lat), index.lon[found.at],
                            index.lat[found.at])  # fmt: skip
    np.testing.assert_allclose(found.metres, metres, rtol=0, atol=1e-6)
    assert [c.distance_m for c in index.candidates(found)] == found.metres.tolist()


def test_the_random_places_exercise_every_filter(brute):
    """Preconditions of the tests below: every filter has matches and rejects places."""
    for name, (kinds, needs) in FILTERS.items():
        ok = brute.matches(kinds, needs)
        assert 50 < ok.sum() < len(ok) or name == "all kinds"
    assert any(UNKNOWN_AMENITY in p.amenities for p in brute.places)
    assert brute.matches(ALL_KINDS, ()).all()


def test_masks_ignore_unknown_amenities_and_repeats():
    assert amenity_mask([UNKNOWN_AMENITY]) == 0
    assert amenity_mask(["hot_water", UNKNOWN_AMENITY]) == amenity_mask(["hot_water"]) != 0
    assert amenity_mask(["toilet", "toilet"]) == amenity_mask(["toilet"])
    assert kind_mask(["rest_point", "rest_point"]) == kind_mask(["rest_point"])
    assert kind_mask(ALL_KINDS) == sum(kind_mask([k]) for k in ALL_KINDS)
    assert len({kind_mask([k]) for k in ALL_KINDS}) == len(ALL_KINDS)
    assert len({amenity_mask([a]) for a in Amenity}) == len(Amenity)


@pytest.mark.parametrize("filter_name", list(FILTERS))
@pytest.mark.parametrize(("lon", "lat"), POINTS)
@pytest.mark.parametrize("metres", SHORTLIST_METRES)
def test_shortlist_is_the_nearest_matches_by_degrees(index, brute, lon, lat, filter_name,
                                                     metres):  # fmt: skip
    kinds, needs = FILTERS[filter_name]
    reach = box_reach(lon, lat, envelope(lon, lat, metres))
    found, degrees = index.shortlist(lon, lat, kind_mask(kinds), amenity_mask(needs), reach,
                                     KNN_SHORTLIST)  # fmt: skip
    want_ids, want_degrees = brute.shortlist(lon, lat, kinds, needs, reach, KNN_SHORTLIST)
    assert ids_of(index, found) == want_ids
    assert len(degrees) == len(found.at) == len(found.metres) == len(want_ids)
    np.testing.assert_allclose(degrees, want_degrees, rtol=0, atol=1e-12)
    assert degrees == sorted(degrees)
    assert all(p.kind in kinds and set(needs) <= set(p.amenities)
               for p in index.candidates(found))  # fmt: skip
    assert_true_metres(index, found, lon, lat)


@pytest.mark.parametrize("kinds", [ALL_KINDS, (StationKind.REST_POINT.value,)])
def test_shortlist_never_matches_a_kind_outside_the_vocabulary(places, kinds):
    """Nearest of all, on an index of rest points with and without a place whose stored kind
    is unknown: that place matches no kind asked for, as ``kind = ANY(kinds)`` says, even when
    every kind is."""
    rest = [p for p in places if p.kind == StationKind.REST_POINT.value]
    odd = rest[0]._replace(id=1, kind="tea_house", lon=116.4, lat=39.9)
    for held in (rest, [odd, *rest]):
        index, brute = PlaceIndex(held), Brute(held)
        reach = box_reach(116.4, 39.9, envelope(116.4, 39.9, 6000.0))
        found, _ = index.shortlist(116.4, 39.9, kind_mask(kinds), 0, reach, KNN_SHORTLIST)
        want, _ = brute.shortlist(116.4, 39.9, kinds, (), reach, KNN_SHORTLIST)
        assert ids_of(index, found) == want and len(want) == KNN_SHORTLIST
        assert 1 not in want


def test_shortlist_cases_include_empty_short_and_full_lists(brute):
    """Preconditions: the parametrised shortlist cases above are not all alike."""
    sizes = []
    for lon, lat in POINTS:
        for kinds, needs in FILTERS.values():
            for metres in SHORTLIST_METRES:
                reach = box_reach(lon, lat, envelope(lon, lat, metres))
                n = len(brute.shortlist(lon, lat, kinds, needs, reach, KNN_SHORTLIST)[0])
                sizes.append("empty" if n == 0 else "full" if n == KNN_SHORTLIST else "short")
    assert set(sizes) == {"empty", "short", "full"}
    assert sizes.count("full") >= len(sizes) // 4


@pytest.mark.parametrize(("kinds", "needs", "count", "grows_past"), [
    ((StationKind.COUNSELLING_POINT.value,), (), 5, 64),
    ((StationKind.COUNSELLING_POINT.value,), (), 12, 256),
    ((StationKind.SANITATION_CARE_POINT.value,),
     (Amenity.HEATING.value, Amenity.WIFI.value, Amenity.BOOKS.value), 3, 256),
    ((StationKind.COUNSELLING_POINT.value,), (Amenity.FRIDGE.value,), 40, 2000),  # all of them
])  # fmt: skip
def test_shortlist_of_a_rare_filter_looks_past_the_first_neighbours(index, brute, kinds, needs,
                                                                    count, grows_past):  # fmt: skip
    lon, lat = 116.4, 39.9
    reach = 1.0  # the whole cloud
    degrees_all = brute.degrees(lon, lat)
    nearest = np.argsort(degrees_all)
    ok = brute.matches(kinds, needs)
    # Precondition: the first `grows_past` neighbours hold fewer than `count` matches.
    assert ok[nearest[:grows_past]].sum() < count
    found, degrees = index.shortlist(lon, lat, kind_mask(kinds), amenity_mask(needs), reach,
                                     count)  # fmt: skip
    want_ids, want_degrees = brute.shortlist(lon, lat, kinds, needs, reach, count)
    assert len(want_ids) == min(count, int(ok.sum()))
    assert ids_of(index, found) == want_ids
    np.testing.assert_allclose(degrees, want_degrees, rtol=0, atol=1e-12)
    assert_true_metres(index, found, lon, lat)


@pytest.mark.parametrize("reach", [0.0125, 0.02, 0.03, 1e-7])
def test_shortlist_short_of_count_is_every_match_within_reach(index, brute, reach):
    lon, lat = 116.4, 39.9
    kinds, needs = FILTERS["one kind"]
    found, degrees = index.shortlist(lon, lat, kind_mask(kinds), amenity_mask(needs), reach,
                                     KNN_SHORTLIST)  # fmt: skip
    inside = brute.matches(kinds, needs) & (brute.degrees(lon, lat) < reach)
    assert inside.sum() < KNN_SHORTLIST  # precondition: reach cuts the list short
    want_ids, want_degrees = brute.shortlist(lon, lat, kinds, needs, reach, KNN_SHORTLIST)
    assert sorted(ids_of(index, found)) == sorted(brute.ids[inside].tolist())
    assert ids_of(index, found) == want_ids
    np.testing.assert_allclose(degrees, want_degrees, rtol=0, atol=1e-12)
    assert all(d < reach for d in degrees)
    assert len(degrees) > 0 or reach < 1e-3  # not trivially empty


def test_shortlist_with_count_beyond_the_index_returns_every_match(index, brute):
    lon, lat = 116.41, 39.91
    kinds, needs = FILTERS["one kind"]
    found, degrees = index.shortlist(lon, lat, kind_mask(kinds), amenity_mask(needs), 5.0,
                                     len(index) + 10)  # fmt: skip
    ok = brute.matches(kinds, needs)
    assert len(found.at) == ok.sum()
    assert sorted(ids_of(index, found)) == sorted(brute.ids[ok].tolist())
    assert degrees == sorted(degrees)


@pytest.mark.parametrize("filter_name", list(FILTERS))
@pytest.mark.parametrize(("lon", "lat"), POINTS)
@pytest.mark.parametrize("metres", [600.0, 2500.0, 6000.0])
def test_within_is_every_match_in_metres_nearest_first(index, brute, lon, lat, filter_name,
                                                       metres):  # fmt: skip
    kinds, needs = FILTERS[filter_name]
    reach = box_reach(lon, lat, envelope(lon, lat, metres))
    want_ids, want_metres = brute.within(lon, lat, kinds, needs, metres)
    found = index.within(lon, lat, kind_mask(kinds), amenity_mask(needs), reach, metres,
                         SHORTLIST)  # fmt: skip
    assert ids_of(index, found) == want_ids[:SHORTLIST]
    np.testing.assert_allclose(found.metres, want_metres[:SHORTLIST], rtol=0, atol=1e-6)
    assert (found.metres <= metres).all()
    assert_true_metres(index, found, lon, lat)


def test_within_cases_include_empty_full_and_truncated_answers(brute):
    """Preconditions: the within cases above are not all alike."""
    sizes = set()
    for lon, lat in POINTS:
        for kinds, needs in FILTERS.values():
            for metres in (600.0, 2500.0, 6000.0):
                n = len(brute.within(lon, lat, kinds, needs, metres)[0])
                sizes.add("empty" if n == 0 else "over" if n > SHORTLIST else "some")
    assert sizes == {"empty", "some", "over"}


@pytest.mark.parametrize("limit", [1, 7, 50])
def test_within_truncates_at_limit_keeping_the_nearest(index, brute, limit):
    lon, lat, metres = 116.45, 39.92, 5000.0
    kinds, needs = FILTERS["one kind"]
    reach = box_reach(lon, lat, envelope(lon, lat, metres))
    want_ids, want_metres = brute.within(lon, lat, kinds, needs, metres)
    assert len(want_ids) > limit  # precondition: the limit cuts
    found = index.within(lon, lat, kind_mask(kinds), amenity_mask(needs), reach, metres, limit)
    assert ids_of(index, found) == want_ids[:limit]
    np.testing.assert_allclose(found.metres, want_metres[:limit], rtol=0, atol=1e-6)


def test_within_breaks_metre_ties_by_id_and_keeps_the_boundary():
    lon, lat = 116.4, 39.9
    spot = (116.401, 39.9005)
    _, _, edge = GEOD.inv(lon, lat, *spot)
    twins = [Candidate(i, f"twin {i}", "rest_point", *spot, 0.0, ["toilet"], "24/7", AT)
             for i in (30, 10, 20)]  # fmt: skip
    beyond = Candidate(5, "beyond", "rest_point", 116.4011, 39.9005, 0.0, ["toilet"], None, AT)
    index = PlaceIndex([*twins, beyond])
    reach = box_reach(lon, lat, envelope(lon, lat, edge))
    found = index.within(lon, lat, kind_mask(["rest_point"]), 0, reach, edge, 10)
    assert ids_of(index, found) == [10, 20, 30]  # exactly `edge` metres away: included
    assert found.metres.tolist() == [edge] * 3
    assert ids_of(index, index.within(lon, lat, kind_mask(["rest_point"]), 0, reach, edge, 2)) \
        == [10, 20]  # fmt: skip
    assert [c.id for c in index.ranked(found, STALE_AT)] == [10, 20, 30]


def found_cases(index: PlaceIndex) -> list[tuple[str, Found]]:
    lon, lat = 116.38, 39.93
    kinds, needs = FILTERS["all kinds"]
    reach = box_reach(lon, lat, envelope(lon, lat, 4000.0))
    short, _ = index.shortlist(lon, lat, kind_mask(kinds), amenity_mask(needs), reach,
                               KNN_SHORTLIST)  # fmt: skip
    near = index.within(lon, lat, kind_mask(kinds), amenity_mask(needs), reach, 4000.0, SHORTLIST)
    return [("shortlist", short), ("within", near)]


@pytest.mark.parametrize("stale_at", [STALE_AT, stale_from(AT + timedelta(days=90))])
def test_ranked_is_locates_order(index, stale_at):
    for name, found in found_cases(index):
        ranked = list(index.ranked(found, stale_at))
        want = sorted(index.candidates(found), key=rank_rule(stale_at))
        assert ranked == want, name
        by_metres = sorted(index.candidates(found), key=lambda c: (c.distance_m, c.id))
        assert ranked != by_metres, f"{name}: staleness reorders nothing, the test is weak"
        assert sorted(ranked) == sorted(index.candidates(found))


@pytest.mark.parametrize("at", [AT, AT_NIGHT])
@pytest.mark.parametrize("mode", [OpenMode.ANY, OpenMode.ARRIVAL])
@pytest.mark.parametrize("k", [5, 10])
def test_locate_over_ranked_equals_locate_over_candidates(index, at, mode, k):
    for name, found in found_cases(index):
        fast = locate(index.ranked(found, stale_from(at)), at=at, mode=mode, k=k,
                      calendar=CAL, ranked=True)  # fmt: skip
        slow = locate(index.candidates(found), at=at, mode=mode, k=k, calendar=CAL)
        assert fast == slow, name
        assert len(fast) == k, name  # precondition: enough places open to fill the answer
        if mode is OpenMode.ARRIVAL:
            assert all(f.state_on_arrival and f.state_on_arrival.is_open for f in fast)


def test_empty_index_answers_nothing():
    index = PlaceIndex([])
    assert len(index) == 0
    found, degrees = index.shortlist(116.4, 39.9, kind_mask(ALL_KINDS), 0, 1.0, KNN_SHORTLIST)
    assert (len(found.at), len(found.metres), degrees) == (0, 0, [])
    near = index.within(116.4, 39.9, kind_mask(ALL_KINDS), 0, 1.0, 5000.0, SHORTLIST)
    assert (len(near.at), len(near.metres)) == (0, 0)
    assert index.candidates(near) == []
    assert list(index.ranked(near, STALE_AT)) == []
    assert locate(index.ranked(near, STALE_AT), at=AT, mode=OpenMode.ANY, k=5, calendar=CAL,
                  ranked=True) == []  # fmt: skip


@pytest.mark.parametrize(("verified", "stale"), [
    (STALE_AT, True),
    (STALE_AT.astimezone(BEIJING), True),  # the same instant in Beijing time
    (STALE_AT + timedelta(microseconds=1), False),
    ((STALE_AT + timedelta(microseconds=1)).astimezone(BEIJING), False),
    (None, True),
])  # fmt: skip
def test_verified_exactly_at_stale_at_is_stale(verified, stale):
    lon, lat = 116.4, 39.9
    a = Candidate(2, "a", "rest_point", 116.4012, 39.9, 0.0, [], "24/7", verified)
    b = Candidate(1, "b", "rest_point", 116.4014, 39.9, 0.0, [], "24/7", AT - timedelta(days=1))
    index = PlaceIndex([a, b])
    found = index.within(lon, lat, kind_mask(ALL_KINDS), 0, 0.01, 500.0, 10)
    m = dict(zip(ids_of(index, found), found.metres.tolist(), strict=True))
    assert m[2] < m[1] < m[2] * STALE_PENALTY  # precondition: a is nearer unless stale
    ranked = [c.id for c in index.ranked(found, STALE_AT)]
    assert ranked == ([1, 2] if stale else [2, 1])
    answer = locate(index.candidates(found), at=AT, mode=OpenMode.ANY, k=2, calendar=CAL)
    assert [f.candidate.id for f in answer] == ranked
    assert {f.candidate.id: f.stale for f in answer}[2] is stale


# --- leaving out places by their opening hours ------------------------------------------------

HOURS_KEPT: dict[str, Keep] = {
    "24/7 only": lambda h: h == "24/7",
    "all but no hours": lambda h: h is not None,
    "none": lambda h: False,
}


@pytest.mark.parametrize("kept", list(HOURS_KEPT))
@pytest.mark.parametrize(("lon", "lat"), POINTS[:3])
@pytest.mark.parametrize("filter_name", ["all kinds", "two needs"])
def test_an_hours_filter_leaves_out_exactly_the_hours_it_drops(index, brute, kept, lon, lat,
                                                               filter_name):  # fmt: skip
    keep = HOURS_KEPT[kept]
    kinds, needs = FILTERS[filter_name]
    hours = HoursFilter(index, keep)
    reach = box_reach(lon, lat, envelope(lon, lat, 6000.0))
    found, degrees = index.shortlist(lon, lat, kind_mask(kinds), amenity_mask(needs), reach,
                                     KNN_SHORTLIST, hours)  # fmt: skip
    want_ids, want_degrees = brute.shortlist(lon, lat, kinds, needs, reach, KNN_SHORTLIST, keep)
    assert ids_of(index, found) == want_ids
    np.testing.assert_allclose(degrees, want_degrees, rtol=0, atol=1e-12)
    within = index.within(lon, lat, kind_mask(kinds), amenity_mask(needs), reach, 6000.0,
                          SHORTLIST, hours)  # fmt: skip
    want_ids, want_metres = brute.within(lon, lat, kinds, needs, 6000.0, keep)
    assert ids_of(index, within) == want_ids[:SHORTLIST]
    np.testing.assert_allclose(within.metres, want_metres[:SHORTLIST], rtol=0, atol=1e-6)
    assert all(keep(c.opening_hours) for c in index.candidates(found))
    if kept == "none":
        assert want_ids == [] and len(found.at) == 0
    else:  # precondition: the filter left places to find, and left some out
        unfiltered = brute.shortlist(lon, lat, kinds, needs, reach, KNN_SHORTLIST)[0]
        assert want_ids and want_ids != unfiltered[: len(want_ids)]


def test_an_hours_filter_asks_only_the_hours_it_meets_and_each_once(places):
    """An index may hold thousands of different hours: a search near one point asks about the
    few it meets, and a text asked once is not asked again."""
    many = [p._replace(opening_hours=f"Mo-Su 08:{i % 60:02d}-20:00") for i, p in
            enumerate(places[:600])]  # fmt: skip
    index = PlaceIndex(many)
    asked: list[str | None] = []

    def kept(hours: str | None) -> bool:
        return hours is not None and hours.endswith(("0-20:00", "5-20:00"))

    def keep(hours: str | None) -> bool:
        asked.append(hours)
        return kept(hours)

    hours = HoursFilter(index, keep)
    reach = box_reach(116.4, 39.9, envelope(116.4, 39.9, 3000.0))
    found, _ = index.shortlist(116.4, 39.9, kind_mask(ALL_KINDS), 0, reach, 5, hours)
    assert 0 < len(set(asked)) == len(asked) < len(index.hours_texts) == 60
    assert found.at.size and all(kept(c.opening_hours) for c in index.candidates(found))
    before = len(asked)
    index.shortlist(116.4, 39.9, kind_mask(ALL_KINDS), 0, reach, 5, hours)  # the same again
    assert len(asked) == before
    texts, none = hours.left_out(ask_all=False)  # only what was asked
    assert set(texts) == {h for h in asked if h and not kept(h)} and none is False
    texts, none = hours.left_out(ask_all=True)
    assert len(set(asked)) == len(asked) == 60 and len(texts) == 60 - 12 and none is False


MAY_BE_OPEN_HOURS = ["24/7", "Mo-Fr 09:00-17:00", "Mo-Sa 10:00-10:45",
                     "Mo-Fr 08:00-20:00; PH off", "Sa-Su 06:30-07:00", "Mo-Su 23:50-24:00",
                     "not hours at all", "  ", None]  # fmt: skip
MAY_BE_OPEN_SINCE = [
    datetime(2026, 11, 18, 3, 0, tzinfo=BEIJING),  # Wednesday night
    datetime(2026, 11, 18, 8, 5, tzinfo=BEIJING),  # an hour before a 09:00 opening
    datetime(2026, 11, 18, 8, 30, tzinfo=BEIJING),  # 30 minutes on: opens on the span's end
    datetime(2026, 11, 18, 16, 50, tzinfo=BEIJING),  # closing within the span
    datetime(2026, 11, 21, 5, 59, tzinfo=BEIJING),  # Saturday, before 06:30
    datetime(2026, 10, 1, 7, 30, tzinfo=BEIJING),  # National Day: a public holiday
    datetime(2026, 11, 18, 23, 0, tzinfo=BEIJING),  # a span past midnight
]


@pytest.mark.parametrize("hours", MAY_BE_OPEN_HOURS)
@pytest.mark.parametrize("since", MAY_BE_OPEN_SINCE)
@pytest.mark.parametrize("span_min", [0, 30, 81])
def test_may_be_open_is_open_at_some_minute_of_the_span(hours, since, span_min):
    """Against every minute from ``since`` to ``until`` (hours change on whole minutes); hours
    that do not parse are kept, as locate() decides about them itself."""
    until = since + timedelta(minutes=span_min)
    got = may_be_open(hours, since, until, CAL)
    if hours is None or not hours.strip():
        assert got is False
        return
    try:
        minutes = [open_state(hours, since + timedelta(minutes=m), CAL).is_open
                   for m in range(span_min + 1)]  # fmt: skip
    except ValueError:
        assert got is True
        return
    assert got == any(minutes), [since + timedelta(minutes=m) for m, o in enumerate(minutes) if o]


def test_may_be_open_cases_include_both_answers():
    """Precondition: the cases above are not all one answer."""
    answers = {may_be_open(h, s, s + timedelta(minutes=30), CAL)
               for h in MAY_BE_OPEN_HOURS[:6] for s in MAY_BE_OPEN_SINCE}  # fmt: skip
    assert answers == {True, False}
