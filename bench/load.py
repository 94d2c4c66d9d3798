"""Load benchmark (issue 9): a realistic mix at 8, 32 and 128 connections, then overload.

Same data and machinery as ``bench/api.py`` (20,000 seeded stations + the 343 real subdistricts in
a throwaway database on the project's cluster, ``--workers`` uvicorn workers (1 by default), wrk
on 127.0.0.1). The mix, in one rotating request list interleaved so that every 20 consecutive
requests hold exactly it:

- 60% ``/locate?lon=..&lat=..&k=5`` from the seeded worker positions;
- 25% ``/ogc/collections/stations/items?bbox=..&limit=100`` over ~5 km viewports;
- 15% ``/tiles/stations/14/x/y.mvt``: the z14 tile under each worker position (popular tiles
  repeat, some are empty: 204), so most are served from the tile cache once warm.

Each level reports throughput, p50/p99 latency, errors (status outside 2xx/3xx, socket errors,
wrk timeouts) and the ratio to the raw PostGIS rate measured in the same run (pgbench
nearest-10, as in ``bench/api.py``, at the same number of connections, capped by the cluster's
``max_connections``). The Lua script tags every request with an ``X-Request-ID``, which the
service echoes, so each answer is matched to its request: counts per kind check the mix, and
per-request latencies give the p99 of 503 answers.

Overload: 512 connections against the default service (256 requests in flight per worker), and
128 connections against one started with ``NUANXIN_API__MAX_CONCURRENT_REQUESTS=32``. The
service should shed with 503 + ``Retry-After`` (or 429) at once: no wrk timeouts (10 s), a
small p99 for the 503 answers.

Run: ``.venv/bin/python -m bench.load [--duration 8] [--warmup 2]``. Needs wrk and pgbench.
About 2–3 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import api_data
from bench.api import (
    LUA_THREADS,
    Server,
    add_common_args,
    clean_env,
    ensure_wrk,
    find_pgbench,
    run_pgbench,
    workspace,
    wrk_summary,
)

DB_NAME = "nuanxin_bench_load"
LEVELS = (8, 32, 128)
MIX = {"locate": 12, "items": 5, "tiles": 3}  # per 20 requests: 60% / 25% / 15%
OVERLOAD = ((512, None), (128, 32))  # (connections, max_concurrent_requests; None: default)
PGBENCH_MAX = 64  # the cluster allows 100 connections and is shared: pgbench stays below
WRK_TIMEOUT = "10s"

LOAD_LUA = (
    LUA_THREADS
    + r"""
-- Every answer is written as one line "kind status ms retry_after tile_cache" to
-- <paths file>.rec<thread>, flushed when wrk exits; done() reports only wrk's summary and
-- per-thread numbers (wrk 4.1's thread:get corrupts the thread's stack when copying tables).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } nx_timespec;
int clock_gettime(int clk, nx_timespec *ts);
]]
local ts = ffi.new("nx_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end
local NAMES = {"locate", "items", "tiles"}
function init(args)
  paths, kinds = {}, {}
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
    if line:sub(1, 7) == "/locate" then kinds[#kinds + 1] = 1
    elseif line:sub(1, 4) == "/ogc" then kinds[#kinds + 1] = 2
    else kinds[#kinds + 1] = 3 end
  end
  step = tonumber(args[2]) or 1
  i, seq, pending, unmatched = tid, 0, 0, 0
  sent_kind, sent_at = {}, {}
  records = io.open(args[1] .. ".rec" .. tid, "w")
  records:setvbuf("full")
  wrk.headers["Accept-Encoding"] = "gzip"
end
function request()
  local n = (i % #paths) + 1
  i = i + step
  seq = seq + 1
  local id = "w" .. tid .. "-" .. seq
  sent_kind[id], sent_at[id] = kinds[n], now_us()
  pending = pending + 1
  wrk.headers["X-Request-ID"] = id
  return wrk.format("GET", paths[n])
end
function response(status, headers, body)
  local id = headers["x-request-id"] or headers["X-Request-ID"]
  local k = id and sent_kind[id]
  if not k then unmatched = unmatched + 1; return end
  local ms = (now_us() - sent_at[id]) / 1000
  sent_kind[id], sent_at[id] = nil, nil
  pending = pending - 1
  local retry = headers["retry-after"] or headers["Retry-After"] or "-"
  local cache = headers["x-tile-cache"] or headers["X-Tile-Cache"] or "-"
  records:write(NAMES[k], " ", status, " ", string.format("%.3f", ms), " ", retry, " ", cache,
                "\n")
end
function done(summary, latency, requests)
  local pending_all, unmatched_all = 0, 0
  for _, t in ipairs(threads) do
    pending_all = pending_all + t:get("pending")
    unmatched_all = unmatched_all + t:get("unmatched")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status_errors":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"pending_at_end":%d,"unmatched":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write, e.timeout, pending_all, unmatched_all))
end
"""
)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)]


def read_records(path_file: Path, stats: dict[str, Any]) -> None:
    """Add the script's per-answer records to wrk's summary: counts and latencies by kind."""
    by_kind: dict[str, list[float]] = {kind: [] for kind in ("locate", "items", "tiles")}
    answered: list[float] = []
    statuses: Counter[str] = Counter()
    shed: list[float] = []
    shed_retry_after = hits = misses = 0
    for rec in sorted(path_file.parent.glob(path_file.name + ".rec*")):
        for line in rec.read_text().splitlines():
            kind, status, ms, retry, cache = line.split()
            by_kind[kind].append(float(ms))
            answered.append(float(ms))
            statuses[f"{kind} {status}"] += 1
            if status == "503":
                shed.append(float(ms))
                shed_retry_after += retry != "-"
            hits += cache == "hit"
            misses += cache == "miss"
        rec.unlink()
    stats.update(
        statuses=dict(statuses),
        p50_ms=percentile(answered, 50), p99_ms=percentile(answered, 99),
        kinds={kind: {"n": len(v), "p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)}
               for kind, v in by_kind.items()},
        shed=len(shed), shed_retry_after=shed_retry_after, shed_p50_ms=percentile(shed, 50),
        shed_p99_ms=percentile(shed, 99), shed_max_ms=max(shed, default=float("nan")),
        hits=hits, misses=misses,
    )  # fmt: skip


@dataclass
class Run:
    label: str
    connections: int
    stats: dict[str, Any]

    @property
    def rps(self) -> float:
        return float(self.stats["requests"]) / (float(self.stats["duration_us"]) / 1e6)

    @property
    def errors(self) -> int:
        # wrk's status errors are answers >= 400; add anything below 200 seen by the script.
        odd = sum(n for key, n in self.stats["statuses"].items() if int(key.split()[1]) < 200)
        s = self.stats
        return int(s["status_errors"] + odd + s["socket_errors"] + s["timeouts"])

    def count(self, predicate: Any) -> int:
        return sum(n for key, n in self.stats["statuses"].items() if predicate(*key.split()))


def mixed_paths(reqs: api_data.Requests, cycles: int = 1000) -> list[str]:
    """Interleave the kinds (smooth weighted round-robin): any 20 in a row hold exactly ``MIX``."""
    tiles = [api_data.tile_of(lon, lat, 14) for lon, lat in reqs.points]
    pools = {
        "locate": [f"/locate?lon={lo:.6f}&lat={la:.6f}&k=5" for lo, la in reqs.points],
        "items": [
            "/ogc/collections/stations/items?bbox=" + ",".join(f"{v:.6f}" for v in b) + "&limit=100"
            for b in reqs.bboxes
        ],
        "tiles": [f"/tiles/stations/{z}/{x}/{y}.mvt" for z, x, y in tiles],
    }
    total = sum(MIX.values())
    credit = dict.fromkeys(MIX, 0)
    used = dict.fromkeys(MIX, 0)
    paths = []
    for _ in range(cycles * total):
        for kind, weight in MIX.items():
            credit[kind] += weight
        kind = max(credit, key=lambda k: credit[k])
        credit[kind] -= total
        pool = pools[kind]
        paths.append(pool[used[kind] % len(pool)])
        used[kind] += 1
    return paths


def wrk_run(wrk: str, workdir: Path, label: str, base: str, path_file: Path, connections: int,
            args: argparse.Namespace) -> Run:  # fmt: skip
    script = workdir / "load.lua"
    script.write_text(LOAD_LUA)
    for seconds in ([args.warmup] if args.warmup > 0 else []) + [args.duration]:
        stats = wrk_summary(wrk, script, base, path_file, threads=1, connections=connections,
                            seconds=seconds, timeout=WRK_TIMEOUT)  # fmt: skip
    read_records(path_file, stats)  # the timed run's: it rewrote the warm-up's files
    return Run(label, connections, stats)


def mix_line(run: Run) -> str:
    kinds = run.stats["kinds"]
    n = sum(k["n"] for k in kinds.values()) or 1
    return " / ".join(f"{name} {kinds[name]['n'] / n:.1%}" for name in MIX)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, duration=8)
    args = parser.parse_args()
    wrk, pgbench = ensure_wrk(args.install_wrk), find_pgbench()
    started = time.perf_counter()

    with workspace(DB_NAME, args.stations, "nuanxin-bench-load-") as space:
        url, reqs, workdir, servers = space.url, space.reqs, space.workdir, space.servers
        print(f"data: {space.summary}")
        path_file = workdir / "mix.txt"
        paths = mixed_paths(reqs)
        path_file.write_text("\n".join(paths) + "\n")
        first = " ".join(p.split("?")[0].split("/")[1][0].upper() for p in paths[:20])
        print(f"mix: {len(paths):,} paths; the first 20 by kind: {first} "
              f"(L=locate, O=ogc items, T=tiles)")  # fmt: skip

        base_env = clean_env()
        env = {**base_env, "NUANXIN_DATABASE_URL": url}
        ours = Server("nuanxin", "api.app:create_app", env, workdir, "/healthz", factory=True,
                      workers=args.workers)  # fmt: skip
        servers.append(ours)

        print(f"\nlevels: wrk 1 thread, {args.warmup:g} s warm-up + {args.duration:g} s per "
              f"level, --timeout {WRK_TIMEOUT}, Accept-Encoding: gzip, {args.workers} uvicorn "
              "worker(s); "
              f"pgbench nearest-10 -M prepared -j 2, same seconds")  # fmt: skip
        raw: dict[int, float] = {}
        level_runs = []
        for conns in LEVELS:
            run = wrk_run(wrk, workdir, f"mix c={conns}", ours.base, path_file, conns, args)
            level_runs.append(run)
            pg_conns = min(conns, PGBENCH_MAX)
            if pg_conns not in raw:
                pg_dir = workdir / f"pgbench-{pg_conns}"
                pg_dir.mkdir()
                pg_args = argparse.Namespace(connections=pg_conns, warmup=args.warmup,
                                             duration=args.duration)  # fmt: skip
                raw[pg_conns] = run_pgbench(pgbench, url, pg_args, pg_dir).rps

        print(f"\n{'conns':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'wrk p50':>7} "
              f"{'wrk p99':>7} {'requests':>9} {'errors':>6} {'raw q/s':>7} {'(-c)':>4} "
              f"{'ratio':>6}  mix answered")  # fmt: skip
        for run in level_runs:
            s, pg_conns = run.stats, min(run.connections, PGBENCH_MAX)
            print(f"{run.connections:5} {run.rps:7,.0f} {s['p50_ms']:7.1f} {s['p99_ms']:7.1f} "
                  f"{s['p50_us'] / 1000:7.1f} {s['p99_us'] / 1000:7.1f} {s['requests']:9,} "
                  f"{run.errors:6} {raw[pg_conns]:7,.0f} {pg_conns:4} "
                  f"{run.rps / raw[pg_conns]:6.3f}  {mix_line(run)}")  # fmt: skip
        print("  p50/p99: every answer timed by the script (request written -> answer read); "
              "wrk p50/p99: wrk's own,\n  which adds synthetic samples for coordinated "
              "omission (stats_correct), so they read higher; ratio: req/s / raw q/s")  # fmt: skip
        print("\nper kind (p50 / p99 ms, from the script's own timing) and statuses:")
        for run in level_runs:
            kinds = run.stats["kinds"]
            per = ", ".join(f"{name} {k['p50_ms']:.1f} / {k['p99_ms']:.1f}"
                            for name, k in kinds.items())  # fmt: skip
            statuses = ", ".join(f"{key}: {n:,}"
                                 for key, n in sorted(run.stats["statuses"].items()))  # fmt: skip
            s = run.stats
            print(f"  c={run.connections:<3} {per}; tile cache hits {s['hits']:,}, misses "
                  f"{s['misses']:,}; unmatched {s['unmatched']}, unanswered at stop "
                  f"{s['pending_at_end']}\n        {statuses}")  # fmt: skip
        total_errors = sum(r.errors for r in level_runs)
        print(f"zero errors at every level: {'PASS' if total_errors == 0 else 'FAIL'} "
              f"({total_errors} errors)")  # fmt: skip

        print(f"\noverload ({args.warmup:g} s warm-up + {args.duration:g} s each):")
        print(f"{'conns':>5} {'limit':>5} {'req/s':>7} {'2xx':>7} {'503':>7} {'w/ R-A':>7} "
              f"{'429':>5} {'t/outs':>6} {'sock':>5} {'503 p50':>8} {'503 p99':>8} "
              f"{'503 max':>8} {'2xx p99':>8}")  # fmt: skip
        verdicts = []
        for conns, limit in OVERLOAD:
            if limit is None:
                server, shown = ours, "256"
            else:
                limited = {**env, "NUANXIN_API__MAX_CONCURRENT_REQUESTS": str(limit)}
                server = Server(f"nuanxin-limit{limit}", "api.app:create_app", limited, workdir,
                                "/healthz", factory=True, workers=args.workers)  # fmt: skip
                servers.append(server)
                shown = str(limit)
            run = wrk_run(wrk, workdir, f"overload c={conns}", server.base, path_file, conns, args)
            s = run.stats
            ok = run.count(lambda _k, st: st.startswith("2"))
            shed = run.count(lambda _k, st: st == "503")
            too_many = run.count(lambda _k, st: st == "429")
            ok_p99 = max(k["p99_ms"] for k in s["kinds"].values())
            print(f"{conns:5} {shown:>5} {run.rps:7,.0f} {ok:7,} {shed:7,} "
                  f"{s['shed_retry_after']:7,} {too_many:5,} {s['timeouts']:6} "
                  f"{s['socket_errors']:5} {s['shed_p50_ms']:8.1f} {s['shed_p99_ms']:8.1f} "
                  f"{s['shed_max_ms']:8.1f} {ok_p99:8.1f}")  # fmt: skip
            other = {k: n for k, n in s["statuses"].items()
                     if k.split()[1][0] != "2" and k.split()[1] not in ("503", "429")}  # fmt: skip
            if other:
                print(f"      other statuses: {other}")
            sheds = shed + too_many > 0 and shed == s["shed_retry_after"]
            verdicts.append(sheds and s["timeouts"] == 0 and s["socket_errors"] == 0)
        print(
            "  (503 p50/p99/max: latency of the 503 answers; 2xx p99: the worst kind's p99, "
            "all answers of that kind)"
        )
        print(f"sheds with 503 + Retry-After, no timeouts, no socket errors: "
              f"{'PASS' if all(verdicts) else 'FAIL'}")  # fmt: skip
        print(f"\n{os.cpu_count()} CPUs shared by PostgreSQL, the server and wrk; "
              f"{dt.date.today()}; total {time.perf_counter() - started:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
