"""Through a database restart (issue 19): failed locator answers while PostgreSQL restarts.

The same data and machinery as ``bench/api.py`` (20,000 seeded stations + the 343 real
subdistricts in a throwaway database on the project's cluster, one uvicorn worker, wrk on
127.0.0.1 rotating over the seeded workers' ``/locate`` requests). Two runs of the same length
at 32 connections, in one go:

1. **baseline**: nothing happens to the database;
2. **restart**: a third of the way in, ``pg_ctlcluster <version> <cluster> restart`` (timed).

Each run reports requests, answers outside 2xx/3xx, socket errors and wrk timeouts, and how
many answers said they came from memory (``"stations_as_of"`` set). Target: 0 failed locator
answers through the restart. The restart stops every client of the project's cluster: run it
when nothing else uses the cluster (not during the test suite).

Run: ``.venv/bin/python -m bench.restart [--duration 12]``. Needs wrk. About a minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import threading
import time
from pathlib import Path

from bench.api import (
    LUA_THREADS,
    Server,
    add_common_args,
    clean_env,
    ensure_wrk,
    get_json,
    workspace,
    wrk_summary,
)
from geo.config import get_settings
from geo.store.localdb import installed_version

DB_NAME = "nuanxin_bench_restart"
CONNECTIONS = 32
THREADS = 2

# Rotating /locate requests; each answer's status and whether it came from memory are counted
# per thread, and the sums printed as one WRKJSON line (as bench.api's scripts do).
RESTART_LUA = (
    LUA_THREADS
    + r"""
function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  step = tonumber(args[2]) or 1
  i, ok, bad, memory = tid, 0, 0, 0
  wrk.headers["Accept-Encoding"] = "identity"
end
function request()
  local n = (i % #paths) + 1
  i = i + step
  return wrk.format("GET", paths[n])
end
function response(status, headers, body)
  if status >= 200 and status < 400 then ok = ok + 1 else bad = bad + 1 end
  if body and body:find('"stations_as_of":{', 1, true) then memory = memory + 1 end
end
function done(summary, latency, requests)
  local ok_all, bad_all, memory_all = 0, 0, 0
  for _, t in ipairs(threads) do
    ok_all = ok_all + t:get("ok")
    bad_all = bad_all + t:get("bad")
    memory_all = memory_all + t:get("memory")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status_errors":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"ok":%d,"bad":%d,"from_memory":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write, e.timeout, ok_all, bad_all, memory_all))
end
"""
)


def restart_cluster(after_s: float, timings: dict[str, float]) -> threading.Thread:
    """Restart the project's cluster ``after_s`` seconds from now, in a thread; its seconds."""
    local = get_settings().local_db

    def run() -> None:
        time.sleep(after_s)
        started = time.monotonic()
        subprocess.run(["pg_ctlcluster", installed_version(), local.cluster, "restart"],  # noqa: S607
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        timings["restart_s"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, duration=12)
    args = parser.parse_args()
    wrk = ensure_wrk(args.install_wrk)
    with workspace(DB_NAME, args.stations, "nx-bench-restart-") as space:
        url, reqs, workdir = space.url, space.reqs, space.workdir
        print(f"data: {space.summary}")
        ours = Server("nuanxin", "api.app:create_app", {**clean_env(), "NUANXIN_DATABASE_URL": url},
                      workdir, "/healthz", factory=True)  # fmt: skip
        space.servers.append(ours)
        paths = [f"/locate?lon={lon:.6f}&lat={lat:.6f}&k=5" for lon, lat in reqs.points]
        listing = workdir / "locate.txt"
        listing.write_text("\n".join(paths) + "\n")
        script = workdir / "restart.lua"
        script.write_text(RESTART_LUA)
        first = get_json(ours.base + paths[0])
        assert isinstance(first, dict) and first["results"], "the locator answers before timing"
        wrk_summary(wrk, script, ours.base, listing, threads=THREADS, connections=CONNECTIONS,
                    seconds=args.warmup)  # fmt: skip

        runs: dict[str, dict[str, float]] = {}
        timings: dict[str, float] = {}
        for label in ("baseline", "restart"):
            thread = restart_cluster(args.duration / 3, timings) if label == "restart" else None
            runs[label] = wrk_summary(wrk, script, ours.base, listing, threads=THREADS,
                                      connections=CONNECTIONS, seconds=args.duration)  # fmt: skip
            if thread is not None:
                thread.join()
            time.sleep(3)  # the pool and the dedicated connection are back before the next run
        report(runs, timings, args, workdir)


def report(runs: dict[str, dict[str, float]], timings: dict[str, float],
           args: argparse.Namespace, workdir: Path) -> None:  # fmt: skip
    print(
        f"\n/locate at {CONNECTIONS} connections, {args.duration:g} s per run, "
        f"{dt.date.today().isoformat()}; the restart took "
        f"{timings.get('restart_s', float('nan')):.1f} s"
    )
    print(
        f"{'run':<10} {'requests':>9} {'req/s':>8} {'non-2xx':>8} {'socket err':>10} "
        f"{'timeouts':>8} {'from memory':>11} {'p99 ms':>7}"
    )
    for label, r in runs.items():
        rate = r["requests"] / (r["duration_us"] / 1e6)
        print(
            f"{label:<10} {r['requests']:>9,} {rate:>8,.0f} {r['bad']:>8} "
            f"{r['socket_errors']:>10} {r['timeouts']:>8} {r['from_memory']:>11,} "
            f"{r['p99_us'] / 1000:>7.1f}"
        )
    base, hit = runs["baseline"], runs["restart"]
    failed = hit["bad"] + hit["socket_errors"] + hit["timeouts"]
    print(
        f"\nfailed locator answers through the restart: {failed} "
        f"(baseline {base['bad'] + base['socket_errors'] + base['timeouts']}; target 0)"
    )
    ratio = (hit["requests"] / hit["duration_us"]) / (base["requests"] / base["duration_us"])
    print(f"throughput during the restart run: {ratio:.2f}x the baseline's")


if __name__ == "__main__":
    main()
