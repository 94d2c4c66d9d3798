"""CQL2 filter benchmark (issue 17): filtered items against unfiltered ones and against tipg.

Same run, same throwaway database as ``bench.api`` (~20,000 seeded stations over a Beijing-sized
area, the 343 real subdistricts), one uvicorn worker per server, wrk with 8 connections on
127.0.0.1, ``Accept-Encoding: gzip``, rotating over the same ``--boxes`` seeded viewports
(~5 km square, ``limit=100``). Three workloads, timed in alternating rounds (A B C A B C ...) so
the host's drift falls on all alike:

- ours, no filter: ``/ogc/collections/stations/items?bbox=…&limit=100`` (baseline: the cost of
  filtering is ours-filtered ÷ this);
- ours with ``filter=<F>`` (CQL2 text; by default a worker's "open rest points with 10+ seats");
- tipg 1.6 (the ``bench`` dependency group) on the same ``stations`` table with the same ``F``
  and ``filter-lang=cql2-text`` (baseline: ours-filtered ÷ this).

Before timing, on ``--check`` viewports: ours-filtered and tipg-filtered must give the same
``numberMatched`` and the same feature ids (both order by id), and filtered ``numberMatched``
must not exceed unfiltered; an ``AssertionError`` otherwise. No timing assertions.

Run: ``.venv/bin/python -m bench.cql [--duration 60] [--rounds 6] [--filter "..."]``
(``--duration`` is each workload's total over its rounds). Needs ``wrk`` (``--install-wrk``
as root) and tipg (``uv sync --frozen --group bench``). About 3.5 minutes with the defaults.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import urllib.parse

from bench.api import (
    TIPG_STATIONS,
    Result,
    Server,
    Workload,
    add_common_args,
    check_items,
    clean_env,
    ensure_wrk,
    get_json,
    run_interleaved,
    workspace,
)

DB_NAME = "nuanxin_bench_cql"
# Plain columns of ``stations`` only (tipg sees the raw table), no arrays (tipg lacks A_CONTAINS).
DEFAULT_FILTER = "kind = 'rest_point' AND status = 'open' AND seats >= 10"
OURS_ITEMS = "/ogc/collections/stations/items"
TIPG_ITEMS = f"/collections/{TIPG_STATIONS}/items"


def box_text(bbox: tuple[float, ...]) -> str:
    return ",".join(f"{v:.6f}" for v in bbox)


def page(url: str) -> tuple[int, list[int]]:
    """``numberMatched`` and the feature ids of one items page."""
    body = get_json(url)
    assert isinstance(body, dict), url
    matched = body.get("numberMatched")
    if not isinstance(matched, int):
        raise AssertionError(f"{url}: no numberMatched")
    return matched, [int(f["id"]) for f in body["features"]]


def check_filtered(ours: str, tipg: str, bboxes: list[tuple[float, ...]], cql: str
                   ) -> list[str]:  # fmt: skip
    """Ours and tipg agree on the filtered pages; the filter never adds matches."""
    encoded = urllib.parse.quote(cql, safe="")
    filtered, unfiltered, returned = [], [], []
    for bbox in bboxes:
        box = box_text(bbox)
        plain_n, _ = page(f"{ours}{OURS_ITEMS}?bbox={box}&limit=100")
        mine_n, mine = page(f"{ours}{OURS_ITEMS}?bbox={box}&limit=100&filter={encoded}")
        peer_n, peer = page(f"{tipg}{TIPG_ITEMS}?bbox={box}&limit=100&filter={encoded}"
                            "&filter-lang=cql2-text")  # fmt: skip
        if mine_n != peer_n or set(mine) != set(peer) or len(mine) != len(peer):
            only_ours, only_tipg = sorted(set(mine) - set(peer)), sorted(set(peer) - set(mine))
            raise AssertionError(
                f"bbox {box}, filter {cql!r}: numberMatched ours {mine_n}, tipg {peer_n}; "
                f"{len(mine)} and {len(peer)} features; only ours {only_ours[:10]}, "
                f"only tipg {only_tipg[:10]}"
            )
        if mine_n > plain_n:
            raise AssertionError(f"bbox {box}: filtered numberMatched {mine_n} > unfiltered "
                                 f"{plain_n}")  # fmt: skip
        filtered.append(mine_n)
        unfiltered.append(plain_n)
        returned.append(len(mine))
    share = sum(filtered) / max(1, sum(unfiltered))
    full = sum(n == 100 for n in returned)
    return [
        f"filter: same numberMatched and the same feature ids as tipg for {len(bboxes)} bboxes "
        f"({full} a full page of 100; mean {statistics.mean(returned):.0f} returned)",
        f"filter: numberMatched ≤ unfiltered at every bbox; mean {statistics.mean(filtered):.0f} "
        f"of {statistics.mean(unfiltered):.0f} ({share:.0%}), range {min(filtered)}–"
        f"{max(filtered)}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, duration=60)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=6, help="turns of the three workloads")
    parser.add_argument("--boxes", type=int, default=200, help="viewports wrk rotates over")
    parser.add_argument("--check", type=int, default=20, help="viewports checked before timing")
    parser.add_argument("--filter", default=DEFAULT_FILTER, help="CQL2 text, both servers")
    args = parser.parse_args()
    wrk = ensure_wrk(args.install_wrk)
    started = time.perf_counter()

    with workspace(DB_NAME, args.stations, "nuanxin-bench-cql-") as space:
        print(f"data: {space.summary}")
        base_env = clean_env()
        ours = Server("nuanxin", "api.app:create_app",
                      {**base_env, "NUANXIN_DATABASE_URL": space.url}, space.workdir, "/healthz",
                      factory=True, workers=args.workers)  # fmt: skip
        space.servers.append(ours)
        tipg_env = {**base_env, "DATABASE_URL": space.url, "TIPG_DB_SCHEMAS": '["public"]',
                    "TIPG_DB_TABLES": f'["{TIPG_STATIONS}"]', "TIPG_DEBUG": "false"}  # fmt: skip
        tipg = Server("tipg", "tipg.main:app", tipg_env, space.workdir,
                      f"/collections/{TIPG_STATIONS}", factory=False,
                      workers=args.workers)  # fmt: skip
        space.servers.append(tipg)

        checked: list[tuple[float, ...]] = list(space.reqs.bboxes[: args.check])
        print(f"\nfilter: {args.filter}\n\ncorrectness, before timing:")
        for line in [*check_items(ours.base, tipg.base, checked),
                     *check_filtered(ours.base, tipg.base, checked, args.filter)]:  # fmt: skip
            print(f"  ok  {line}")

        boxes = [box_text(b) for b in space.reqs.bboxes[: args.boxes]]
        encoded = urllib.parse.quote(args.filter, safe="")
        workloads = [
            Workload("ours items, no filter", ours.base,
                     [f"{OURS_ITEMS}?bbox={b}&limit=100" for b in boxes]),
            Workload("ours items, CQL2 filter", ours.base,
                     [f"{OURS_ITEMS}?bbox={b}&limit=100&filter={encoded}" for b in boxes]),
            Workload("tipg items, same CQL2 filter", tipg.base,
                     [f"{TIPG_ITEMS}?bbox={b}&limit=100&filter={encoded}&filter-lang=cql2-text"
                      for b in boxes]),
        ]  # fmt: skip
        print(f"\ntiming: wrk {args.threads} thread(s), {args.connections} connections, "
              f"{args.warmup:g} s warm-up each, then {args.rounds} interleaved rounds over "
              f"{len(boxes)} bboxes ({args.duration:g} s per workload in all), "
              f"Accept-Encoding: gzip, {args.workers} uvicorn worker(s) per server")  # fmt: skip
        pooled, rounds = run_interleaved(wrk, args, space.workdir, workloads)
        plain, filtered, peer = pooled

        print("\nround by round (req/s; filtered ÷ unfiltered, filtered ÷ tipg):")
        for n, (a, b, c) in enumerate(rounds, 1):
            print(f"  round {n}: ours {a.rps:6,.0f}   filtered {b.rps:6,.0f}   "
                  f"tipg {c.rps:6,.0f}   {b.rps / a.rps:.2f}x   {b.rps / c.rps:.2f}x")  # fmt: skip

        print("\n| workload | req/s | p50 ms | p99 ms | requests | non-2xx + errors |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in pooled:
            print(f"| {r.label} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
                  f"{r.requests:,} | {r.errors} |")  # fmt: skip

        def ratio(label: str, a: Result, b: Result) -> str:
            return (f"| {label} | {a.rps / b.rps:.2f}x | {a.p50_ms / b.p50_ms:.2f}x | "
                    f"{a.p99_ms / b.p99_ms:.2f}x |")  # fmt: skip

        print("\n| ratio | req/s | p50 | p99 |\n|---|---:|---:|---:|")
        print(ratio("ours filtered ÷ ours unfiltered (the cost of filtering)", filtered, plain))
        print(ratio("ours filtered ÷ tipg filtered", filtered, peer))
        if failed := sum(r.errors for r in pooled):
            print(f"\nWARNING: {failed:,} failed requests while timing; these figures are not "
                  "comparable (another run on this database? the servers' logs say)")  # fmt: skip
        print(f"\n{os.cpu_count()} CPUs shared by PostgreSQL, the servers and wrk; "
              f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
              f"total {time.perf_counter() - started:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
