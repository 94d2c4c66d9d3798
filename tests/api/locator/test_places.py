"""``/locate`` from the in-memory stations gives PostGIS's answer: the same places in the same
order with the same figures, for random points, filters, profiles, modes, radii and times.

The two paths are told apart by replacing :func:`api.locator.route.current_snapshot`: ``None``
sends a request to PostGIS, an index built from the test's own connection answers it in memory.
Metres come from two implementations of the same geodesic (PostGIS and pyproj, 1e-8 m apart),
so distances, walking minutes and arrivals are compared to their last printed digit.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.locator import route as locator
from api.locator.query import MAX_KM
from api.runtime.places import Snapshot, read_snapshot
from geo.locator.index import PlaceIndex
from geo.locator.search import SHORTLIST
from geo.vocab import Amenity, StationKind

pytestmark = pytest.mark.anyio
HOURS = [None, "24/7", "Mo-Fr 09:00-17:00", "Mo-Su 06:00-22:00", "Mo-Fr 08:00-20:00; PH off",
         "Sa-Su 10:00-16:00"]  # fmt: skip
MOMENTS = ["2026-11-25T10:30", "2026-11-25T03:00", "2026-10-03T12:00", "2026-11-28T16:50"]
# How to get in, with who may: walk-in, code locks, conditions and not recorded at all.
ACCESS = [([], None), (["open_door"], None), (["ring", "id_card"], None), (["member_qr"], None),
          (["face_registration"], "仅限已登记骑手"), (["open_door"], "仅限环卫工人")]  # fmt: skip


async def _seed(conn: Any, rng: random.Random, n: int) -> None:
    """``n`` open stations (and a few closed or deleted ones) around two dense spots."""
    now = datetime(2026, 11, 20, tzinfo=UTC)
    ways_in = random.Random(n)  # noqa: S311 (its own stream: the others' draws do not move)
    rows = []
    for i in range(n):
        centre = (116.30, 39.90) if i % 3 else (116.42, 39.95)
        lon = centre[0] + rng.gauss(0, 0.02)
        lat = centre[1] + rng.gauss(0, 0.015)
        amenities = sorted(rng.sample([a.value for a in Amenity], rng.randint(0, 5)))
        verified = rng.choice([None, now - timedelta(days=rng.randint(0, 400))])
        status = "open" if i % 17 else "closed"
        rows.append((f"x{i}", rng.choice(list(StationKind)).value, f"站{i}", status, amenities,
                     rng.choice(HOURS), verified, lon, lat, *ways_in.choice(ACCESS)))  # fmt: skip
    await conn.executemany(
        "INSERT INTO stations (source, external_id, kind, name, status, amenities, opening_hours,"
        " last_verified_at, geom, access, access_condition) VALUES ('diff', $1, $2, $3, $4, $5,"
        " $6, $7, ST_SetSRID(ST_MakePoint($8, $9), 4326), $10, $11)",
        rows,
    )
    await conn.execute(
        "UPDATE stations SET deleted_at = now() WHERE source = 'diff' AND id % 23 = 0"
    )


def _queries(rng: random.Random, count: int) -> list[str]:
    out = []
    walk_in = random.Random(count)  # noqa: S311 (its own stream, as in _seed)
    for _ in range(count):
        centre = rng.choice([(116.30, 39.90), (116.42, 39.95), (116.36, 39.92)])
        params = [f"lon={centre[0] + rng.uniform(-0.03, 0.03):.6f}",
                  f"lat={centre[1] + rng.uniform(-0.02, 0.02):.6f}",
                  f"k={rng.choice([1, 3, 5, 10, 20])}",
                  f"open={rng.choice(['any', 'now', 'arrival'])}",
                  f"at={rng.choice(MOMENTS)}",
                  f"max_km={rng.choice([0.3, 1, 2, 5, 20])}"]  # fmt: skip
        if rng.random() < 0.3:
            params += [f"need={a.value}" for a in rng.sample(list(Amenity), rng.randint(1, 2))]
        if rng.random() < 0.2:
            params.append(f"kind={rng.choice(list(StationKind)).value}")
        if rng.random() < 0.3:
            params.append(f"profile={rng.choice(['courier', 'sanitation', 'driver'])}")
        if rng.random() < 0.2:
            params.append(f"coords={rng.choice(['gcj02', 'bd09'])}")
        if walk_in.random() < 0.25:
            params.append("walk_in=true")
        out.append("&".join(params))
    return out


def _close(index_answer: Any, sql_answer: Any, where: str = "") -> None:
    """Equal JSON, numbers from metres to their printed precision."""
    if isinstance(sql_answer, dict):
        assert isinstance(index_answer, dict) and list(index_answer) == list(sql_answer), where
        for key, value in sql_answer.items():
            if key in ("distance_m", "walk_min", "nearest_m") and value is not None:
                assert index_answer[key] == pytest.approx(value, abs=0.1), f"{where}.{key}"
            elif key == "arrival":
                gap = datetime.fromisoformat(index_answer[key]) - datetime.fromisoformat(value)
                assert abs(gap) <= timedelta(microseconds=1), f"{where}.{key}"
            else:
                _close(index_answer[key], value, f"{where}.{key}")
    elif isinstance(sql_answer, list):
        assert isinstance(index_answer, list) and len(index_answer) == len(sql_answer), where
        for i, (a, b) in enumerate(zip(index_answer, sql_answer, strict=True)):
            _close(a, b, f"{where}[{i}]")
    else:
        assert index_answer == sql_answer, where


async def _snapshot_of(api_conn: Any) -> Snapshot:
    _, places = await read_snapshot(api_conn)
    assert places is not None
    return Snapshot(PlaceIndex(places))


def _answer_from(monkeypatch: Any, snapshot: Snapshot | None) -> None:
    """Requests take the in-memory path over ``snapshot``, or (``None``) the SQL path."""

    async def current(state: Any) -> Snapshot | None:
        return snapshot

    monkeypatch.setattr(locator, "current_snapshot", current)


async def test_the_index_answers_as_postgis_does(client, api_conn, monkeypatch):
    rng = random.Random(20261123)  # noqa: S311 (test data)
    await _seed(api_conn, rng, 1500)
    snapshot = await _snapshot_of(api_conn)
    queries = _queries(rng, 120)
    answers: dict[str, list[Any]] = {}
    for name, current in (("no_index", None), ("this_index", snapshot)):
        _answer_from(monkeypatch, current)
        answers[name] = []
        for query in queries:
            response = await client.get(f"/locate?{query}")
            assert response.status_code == 200, (query, response.text)
            answers[name].append(json.loads(response.content))
    for query, by_sql, by_index in zip(queries, answers["no_index"], answers["this_index"],
                                       strict=True):  # fmt: skip
        _close(by_index, by_sql, query)
    # The comparison saw every kind of answer: full lists, short ones, notices of each kind.
    results = [len(a["results"]) for a in answers["no_index"]]
    notices = {a["notice"]["code"] for a in answers["no_index"] if a["notice"]}
    assert max(results) == 20 and 0 in results and {"nothing_open", "nothing_within"} <= notices
    # "No registration needed" kept only walk-in places; other answers held every kind of door.
    walk_in = [p["walk_in"] for q, a in zip(queries, answers["no_index"], strict=True)
               if "walk_in=true" in q for p in a["results"]]  # fmt: skip
    others = {p["walk_in"] for q, a in zip(queries, answers["no_index"], strict=True)
              if "walk_in=true" not in q for p in a["results"]}  # fmt: skip
    assert walk_in and set(walk_in) == {True} and others == {True, False, None}


async def test_deleted_closed_and_other_kinds_never_come_from_the_index(api_conn):
    rng = random.Random(7)  # noqa: S311 (test data)
    await _seed(api_conn, rng, 200)
    _, places = await read_snapshot(api_conn)
    assert places is not None
    shown = {p.id for p in places}
    hidden = await api_conn.fetch(
        "SELECT id FROM stations WHERE status <> 'open' OR deleted_at IS NOT NULL"
    )
    assert hidden and not shown & {r["id"] for r in hidden}


async def test_a_snapshot_too_large_for_memory_is_not_read(api_conn):
    key, places = await read_snapshot(api_conn, max_places=1)
    assert places is None and len(key) == 2  # the versions are still known: no retry loop


NIGHT = "2026-11-25T03:00"  # a Wednesday night in Beijing
POINT = (116.40, 39.90)


async def _seed_night(conn: Any, rng: random.Random, open_ids: int,
                      closed: str | None = "Mo-Fr 09:00-17:00") -> list[int]:  # fmt: skip
    """260 places with ``closed`` hours within about 600 m of :data:`POINT` (more than
    :data:`api.locator.sql.SHORTLIST`), two without hours, and ``open_ids`` open 24/7 about
    2-3 km east; their ids, nearest first."""
    rows = [(f"day{i}", closed, POINT[0] + rng.gauss(0, 0.003),
             POINT[1] + rng.gauss(0, 0.003)) for i in range(260)]  # fmt: skip
    rows += [(f"none{i}", None, POINT[0] + 0.001 * i, POINT[1]) for i in range(2)]
    rows += [(f"always{i}", "24/7", POINT[0] + 0.024 + 0.006 * i, POINT[1])
             for i in range(open_ids)]  # fmt: skip
    await conn.executemany(
        "INSERT INTO stations (source, external_id, kind, name, status, opening_hours, geom)"
        " VALUES ('night', $1, 'rest_point', $1, 'open', $2, ST_SetSRID(ST_MakePoint($3, $4),"
        " 4326))",
        rows,
    )
    found = await conn.fetch(
        "SELECT id FROM stations WHERE external_id LIKE 'always%' ORDER BY external_id"
    )
    return [r["id"] for r in found]


async def _night_answers(client: Any, api_conn: Any, monkeypatch: Any, query: str) -> list[Any]:
    """The answer from memory, and from PostGIS told the hours by an older snapshot that holds
    only the night's places (the hours it does not know, the bundled stations', stay in)."""
    snapshot = await _snapshot_of(api_conn)
    older = Snapshot(PlaceIndex([p for p in snapshot.index.places
                                 if p.name.startswith(("day", "none", "al"))]))  # fmt: skip
    monkeypatch.setattr(locator, "_latest_snapshot", lambda state: older)
    answers = []
    for current in (snapshot, None):
        _answer_from(monkeypatch, current)
        response = await client.get(f"/locate?lon={POINT[0]}&lat={POINT[1]}&{query}")
        assert response.status_code == 200, response.text
        answers.append(json.loads(response.content))
    return answers


@pytest.mark.parametrize(
    ("mode", "closed"),
    [("arrival", "Mo-Fr 09:00-17:00"), ("now", "Mo-Fr 09:00-17:00"), ("arrival", None)],
)
async def test_at_night_open_places_past_many_closed_ones_are_found(
    client, api_conn, monkeypatch, mode, closed
):
    """More places within the radius than a search keeps are closed all night (or have no
    hours): neither path may stop at them (the SQL path used to answer "none open" here)."""
    always = await _seed_night(api_conn, random.Random(3), 3, closed)  # noqa: S311 (test data)
    query = f"k=3&open={mode}&at={NIGHT}&max_km=5"
    by_index, by_sql = await _night_answers(client, api_conn, monkeypatch, query)
    for answer in (by_index, by_sql):
        assert [r["id"] for r in answer["results"]] == always, answer["notice"]
        assert [r["open_on_arrival"]["is_open"] for r in answer["results"]] == [True] * 3
    _close(by_index, by_sql)
    if closed is None:
        return  # no hours: never open, by day either
    # By day the same query finds the near ones: the night answer is not the only one possible.
    by_day = f"k=3&open={mode}&at=2026-11-25T10:30&max_km=5"
    day_index, day_sql = await _night_answers(client, api_conn, monkeypatch, by_day)
    assert not {r["id"] for r in day_index["results"]} & set(always)
    _close(day_index, day_sql)


async def test_at_night_with_nothing_open_the_notice_still_counts_the_closed_places(
    client, api_conn, monkeypatch
):
    await _seed_night(api_conn, random.Random(4), 0)  # noqa: S311 (test data)
    by_index, by_sql = await _night_answers(client, api_conn, monkeypatch,
                                            f"k=3&open=arrival&at={NIGHT}&max_km=5")  # fmt: skip
    for answer in (by_index, by_sql):
        notice = answer["notice"]
        assert answer["results"] == [] and notice["code"] == "nothing_open", notice
        assert notice["message"].startswith(f"{SHORTLIST} matching places within 5 km")
        assert notice["next_open"].startswith("2026-11-25T09:00")
    _close(by_index, by_sql)


async def test_many_radii_share_a_few_hours_filters(client, api_conn, monkeypatch):
    """A filter costs ~10 us per distinct opening hours held: radii asked for (any float) map
    to a few spans, so a stream of odd radii cannot make every request build its own."""
    await _seed_night(api_conn, random.Random(5), 1)  # noqa: S311 (test data)
    snapshot = await _snapshot_of(api_conn)
    _answer_from(monkeypatch, snapshot)
    radii = [round(0.1 + 0.37 * i, 2) for i in range(54)]  # 0.1 .. 19.71 km
    for max_km in radii:
        response = await client.get(f"/locate?lon={POINT[0]}&lat={POINT[1]}&k=3"
                                    f"&open=arrival&at={NIGHT}&max_km={max_km}")  # fmt: skip
        assert response.status_code == 200
    longest = locator.walking_minutes(MAX_KM * 1000)
    assert (
        1 < len(snapshot.hours_filters) <= math.ceil(longest / locator._SPAN_STEP_MIN) < len(radii)
    )
