"""The API benchmark's data and requests: 20,000 seeded stations over a Beijing-sized area.

Stations are denser in the centre (a wide Gaussian around 天安门, smaller ones around the
new towns) over a uniform floor on lon 115.7–117.4, lat 39.4–41.0, with a realistic mix of
kinds, statuses, amenities and opening hours. The 343 real subdistrict boundaries come from
``../shared`` (read in place) through our own importer. Query points, bboxes and tiles are drawn
from the same seeded generator, so every server gets the same requests.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg

from geo.importers.files import ImportKind, import_file
from geo.store import migrate
from geo.store.db import make_engine, session_scope
from geo.vocab import Amenity, Service

SUBDISTRICTS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "beijing" / "subdistricts.geojson"
)
AREA = (115.7, 39.4, 117.4, 41.0)  # lon0, lat0, lon1, lat1
CENTRE = (116.397, 39.909)  # 天安门
NEW_TOWNS = [(116.656, 39.909), (116.654, 40.130), (116.231, 40.220), (116.341, 39.727),
             (116.143, 39.748), (116.631, 40.316), (116.100, 39.940)]  # fmt: skip
KINDS = {"rest_point": 45, "water_point": 15, "sanitation_care_point": 10,
         "community_union": 10, "subdistrict_station": 8, "enterprise_centre": 6,
         "service_centre": 3, "counselling_point": 3}  # fmt: skip
STATUSES = {"open": 88, "temporarily_closed": 4, "planned": 3, "under_construction": 2,
            "closed": 3}  # fmt: skip
HOURS: dict[str | None, int] = {"24/7": 20, "Mo-Su 07:00-19:00": 25, "Mo-Fr 08:30-17:30": 20,
                                "Mo-Fr 08:30-17:30; PH off": 5, "Mo-Sa 09:00-20:00": 10,
                                "Mo-Fr 09:00-12:00,13:30-17:30": 8, "Mo-Su 06:00-22:00": 7,
                                None: 5}  # fmt: skip
HOSTS = {"union": 70, "enterprise": 20, "government": 8, "other": 2}


@dataclass
class Requests:
    points: list[tuple[float, float]]  # where workers ask from
    bboxes: list[tuple[float, float, float, float]]  # map viewports, ~5 km square
    cached_tiles: list[tuple[int, int, int]]  # a few popular z14 tiles, asked again and again
    uncached_tiles: list[tuple[int, int, int]]  # every other non-empty z14 tile, shuffled
    warmup_tiles: list[tuple[int, int, int]]  # z15 tiles: warm the code, not the z14 cache
    check_tiles: list[tuple[int, int, int]]  # used by the correctness checks only


def _pick(rng: random.Random, weights: dict[str | None, int] | dict[str, int]) -> str | None:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _where(rng: random.Random) -> tuple[float, float]:
    lon0, lat0, lon1, lat1 = AREA
    while True:
        draw = rng.random()
        if draw < 0.55:
            lon, lat = rng.gauss(CENTRE[0], 0.13), rng.gauss(CENTRE[1], 0.10)
        elif draw < 0.75:
            town = rng.choice(NEW_TOWNS)
            lon, lat = rng.gauss(town[0], 0.04), rng.gauss(town[1], 0.03)
        else:
            lon, lat = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
        if lon0 <= lon <= lon1 and lat0 <= lat <= lat1:
            return lon, lat


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    rad = math.radians(lat)
    y = int((1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * n)
    return z, x, y


def stations(count: int, seed: int) -> list[tuple[object, ...]]:
    rng = random.Random(seed)
    amenities = [a.value for a in Amenity]
    services = [s.value for s in Service]
    verified0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(count):
        lon, lat = _where(rng)
        kind = _pick(rng, KINDS)
        rows.append((
            f"bench-{i:06d}", kind, f"基准驿站{i:05d}", f"北京市基准路{i}号",
            f"010-{rng.randint(60000000, 89999999)}", _pick(rng, HOSTS), f"主办单位{i % 500}",
            _pick(rng, STATUSES), sorted(rng.sample(amenities, rng.randint(2, 7))),
            sorted(rng.sample(services, rng.randint(0, 3))), _pick(rng, HOURS),
            rng.randint(2, 30), verified0 + dt.timedelta(hours=rng.randint(0, 7000)), lon, lat,
        ))  # fmt: skip
    return rows


_SEED_TABLE = """
CREATE TEMP TABLE seed (external_id text, kind text, name text, address text, phone text,
  host_type text, host_name text, status text, amenities text[], services text[],
  opening_hours text, seats int, last_verified_at timestamptz, lon float8, lat float8)
"""
_INSERT = """
INSERT INTO stations (source, external_id, kind, name, address, phone, host_type, host_name,
                      status, amenities, services, opening_hours, seats, last_verified_at,
                      geom, boundary_id)
SELECT 'bench', s.external_id, s.kind, s.name, s.address, s.phone, s.host_type, s.host_name,
       s.status, s.amenities, s.services, s.opening_hours, s.seats, s.last_verified_at, p.pt,
       (SELECT b.id FROM boundaries AS b WHERE ST_Covers(b.geom, p.pt) LIMIT 1)
  FROM seed AS s CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS pt) p
"""


def fresh_database(server_url: str, name: str, rows: list[tuple[object, ...]]) -> tuple[str, int]:
    """A new database ``name`` (dropped first if there), migrated and loaded with ``rows`` and
    the real subdistricts; returns its URL and the number of boundaries loaded."""
    url = server_url.rpartition("/")[0] + f"/{name}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return url, load(url, rows)


def load(url: str, rows: list[tuple[object, ...]]) -> int:
    """Boundaries through our importer, stations by COPY; returns the number of boundaries."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            report = import_file(session, SUBDISTRICTS, ImportKind.BOUNDARIES,
                                 defaults={"level": "subdistrict", "vintage": "bj-2023"},
                                 ignore_unknown=True)  # fmt: skip
    finally:
        engine.dispose()
    with psycopg.connect(url) as conn:
        conn.execute(_SEED_TABLE)
        with conn.cursor().copy("COPY seed FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(_INSERT)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return report.inserted


def requests(rows: list[tuple[object, ...]], seed: int, count: int = 1000) -> Requests:
    """Query points and viewports where workers are; tiles where the stations are."""
    rng = random.Random(seed + 1)
    points = [_where(rng) for _ in range(count)]
    bboxes = []
    for _ in range(count):
        # Viewports over the dense part of the city (5 km × 5 km): most hold 100+ stations.
        lon, lat = rng.gauss(CENTRE[0], 0.13), rng.gauss(CENTRE[1], 0.10)
        bboxes.append((round(lon - 0.03, 6), round(lat - 0.0225, 6),
                       round(lon + 0.03, 6), round(lat + 0.0225, 6)))  # fmt: skip
    per_tile = Counter(tile_of(float(r[-2]), float(r[-1]), 14) for r in rows)  # type: ignore[arg-type]
    # Popular tiles: the tiles under the first 50 query points that have stations.
    cached = list(dict.fromkeys(t for t in (tile_of(lo, la, 14) for lo, la in points)
                                if t in per_tile))[:50]  # fmt: skip
    check = [t for t, _ in per_tile.most_common(200) if t not in cached][::20]
    uncached = [t for t in per_tile if t not in set(cached) | set(check)]
    rng.shuffle(uncached)
    warmup = list(dict.fromkeys(tile_of(float(r[-2]), float(r[-1]), 15) for r in rows))  # type: ignore[arg-type]
    rng.shuffle(warmup)
    return Requests(points, bboxes, cached, uncached, warmup, check)
