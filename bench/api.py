"""API benchmark (issue 6): our locator, items and tiles against a minimal endpoint and tipg.

Same run, same data (~20,000 seeded stations over a Beijing-sized area plus the 343 real
subdistricts, in a throwaway database on the project's cluster), ``--workers`` uvicorn workers
per server (1 by default), wrk with 8 connections on 127.0.0.1. Baselines, all measured here:

- raw PostGIS nearest-10 with pgbench (the SQL alone, for context);
- a minimal FastAPI + asyncpg nearest-10 endpoint (``bench/api_minimal.py``): the locator's peer;
- tipg (benchmark-only dependency) on the same ``stations`` table: the peer for items and tiles.

Targets, as ratios: locator ≥ 0.7× the minimal endpoint's throughput with p99 ≤ 2× its p99
(the two are timed in alternating rounds, so the host's drift falls on both alike);
items (bbox, limit 100) ≥ 3× tipg; uncached z14 tiles ≥ 2× tipg; cached tiles ≥ 10× tipg.

Run: ``.venv/bin/python -m bench.api [--duration 10] [--rounds 5] [--warmup 2] [--connections 8]``
Needs ``wrk`` (Debian: ``apt-get install -y wrk``; ``--install-wrk`` does it when run as root),
PostgreSQL's ``pgbench`` and the ``bench`` dependency group (tipg). About 3 minutes.

Longer than ~400 lines on purpose: one benchmark run is one script (data, three servers,
alternating rounds, the report), read top to bottom; its helpers are in ``bench/api_data.py``
and ``bench/api_minimal.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
from isal import isal_zlib

from api.locator.sql import CANDIDATES_SQL, KNN_SQL
from api.ogc.collections import COLLECTIONS, Selection, items_query
from api.ogc.tiles import EXTENT, LAYERS, WORLD_M
from bench import api_data
from bench.api_minimal import NEAREST_SQL
from geo.config import get_settings
from geo.locator.rules import STALE_DAYS, STALE_PENALTY
from geo.locator.search import KNN_SHORTLIST, SHORTLIST, envelope
from geo.store.db import resolve_database_url
from geo.vocab import StationKind

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DB_NAME = "nuanxin_bench_api"
TIPG_STATIONS = "public.stations"
TIPG_TILE_PROPS = "kind,name,status,amenities,opening_hours"  # what our tiles carry
ARRIVAL_AT = "2026-11-25T10:30"  # a Wednesday morning, Beijing time: an ordinary workday
NIGHT_AT = "2026-11-25T03:00"  # the same night: most places closed (context, no target)
SEED = 20261125

# Every wrk script here starts so: each thread gets an id (its start in the rotation) and is kept,
# so done() can sum what the threads counted.
LUA_THREADS = r"""
local threads = {}
local count = 0
function setup(thread)
  thread:set("tid", count)
  count = count + 1
  table.insert(threads, thread)
end
"""

WRK_LUA = (
    LUA_THREADS
    + r"""
function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  step = tonumber(args[2]) or 1
  i = tid
  non2xx, hits, misses = 0, 0, 0
  wrk.headers["Accept-Encoding"] = "gzip"
end
function request()
  local path = paths[(i % #paths) + 1]
  i = i + step
  return wrk.format("GET", path)
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  local cache = headers["x-tile-cache"] or headers["X-Tile-Cache"]
  if cache == "hit" then hits = hits + 1 elseif cache == "miss" then misses = misses + 1 end
end
function done(summary, latency, requests)
  local n, h, m = 0, 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("non2xx"); h = h + t:get("hits"); m = m + t:get("misses")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"hits":%d,"misses":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), n,
    e.connect + e.read + e.write, e.timeout, h, m))
end
"""
)

# pgbench cannot index a list, so its points are uniform over the dense centre (KNN cost
# hardly depends on where the point is).
PGBENCH_SQL = """\\set lon 116.20 + random(0, 400000) / 1000000.0
\\set lat 39.76 + random(0, 300000) / 1000000.0
SELECT s.id, s.name, s.kind, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, \
ST_Distance(s.geom::geography, p.pt::geography) AS distance_m \
FROM stations AS s, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt) AS p \
WHERE s.status = 'open' ORDER BY s.geom <-> p.pt LIMIT 10;
"""


@dataclass
class Result:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx responses + socket errors + timeouts
    note: str = ""


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``workers`` uvicorn workers (1 unless asked) on 127.0.0.1, no reload, no access log;
    stopped by its own pid (uvicorn's supervisor stops the workers)."""

    def __init__(self, name: str, app: str, env: dict[str, str], workdir: Path,
                 ready_path: str, factory: bool, workers: int = 1) -> None:  # fmt: skip
        self.name, self.port = name, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        args = [PYTHON, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", str(workers), "--no-access-log", "--log-level", "warning"]  # fmt: skip
        if factory:
            args.append("--factory")
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log)
        self._wait(ready_path)

    def _wait(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                status, _, _ = http_get(self.base + path)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"{self.name} did not start on port {self.port}:\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 -- 127.0.0.1 only
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return response.status, {k.lower(): v for k, v in response.headers.items()}, body
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def get_json(url: str) -> object:
    status, _, body = http_get(url)
    if status != 200:
        raise RuntimeError(f"GET {url} -> {status}: {body[:300]!r}")
    return json.loads(body)


def ensure_wrk(install: bool) -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if install and os.geteuid() == 0:
        print("wrk not found: installing Debian's package (apt-get install -y wrk) ...")
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True,  # noqa: S607
                       stdout=subprocess.DEVNULL)  # fmt: skip
        if found := shutil.which("wrk"):
            return found
    sys.exit("wrk is not installed. Install it with `apt-get install -y wrk` (Debian/Ubuntu, as "
             "root), or rerun this benchmark as root with --install-wrk.")  # fmt: skip


def find_pgbench() -> str:
    found = shutil.which("pgbench") or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)),
        None,
    )
    if not found:
        sys.exit("pgbench not found: it comes with PostgreSQL (Debian: postgresql-15)")
    return found


# --- load generators -------------------------------------------------------------------------


class Invalidator:
    """A background thread editing one station every ``every`` seconds (a real edit)."""

    def __init__(self, url: str, every: float) -> None:
        self.url, self.every, self.count = url, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.every):
                conn.execute("UPDATE stations SET updated_at = now() WHERE id = 1")
                self.count += 1

    def __enter__(self) -> Invalidator:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def wrk_summary(
    wrk: str,
    script: Path,
    base: str,
    path_file: Path,
    *,
    threads: int,
    connections: int,
    seconds: float,
    timeout: str = "10s",
) -> dict[str, Any]:
    """One wrk run of a rotating ``script`` over ``path_file``: the ``WRKJSON`` line it prints."""
    out = subprocess.run(
        [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
         "--timeout", timeout, "-s", str(script), base, "--", str(path_file), str(threads)],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    )  # fmt: skip
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    parsed: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    return parsed


def run_wrk(wrk: str, args: argparse.Namespace, workdir: Path, label: str, base: str,
            paths: list[str], *, warmup_paths: list[str] | None = None,
            invalidate_url: str | None = None) -> Result:  # fmt: skip
    """One timed wrk run after a warm-up.

    With ``invalidate_url``, a station is edited (``updated_at`` touched: the layer's version
    changes, as on any real edit) often enough that fewer than half of ``paths`` are asked
    between two edits: rotating through distinct tiles, no tile is asked twice under one
    version, so every request is a miss. The rate for that comes from the warm-up.
    """
    script = workdir / "rotate.lua"
    script.write_text(WRK_LUA)
    listing = workdir / f"paths-{abs(hash(label))}.txt"
    listing.write_text("\n".join(paths) + "\n")
    warm = workdir / f"warm-{abs(hash(label))}.txt"
    warm.write_text("\n".join(warmup_paths or paths) + "\n")

    def once(seconds: float, path_file: Path) -> dict[str, int]:
        return wrk_summary(wrk, script, base, path_file, threads=args.threads,
                           connections=args.connections, seconds=seconds)  # fmt: skip

    warm_stats = once(max(args.warmup, 1.0 if invalidate_url else 0), warm) if (
        args.warmup > 0 or invalidate_url) else None  # fmt: skip
    note = ""
    if invalidate_url and warm_stats:
        warm_rps = warm_stats["requests"] / (warm_stats["duration_us"] / 1e6)
        every = 0.5 * len(paths) / max(warm_rps, 1.0)
        with Invalidator(invalidate_url, every) as edits:
            stats = once(args.duration, listing)
        note = f"{edits.count} station edits (one per {every:.1f} s); "
    else:
        stats = once(args.duration, listing)
    rps = stats["requests"] / (stats["duration_us"] / 1e6)
    if stats["hits"] or stats["misses"]:
        note += f"cache hits {stats['hits']:,}, misses {stats['misses']:,}"
    return Result(label, rps, stats["p50_us"] / 1000, stats["p99_us"] / 1000, stats["requests"],
                  stats["non2xx"] + stats["socket_errors"] + stats["timeouts"], note)  # fmt: skip


@dataclass
class Workload:
    label: str
    base: str
    paths: list[str]


Rounds = list[list[Result]]  # per round, one result per workload


def run_interleaved(wrk: str, args: argparse.Namespace, workdir: Path,
                    workloads: list[Workload]) -> tuple[list[Result], Rounds]:  # fmt: skip
    """Workloads compared by ratio, timed in turns (A B C A B C ...), not one after another.

    This host's speed drifts by a third from one minute to the next: timed in sequence, the drift
    lands in the ratio. Each workload is warmed up once, then run for ``duration / rounds``
    seconds per round; its figures pool the rounds (requests over time; p50 and p99 are the
    median of the rounds'). The rounds themselves are returned for the spread.
    """
    rounds = max(1, args.rounds)
    seconds = max(1.0, args.duration / rounds)
    quiet = argparse.Namespace(**{**vars(args), "warmup": 0, "duration": seconds})
    warm = argparse.Namespace(**{**vars(args), "warmup": 0, "duration": args.warmup})
    if args.warmup > 0:
        for w in workloads:
            run_wrk(wrk, warm, workdir, w.label, w.base, w.paths)  # a warm-up: result unused
    per_round = [[run_wrk(wrk, quiet, workdir, w.label, w.base, w.paths) for w in workloads]
                 for _ in range(rounds)]  # fmt: skip
    pooled = []
    for i, w in enumerate(workloads):
        runs = [r[i] for r in per_round]
        requests = sum(r.requests for r in runs)
        elapsed = sum(r.requests / r.rps for r in runs if r.rps)
        pooled.append(Result(w.label, requests / elapsed if elapsed else 0.0,
                             statistics.median(r.p50_ms for r in runs),
                             statistics.median(r.p99_ms for r in runs), requests,
                             sum(r.errors for r in runs),
                             f"{rounds} interleaved rounds of {seconds:g} s"))  # fmt: skip
    return pooled, per_round


def run_pgbench(pgbench: str, url: str, args: argparse.Namespace, workdir: Path) -> Result:
    parts = urllib.parse.urlsplit(url)
    script = workdir / "nearest.sql"
    script.write_text(PGBENCH_SQL)
    env = {**os.environ, "PGPASSWORD": urllib.parse.unquote(parts.password or "")}
    logs = workdir / "pgbench"
    logs.mkdir(exist_ok=True)
    base = [pgbench, "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
            "-U", urllib.parse.unquote(parts.username or ""), "-n", "-M", "prepared",
            "-f", str(script), "-c", str(args.connections), "-j", "2"]  # fmt: skip
    database = parts.path.lstrip("/")
    if args.warmup > 0:
        subprocess.run([*base, "-T", str(max(1, round(args.warmup))), database], env=env,
                       check=True, capture_output=True)  # fmt: skip
    timed = [*base, "-T", str(round(args.duration)), "-l", "--log-prefix", str(logs / "log")]
    out = subprocess.run([*timed, database], env=env, check=True, capture_output=True, text=True,
                         cwd=workdir)  # fmt: skip
    tps = next(float(line.split()[2]) for line in out.stdout.splitlines()
               if line.startswith("tps = "))  # fmt: skip
    failed = next((int(line.split()[-2]) if "(" in line else int(line.split()[-1])
                   for line in out.stdout.splitlines()
                   if line.startswith("number of failed transactions")), 0)  # fmt: skip
    latencies = sorted(int(line.split()[2]) for log in logs.glob("log*")
                       for line in log.read_text().splitlines())  # fmt: skip
    p50 = latencies[len(latencies) // 2] / 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] / 1000
    return Result("raw PostGIS nearest-10 (pgbench, SQL only)", tps, p50, p99, len(latencies),
                  failed)  # fmt: skip


# --- correctness, before timing --------------------------------------------------------------


def check_locator(ours: str, minimal: str, points: list[tuple[float, float]],
                  verified: dict[int, dt.datetime | None]) -> list[str]:  # fmt: skip
    """Our ranking is true metres, with stale places as if 1.5× as far (as the locator says).

    The expected first result is the best of the minimal endpoint's ten (re-ranked by metres)
    and ours, by metres × penalty, staleness read from the database.
    """
    now = dt.datetime.now(dt.UTC)

    def stale(sid: int) -> bool:
        seen = verified[sid]
        return seen is None or (now - seen).days > STALE_DAYS

    same_first, stale_first, degree_order_wrong, set_differs = 0, 0, 0, 0
    for lon, lat in points:
        mine = get_json(f"{ours}/locate?lon={lon}&lat={lat}&k=10&open=any")
        base = get_json(f"{minimal}/nearest?lon={lon}&lat={lat}")
        assert isinstance(mine, dict) and isinstance(base, list)
        got = mine["results"]
        distance = {r["id"]: r["distance_m"] for r in base}
        for r in got:  # same metres for the same place
            if r["id"] in distance and abs(r["distance_m"] - distance[r["id"]]) > 0.1:
                raise AssertionError(f"{r['id']}: {r['distance_m']} m ours, {distance[r['id']]}")
        distance.update({r["id"]: r["distance_m"] for r in got})
        ranked = sorted(distance, key=lambda i: (distance[i] * (STALE_PENALTY if stale(i)
                                                                else 1.0), i))  # fmt: skip
        if not got or got[0]["id"] != ranked[0]:
            first = got[0]["id"] if got else None
            raise AssertionError(f"locator's first at {lon},{lat}: {first}, not {ranked[0]}")
        by_metres = sorted(base, key=lambda r: (r["distance_m"], r["id"]))
        same_first += got[0]["id"] == by_metres[0]["id"]
        stale_first += got[0]["id"] != by_metres[0]["id"] and stale(by_metres[0]["id"])
        degree_order_wrong += [r["id"] for r in base] != [r["id"] for r in by_metres]
        set_differs += {r["id"] for r in got} != {r["id"] for r in base}
    n = len(points)
    return [
        f"locator: first result is the expected one at {n}/{n} points (true metres, stale "
        f"x{STALE_PENALTY:g}); it is the true nearest by metres (the minimal endpoint's ten "
        f"re-ranked) at {same_first}, and at {stale_first} that nearest was stale (not verified "
        f"for {STALE_DAYS} days) and a verified place within {STALE_PENALTY:g}x its distance "
        f"ranks first",
        f"locator: the minimal endpoint's own <-> order (degrees) differs from true metres at "
        f"{degree_order_wrong}/{n} points; its ten differ from ours as a set at {set_differs}/{n}",
    ]


def load_verified(url: str) -> dict[int, dt.datetime | None]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT id, last_verified_at FROM stations").fetchall())


def check_items(ours: str, tipg: str, bboxes: list[tuple[float, ...]]) -> list[str]:
    returned = []
    for bbox in bboxes:
        box = ",".join(map(str, bbox))
        mine = get_json(f"{ours}/ogc/collections/stations/items?bbox={box}&limit=100")
        peer = get_json(f"{tipg}/collections/{TIPG_STATIONS}/items?bbox={box}&limit=100")
        assert isinstance(mine, dict) and isinstance(peer, dict)
        a = (mine["numberMatched"], len(mine["features"]))
        b = (peer.get("numberMatched"), len(peer["features"]))
        if a != b:
            raise AssertionError(f"bbox {box}: ours (matched, returned) {a}, tipg {b}")
        returned.append(a[1])
    full = sum(n == 100 for n in returned)
    mean = statistics.mean(returned)
    return [f"items: same numberMatched and numberReturned as tipg for {len(bboxes)} bboxes "
            f"({full} of them a full page of 100; mean {mean:.0f})"]  # fmt: skip


def check_tiles(ours: str, tipg: str, tiles: list[tuple[int, int, int]],
                workers: int = 1) -> list[str]:  # fmt: skip
    """Each tile drawn once, then served from the cache (with several workers, each has its own
    cache: a hit comes within as many more requests as there are workers, give or take the
    kernel's spreading of connections)."""
    sizes_ours, sizes_tipg = [], []
    gz = {"Accept-Encoding": "gzip"}
    for z, x, y in tiles:
        status, headers, body = http_get(f"{ours}/tiles/stations/{z}/{x}/{y}.mvt", gz)
        again = None
        for _ in range(4 * workers):
            again = http_get(f"{ours}/tiles/stations/{z}/{x}/{y}.mvt", gz)[1].get("x-tile-cache")
            if again == "hit":
                break
        if status != 200 or not body or headers.get("x-tile-cache") != "miss" or again != "hit":
            raise AssertionError(f"tile {z}/{x}/{y}: ours {status}, {len(body)} bytes, "
                                 f"cache {headers.get('x-tile-cache')} then {again}")  # fmt: skip
        peer = f"{tipg}/collections/{TIPG_STATIONS}/tiles/WebMercatorQuad/{z}/{x}/{y}"
        p_status, _, p_body = http_get(f"{peer}?properties={TIPG_TILE_PROPS}", gz)
        if p_status != 200 or not p_body:
            raise AssertionError(f"tile {z}/{x}/{y}: tipg {p_status}, {len(p_body)} bytes")
        sizes_ours.append(len(body))
        sizes_tipg.append(len(p_body))
    ours_b, tipg_b = statistics.median(sizes_ours), statistics.median(sizes_tipg)
    return [f"tiles: {len(tiles)} z14 tiles non-empty on both (median {ours_b:,.0f} B ours, "
            f"{tipg_b:,.0f} B tipg, uncompressed); ours miss then hit (X-Tile-Cache)"]  # fmt: skip


def compression_profile(ours: str, points: list[tuple[float, float]]) -> list[str]:
    """Why /locate's fast path gzips with ISA-L: its cost and size on real answers, against
    stdlib zlib at the app's GZipMiddleware level (6) and at its fastest (1)."""
    bodies = [http_get(f"{ours}/locate?lon={lon}&lat={lat}&k=10&open=any")[2]
              for lon, lat in points]  # fmt: skip
    ways = {"ISA-L default (the fast path)": lambda b: isal_zlib.compress(b, wbits=31),
            "stdlib zlib level 6 (GZipMiddleware)": lambda b: zlib.compress(b, 6, wbits=31),
            "stdlib zlib level 1": lambda b: zlib.compress(b, 1, wbits=31)}  # fmt: skip
    plain = statistics.mean(map(len, bodies))
    lines = []
    for name, way in ways.items():
        times, sizes = [], []
        for body in bodies:
            started = time.perf_counter()
            packed = way(body)
            times.append(time.perf_counter() - started)
            sizes.append(len(packed))
            assert gzip.decompress(packed) == body
        lines.append(f"{name:38} median {statistics.median(times) * 1e6:6.1f} µs, "
                     f"mean {statistics.mean(sizes):,.0f} B of {plain:,.0f} B")  # fmt: skip
    return lines


# --- one benchmark's workspace: data, database, folder, servers --------------------------------


def add_common_args(parser: argparse.ArgumentParser, duration: float) -> None:
    """The options every HTTP benchmark takes (bench.api, bench.load)."""
    parser.add_argument("--duration", type=float, default=duration, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per run")
    parser.add_argument("--stations", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn workers per server (ours and baselines alike)")  # fmt: skip
    parser.add_argument("--install-wrk", action="store_true",
                        help="apt-get install wrk if missing (root only)")  # fmt: skip


def clean_env() -> dict[str, str]:
    """This environment without the settings that would point a started server elsewhere."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("NUANXIN_", "TIPG_")) and k != "DATABASE_URL"}  # fmt: skip


@dataclass
class Workspace:
    url: str  # the benchmark's own database
    reqs: api_data.Requests
    workdir: Path
    servers: list[Server]  # started by the benchmark, stopped with the workspace
    summary: str  # what was loaded, and how long it took


@contextmanager
def workspace(db_name: str, stations: int, prefix: str) -> Iterator[Workspace]:
    """Seeded stations and requests in a fresh database ``db_name`` beside the project's
    (the 343 real subdistricts included); servers, database and folder go at the end."""
    server_url = resolve_database_url(get_settings())
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    servers: list[Server] = []
    try:
        rows = api_data.stations(stations, SEED)
        reqs = api_data.requests(rows, SEED)
        started = time.perf_counter()
        url, boundaries = api_data.fresh_database(server_url, db_name, rows)
        summary = (f"{len(rows):,} stations over lon {api_data.AREA[0]}–{api_data.AREA[2]}, "
                   f"lat {api_data.AREA[1]}–{api_data.AREA[3]}, {boundaries} real "
                   f"subdistricts; loaded in {time.perf_counter() - started:.1f} s")  # fmt: skip
        yield Workspace(url, reqs, workdir, servers, summary)
    finally:
        for server in servers:
            server.stop()
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


# --- SQL alone: where the time goes ----------------------------------------------------------


async def sql_profile(url: str, reqs: api_data.Requests) -> list[str]:
    """Median time of each endpoint's SQL from a bare asyncpg connection, one at a time."""
    conn = await asyncpg.connect(url)
    kinds = sorted(k.value for k in StationKind)
    tile_sql = LAYERS["stations"].tile_sql
    stations = COLLECTIONS["stations"]

    def items_args(bbox: tuple[float, ...]) -> tuple[str, list[object]]:
        return items_query(stations, Selection(limit=100, bbox=bbox))  # type: ignore[arg-type]

    cases = {
        "minimal nearest-10 SQL": [(NEAREST_SQL, [lon, lat]) for lon, lat in reqs.points[:200]],
        f"locator KNN shortlist SQL ({KNN_SHORTLIST} rows; usual)": [
            (KNN_SQL, [lon, lat, *envelope(lon, lat, 5000), kinds, None, KNN_SHORTLIST, [], False,
                      False])
            for lon, lat in reqs.points[:200]],
        f"locator whole-radius SQL (≤ {SHORTLIST}, 5 km; rare)": [
            (CANDIDATES_SQL, [lon, lat, *envelope(lon, lat, 5000), kinds, None, 5000.0,
                               SHORTLIST, [], False, False]) for lon, lat in reqs.points[:200]],
        "items SQL (bbox, limit 100)": [items_args(b) for b in reqs.bboxes[:200]],
        "z14 tile SQL (ST_AsMVT)": [(tile_sql, [z, x, y, WORLD_M / 2**z / EXTENT])
                                    for z, x, y in reqs.uncached_tiles[-200:]],
    }  # fmt: skip
    lines = []
    try:
        for label, calls in cases.items():
            for sql, params in calls[:20]:  # prepare and warm
                await conn.fetch(sql, *params)
            times, rows = [], 0
            for sql, params in calls:
                start = time.perf_counter()
                rows += len(await conn.fetch(sql, *params))
                times.append(time.perf_counter() - start)
            server = []
            for sql, params in calls[:20]:
                plan = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *params)
                server.append(json.loads(plan)[0]["Execution Time"])
            lines.append(f"{label:50} {statistics.median(times) * 1000:6.2f} ms round trip, "
                         f"{statistics.median(server):6.2f} ms executing, "
                         f"{rows / len(calls):5.1f} rows")  # fmt: skip
    finally:
        await conn.close()
    return lines


# --- the run ---------------------------------------------------------------------------------


def fmt_ratio(value: float, target: float, higher: bool) -> tuple[str, str]:
    ok = value >= target if higher else value <= target
    return f"{value:.2f}x", ("PASS" if ok else "FAIL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, duration=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="turns in which the minimal endpoint and the locator are timed",
    )
    args = parser.parse_args()
    wrk, pgbench = ensure_wrk(args.install_wrk), find_pgbench()
    started = time.perf_counter()

    with workspace(DB_NAME, args.stations, "nuanxin-bench-api-") as space:
        url, reqs, workdir, servers = space.url, space.reqs, space.workdir, space.servers
        print(f"data: {space.summary}")

        base_env = clean_env()
        ours = Server("nuanxin", "api.app:create_app", {**base_env, "NUANXIN_DATABASE_URL": url},
                      workdir, "/healthz", factory=True, workers=args.workers)  # fmt: skip
        servers.append(ours)
        minimal = Server("minimal", "bench.api_minimal:create_app",
                         {**base_env, "BENCH_DATABASE_URL": url}, workdir,
                         f"/nearest?lon={api_data.CENTRE[0]}&lat={api_data.CENTRE[1]}",
                         factory=True, workers=args.workers)  # fmt: skip
        servers.append(minimal)
        tipg_env = {**base_env, "DATABASE_URL": url, "TIPG_DB_SCHEMAS": '["public"]',
                    "TIPG_DB_TABLES": f'["{TIPG_STATIONS}"]', "TIPG_DEBUG": "false"}  # fmt: skip
        tipg = Server("tipg", "tipg.main:app", tipg_env, workdir,
                      f"/collections/{TIPG_STATIONS}", factory=False,
                      workers=args.workers)  # fmt: skip
        servers.append(tipg)

        print("\ncorrectness, before timing:")
        checks = [
            *check_locator(ours.base, minimal.base, reqs.points[:50], load_verified(url)),
            *check_items(ours.base, tipg.base, reqs.bboxes[:20]),
            *check_tiles(ours.base, tipg.base, reqs.check_tiles, args.workers),
        ]
        for line in checks:
            print(f"  ok  {line}")

        print("\n/locate k=10 answers gzipped in this process (200 of them, one after another):")
        for line in compression_profile(ours.base, reqs.points[:200]):
            print(f"  {line}")

        print("\nSQL alone (one asyncpg connection, no HTTP), median of 200:")
        for line in asyncio.run(sql_profile(url, reqs)):
            print(f"  {line}")

        point_q = [f"lon={lo:.6f}&lat={la:.6f}" for lo, la in reqs.points]
        boxes = [",".join(f"{v:.6f}" for v in b) for b in reqs.bboxes]

        def tile_paths(tiles: list[tuple[int, int, int]], peer: bool) -> list[str]:
            if peer:
                return [f"/collections/{TIPG_STATIONS}/tiles/WebMercatorQuad/{z}/{x}/{y}"
                        f"?properties={TIPG_TILE_PROPS}" for z, x, y in tiles]  # fmt: skip
            return [f"/tiles/stations/{z}/{x}/{y}.mvt" for z, x, y in tiles]

        results: dict[str, Result] = {}
        print(f"\ntiming: wrk {args.threads} thread(s), {args.connections} connections, "
              f"{args.warmup:g} s warm-up + {args.duration:g} s per run, Accept-Encoding: gzip, "
              f"{args.workers} uvicorn worker(s) per server")  # fmt: skip

        def timed(label: str, server: Server, paths: list[str],
                  warm: list[str] | None = None) -> Result:  # fmt: skip
            return run_wrk(wrk, args, workdir, label, server.base, paths, warmup_paths=warm,
                           invalidate_url=url if warm else None)  # fmt: skip

        ogc_items = "/ogc/collections/stations/items"
        tipg_items = f"/collections/{TIPG_STATIONS}/items"
        cached_n = len(reqs.cached_tiles)
        results["pgbench"] = run_pgbench(pgbench, url, args, workdir)
        compared = [
            Workload("minimal FastAPI+asyncpg nearest-10", minimal.base,
                     [f"/nearest?{q}" for q in point_q]),
            Workload("ours /locate k=10 open=any", ours.base,
                     [f"/locate?{q}&k=10&open=any" for q in point_q]),
            Workload(f"ours /locate k=10 open=arrival at={ARRIVAL_AT}", ours.base,
                     [f"/locate?{q}&k=10&open=arrival&at={ARRIVAL_AT}" for q in point_q]),
            Workload(f"ours /locate k=10 open=arrival at={NIGHT_AT}", ours.base,
                     [f"/locate?{q}&k=10&open=arrival&at={NIGHT_AT}" for q in point_q]),
        ]  # fmt: skip
        pooled, rounds = run_interleaved(wrk, args, workdir, compared)
        (results["minimal"], results["locate_any"], results["locate_arrival"],
         results["locate_night"]) = pooled  # fmt: skip
        results["items"] = timed("ours items bbox limit=100", ours,
                                 [f"{ogc_items}?bbox={b}&limit=100" for b in boxes])  # fmt: skip
        results["items_tipg"] = timed(
            "tipg items bbox limit=100", tipg, [f"{tipg_items}?bbox={b}&limit=100" for b in boxes]
        )
        # Uncached: never the same tile twice under one data version (warm-up on z15 tiles).
        results["tiles"] = timed("ours z14 tiles, uncached", ours,
                                 tile_paths(reqs.uncached_tiles, peer=False),
                                 tile_paths(reqs.warmup_tiles, peer=False))  # fmt: skip
        results["tiles_tipg"] = timed("tipg z14 tiles (same tiles)", tipg,
                                      tile_paths(reqs.uncached_tiles, peer=True),
                                      tile_paths(reqs.warmup_tiles, peer=True))  # fmt: skip
        results["cached"] = timed(f"ours z14 tiles, cached ({cached_n} tiles)", ours,
                                  tile_paths(reqs.cached_tiles, peer=False))  # fmt: skip
        results["cached_tipg"] = timed("tipg z14 tiles (same small set)", tipg,
                                       tile_paths(reqs.cached_tiles, peer=True))  # fmt: skip

        print(f"\n{'workload':48} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} "
              f"{'errors':>6}  note")  # fmt: skip
        for r in results.values():
            print(f"{r.label:48} {r.rps:9,.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.requests:9,} "
                  f"{r.errors:6}  {r.note}")  # fmt: skip
        print(
            f"  uncached runs rotate over {len(reqs.uncached_tiles):,} distinct non-empty z14 "
            f"tiles; a station edit between passes keeps every request a miss (see hits)"
        )

        print("\nthe locator and its peer, round by round (req/s; ratio to the minimal endpoint):")
        for n, (mr, *ours_runs) in enumerate(rounds, 1):
            named = zip(("any", "arrival", "night"), ours_runs, strict=True)
            shown = "   ".join(f"{name} {r.rps:6,.0f} ({r.rps / mr.rps:.2f}x)" for name, r in named)
            print(f"  round {n}: minimal {mr.rps:6,.0f}   {shown}")

        m, loc = results["minimal"], results["locate_any"]
        rows_out = [
            ("locator open=any throughput ÷ minimal", loc.rps / m.rps, 0.7, True),
            ("locator open=any p99 ÷ minimal p99", loc.p99_ms / m.p99_ms, 2.0, False),
            ("locator open=arrival throughput ÷ minimal",
             results["locate_arrival"].rps / m.rps, 0.7, True),
            ("locator open=arrival p99 ÷ minimal p99",
             results["locate_arrival"].p99_ms / m.p99_ms, 2.0, False),
            ("items (bbox, limit 100) ours ÷ tipg",
             results["items"].rps / results["items_tipg"].rps, 3.0, True),
            ("z14 tiles uncached ours ÷ tipg",
             results["tiles"].rps / results["tiles_tipg"].rps, 2.0, True),
            ("cached tiles ours ÷ tipg",
             results["cached"].rps / results["cached_tipg"].rps, 10.0, True),
        ]  # fmt: skip
        print(f"\n{'target':48} {'ratio':>8} {'target':>8}  result")
        for label, value, target, higher in rows_out:
            shown, verdict = fmt_ratio(value, target, higher)
            bound = f"{'≥' if higher else '≤'} {target:g}x"
            print(f"{label:48} {shown:>8} {bound:>8}  {verdict}")
        night = results["locate_night"].rps
        print(f"\ncontext: the locator at night (open=arrival at {NIGHT_AT}) {night:,.0f} req/s, "
              f"{night / m.rps:.2f}x the minimal endpoint, no target")  # fmt: skip
        print(f"context: pgbench nearest-10 {results['pgbench'].rps:,.0f} queries/s "
              f"(-c {args.connections} -j 2 -M prepared); minimal endpoint = "
              f"{m.rps / results['pgbench'].rps:.0%} of it; {os.cpu_count()} CPUs shared by "
              f"PostgreSQL, the server and wrk; {dt.date.today()}; "
              f"total {time.perf_counter() - started:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
