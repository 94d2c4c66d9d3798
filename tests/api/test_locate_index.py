"""``/locate`` from the in-memory stations gives PostGIS's answer: the same places in the same
order with the same figures, for random points, filters, profiles, modes, radii and times.

The two paths are told apart by replacing :func:`api.locator.current_snapshot`: ``None`` sends a
request to PostGIS, an index built from the test's own connection answers it in memory.
Metres come from two implementations of the same geodesic (PostGIS and pyproj, 1e-8 m apart),
so distances, walking minutes and arrivals are compared to their last printed digit.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api import locator
from api.locator_places import Snapshot, read_snapshot
from geo.locator_index import PlaceIndex
from geo.vocab import Amenity, StationKind

pytestmark = pytest.mark.anyio
HOURS = [None, "24/7", "Mo-Fr 09:00-17:00", "Mo-Su 06:00-22:00", "Mo-Fr 08:00-20:00; PH off",
         "Sa-Su 10:00-16:00"]  # fmt: skip
MOMENTS = ["2026-11-25T10:30", "2026-11-25T03:00", "2026-10-03T12:00", "2026-11-28T16:50"]


async def _seed(conn: Any, rng: random.Random, n: int) -> None:
    """``n`` open stations (and a few closed or deleted ones) around two dense spots."""
    now = datetime(2026, 11, 20, tzinfo=UTC)
    rows = []
    for i in range(n):
        centre = (116.30, 39.90) if i % 3 else (116.42, 39.95)
        lon = centre[0] + rng.gauss(0, 0.02)
        lat = centre[1] + rng.gauss(0, 0.015)
        amenities = sorted(rng.sample([a.value for a in Amenity], rng.randint(0, 5)))
        verified = rng.choice([None, now - timedelta(days=rng.randint(0, 400))])
        status = "open" if i % 17 else "closed"
        rows.append((f"x{i}", rng.choice(list(StationKind)).value, f"站{i}", status, amenities,
                     rng.choice(HOURS), verified, lon, lat))  # fmt: skip
    await conn.executemany(
        "INSERT INTO stations (source, external_id, kind, name, status, amenities, opening_hours,"
        " last_verified_at, geom) VALUES ('diff', $1, $2, $3, $4, $5, $6, $7,"
        " ST_SetSRID(ST_MakePoint($8, $9), 4326))",
        rows,
    )
    await conn.execute(
        "UPDATE stations SET deleted_at = now() WHERE source = 'diff' AND id % 23 = 0"
    )


def _queries(rng: random.Random, count: int) -> list[str]:
    out = []
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


async def test_the_index_answers_as_postgis_does(client, api_conn, monkeypatch):
    rng = random.Random(20261123)  # noqa: S311 (test data)
    await _seed(api_conn, rng, 1500)
    _, places = await read_snapshot(api_conn)
    assert places is not None
    snapshot = Snapshot(PlaceIndex(places))
    queries = _queries(rng, 120)

    async def no_index(state: Any) -> None:
        return None

    async def this_index(state: Any) -> Snapshot:
        return snapshot

    answers: dict[str, list[Any]] = {}
    for current in (no_index, this_index):
        monkeypatch.setattr(locator, "current_snapshot", current)
        answers[current.__name__] = []
        for query in queries:
            response = await client.get(f"/locate?{query}")
            assert response.status_code == 200, (query, response.text)
            answers[current.__name__].append(json.loads(response.content))
    for query, by_sql, by_index in zip(queries, answers["no_index"], answers["this_index"],
                                       strict=True):  # fmt: skip
        _close(by_index, by_sql, query)
    # The comparison saw every kind of answer: full lists, short ones, notices of each kind.
    results = [len(a["results"]) for a in answers["no_index"]]
    notices = {a["notice"]["code"] for a in answers["no_index"] if a["notice"]}
    assert max(results) == 20 and 0 in results and {"nothing_open", "nothing_within"} <= notices


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
