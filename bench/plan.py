"""Planner's workbench benchmark (issue 18): time to the first choropleth and to a what-if.

Two scopes in one throwaway database on the project's cluster: the bundled Fengtai (26
subdistricts, 340 stations, 400 enterprises) and all 343 real Beijing subdistricts (2020
census district totals spread by area, our importer) with 5,000 seeded stations. Baseline,
same run, same input: a bare call of the pure analysis (``run_coverage`` on frames already in
memory), nothing else. Measured against it:

- the page's choropleth request (``GET /coverage``, cache cold: each repeat asks another
  walk, so nothing is reused) and the first choropleth in Chromium (``/plan?boundary=…`` opened
  until the map is drawn: the page, its areas and stations, the request, the drawing);
- the page's what-if answer (``POST /coverage/what-if`` adding one station; today's figures
  cached as on the page, only "after" computed), and the same in Chromium (Compare clicked
  until the table is drawn).

Target: the page's what-if answer within 1.5× the bare analysis, under 1 s for Fengtai.

Run: ``.venv/bin/python -m bench.plan [--repeats 5]`` (about 2 minutes). Needs
../shared/data/beijing (read, never copied) and Debian's chromium for the browser rows.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.orm import Session

from bench import api_data
from bench.coverage import SHARED, median_time
from geo.config import Settings, get_settings
from geo.coverage.analysis import CoverageParams
from geo.coverage.demand import worker_points
from geo.coverage.query import CoverageQuery, run_coverage
from geo.coverage.supply import DEFAULT_STATUSES
from geo.coverage.whatif import apply_changes, parse_changes
from geo.importers.bundled import load_bundled
from geo.importers.population import import_population
from geo.store.db import make_engine, resolve_database_url
from geo.store.frames import load_boundaries, load_enterprises, load_stations
from tests.browser import CHROMIUM, CHROMIUM_ARGS, served

ROOT = Path(__file__).resolve().parents[1]
CENSUS = SHARED / "district_population_census.csv"
DB_NAME = "nuanxin_bench_plan"
SEED = 20261206
_HTTP = httpx.Client(timeout=120)
SCOPES = {  # name: (boundary codes, vintage, a what-if point inside)
    "Fengtai (bundled, 26)": (["110106000000"], "illustrative-2026", (116.2187, 39.8512)),
    "Beijing (real, 343)": ([], "bj-2023", (116.2187, 39.8512)),
}


def _request(url: str, body: dict[str, Any] | None = None) -> bytes:
    response = _HTTP.post(url, json=body) if body is not None else _HTTP.get(url)
    response.raise_for_status()
    return response.content


def prepare(server_url: str) -> str:
    """The database: real subdistricts and seeded stations, the bundle, census populations."""
    url, _ = api_data.fresh_database(server_url, DB_NAME, api_data.stations(5000, SEED))
    engine = make_engine(url)
    try:
        load_bundled(engine, ROOT / "data")
        with Session(engine) as session, session.begin():
            import_population(session, CENSUS, vintage="bj-2023", year=2020)
    finally:
        engine.dispose()
    return url


def bare(url: str, codes: list[str], vintage: str, point: tuple[float, float],
         walk: float) -> tuple[Callable[[], object], Callable[[], object]]:  # fmt: skip
    """The pure analysis on frames read once: today's run, and the run with the station added."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            boundaries = load_boundaries(conn, vintage=vintage, codes=codes)
            stations = load_stations(conn)
            workers = worker_points(load_enterprises(conn))
    finally:
        engine.dispose()
    query = CoverageQuery(kinds=None, statuses=DEFAULT_STATUSES, at=None,
                          params=CoverageParams(walk_min=walk))  # fmt: skip
    changes = parse_changes([{"action": "add", "lon": point[0], "lat": point[1]}])
    plan = apply_changes(stations, changes)
    return (lambda: run_coverage(query, boundaries, stations, workers=workers),
            lambda: run_coverage(query, boundaries, plan, workers=workers))  # fmt: skip


def _scope_query(codes: list[str], vintage: str, walk: float) -> str:
    parts = [f"boundary={c}" for c in codes] + [f"vintage={vintage}", f"walk_min={walk:g}"]
    return "&".join(parts)


def api_times(base: str, codes: list[str], vintage: str, point: tuple[float, float],
              repeats: int) -> tuple[float, float]:  # fmt: skip
    """Cold choropleth requests (a new walk each) and what-ifs on a cached today."""
    walks = iter([15 - 0.01 * i for i in range(1, 4 * repeats + 2)])
    choropleth = median_time(
        lambda: _request(f"{base}/coverage?{_scope_query(codes, vintage, next(walks))}&f=geojson"),
        repeats,
    )
    body = {
        "scope": {"boundary": codes, "vintage": vintage, "walk_min": 15},
        "changes": [{"action": "add", "lon": point[0], "lat": point[1]}],
    }
    _request(f"{base}/coverage/what-if", body)  # today cached, as on the page after a first look
    what_if = median_time(lambda: _request(f"{base}/coverage/what-if", body), repeats)
    return choropleth, what_if


def browser_times(base: str, codes: list[str], vintage: str, repeats: int) -> tuple[float, float]:
    """In Chromium: opening /plan until the choropleth is drawn; Compare until its table is."""
    from playwright.sync_api import sync_playwright

    firsts, compares = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for i in range(repeats):
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            walk = 14 - 0.01 * i  # a new scope each time: nothing cached
            picked = f"boundary={','.join(codes)}&" if codes else ""
            start = time.perf_counter()
            page.goto(f"{base}/plan?{picked}vintage={vintage}&walk={walk:g}")
            if not codes:  # every subdistrict of the vintage, picked as the page picks them
                page.wait_for_function("() => document.body.dataset.state === 'idle'")
                page.evaluate("(v) => { const s = window.nuanxin.state; s.picked = s.areas"
                              ".filter(a => a.level === 'subdistrict' && a.vintage === v)"
                              ".map(a => a.code); }", vintage)  # fmt: skip
                start = time.perf_counter()
                page.click("#analyse")
            page.wait_for_function("() => ['ready', 'error'].includes(document.body.dataset.state)",
                                   timeout=120_000)  # fmt: skip
            if page.evaluate("() => document.body.dataset.state") == "error":
                raise RuntimeError(f"the page refused: {page.locator('#message').inner_text()}")
            firsts.append(time.perf_counter() - start)
            page.click("#add-centre")
            start = time.perf_counter()
            page.click("#compare")
            page.wait_for_function("() => ['compared', 'error'].includes("
                                   "document.body.dataset.state)", timeout=120_000)  # fmt: skip
            compares.append(time.perf_counter() - start)
            page.close()
        browser.close()
    return statistics.median(firsts), statistics.median(compares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", help="the scopes whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the database (to look at)")
    args = parser.parse_args()
    server_url = resolve_database_url(get_settings())
    started = time.perf_counter()
    url = prepare(server_url)
    print(f"database {DB_NAME}: prepared in {time.perf_counter() - started:.1f} s; "
          f"median of {args.repeats} repeats\n")  # fmt: skip
    header = (f"{'scope':24} {'bare today':>10} {'GET /coverage':>13} {'ratio':>6} "
              f"{'bare what-if':>12} {'POST what-if':>12} {'ratio':>6} {'page first':>10} "
              f"{'page compare':>12}")  # fmt: skip
    print(header)
    try:
        with served(Settings(environment="test", database_url=url)) as base:
            for name, (codes, vintage, point) in SCOPES.items():
                if args.only and args.only not in name:
                    continue
                today, after = bare(url, codes, vintage, point, 15)
                bare_today, bare_after = (median_time(today, args.repeats),
                                          median_time(after, args.repeats))  # fmt: skip
                choropleth, what_if = api_times(base, codes, vintage, point, args.repeats)
                first = compare = float("nan")
                if CHROMIUM.exists():
                    first, compare = browser_times(base, codes, vintage, max(2, args.repeats // 2))
                print(f"{name:24} {bare_today:9.3f}s {choropleth:12.3f}s "
                      f"{choropleth / bare_today:5.2f}× {bare_after:11.3f}s {what_if:11.3f}s "
                      f"{what_if / bare_after:5.2f}× {first:9.3f}s {compare:11.3f}s")  # fmt: skip
    finally:
        if not args.keep:
            with psycopg.connect(server_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    print("\ntarget: POST what-if ≤ 1.5× the bare what-if, and < 1 s for Fengtai")


if __name__ == "__main__":
    main()
