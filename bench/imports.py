"""Import benchmark: 10,000-row GCJ-02 sheet (5% bad rows) and the 343 real Beijing subdistricts.

Baseline, same run, same files: GDAL's ``ogr2ogr`` loading them into PostGIS as they are (no
validation, no coordinate conversion, no upsert, no report). The ratio says what our checks cost.

Run: ``.venv/bin/python -m bench.imports`` (needs ``gdal-bin`` for the baseline and the
project's PostGIS; uses a throwaway database).
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench.workload import write_station_sheet
from geo.config import Settings
from geo.crs import CoordSystem
from geo.importers.files import ImportKind, import_file
from geo.store import migrate
from geo.store.db import make_engine, resolve_database_url, session_scope

SHARED = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "beijing" / "subdistricts.geojson"
)
REPEATS = 3
OGR2OGR = shutil.which("ogr2ogr") or "ogr2ogr"


def _timed(action: Callable[[], object], reset: Callable[[], None]) -> float:
    times = []
    for _ in range(REPEATS):
        reset()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ogr2ogr(url: str, path: Path, layer: str, extra: list[str]) -> None:
    pg = url.replace("postgresql://", "")
    user_pw, _, rest = pg.partition("@")
    user, _, password = user_pw.partition(":")
    host_port, _, db = rest.partition("/")
    host, _, port = host_port.partition(":")
    target = f"PG:host={host} port={port} dbname={db} user={user} password={password}"
    subprocess.run([OGR2OGR, "-f", "PostgreSQL", target, str(path), "-nln", layer,
                    "-overwrite", "-lco", "SPATIAL_INDEX=GIST", *extra],
                   check=True, capture_output=True)  # fmt: skip


def main() -> None:
    server = resolve_database_url(Settings())
    name = f"nuanxin_bench_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.rpartition("/")[0] + f"/{name}"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        workdir = Path(tempfile.mkdtemp())
        sheet = workdir / "gcj02.csv"
        bad, good = write_station_sheet(sheet)

        def clear_stations() -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE stations, row_history")

        def clear_boundaries() -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE boundaries CASCADE")

        def import_sheet() -> None:
            with session_scope(engine) as session:
                report = import_file(session, sheet, ImportKind.STATIONS, crs=CoordSystem.GCJ02)
            assert report.inserted == len(good) and len(report.rejected) == len(bad)

        def reimport_sheet() -> None:
            with session_scope(engine) as session:
                report = import_file(session, sheet, ImportKind.STATIONS, crs=CoordSystem.GCJ02)
            assert report.unchanged == len(good)

        results: list[tuple[str, float, float | None]] = []
        has_gdal = shutil.which("ogr2ogr") is not None
        ours = _timed(import_sheet, clear_stations)
        rerun = _timed(reimport_sheet, lambda: None)
        base = _timed(lambda: _ogr2ogr(url, sheet, "bench_sheet", ["-oo", "X_POSSIBLE_NAMES=经度",
                                                                   "-oo", "Y_POSSIBLE_NAMES=纬度",
                                                                   "-a_srs", "EPSG:4326"]),
                      lambda: None) if has_gdal else None  # fmt: skip
        results.append(("10,000-row GCJ-02 CSV, first import", ours, base))
        results.append(("10,000-row GCJ-02 CSV, re-import (no-op)", rerun, base))
        if SHARED.exists():
            defaults = {"level": "subdistrict", "vintage": "bj-2023"}

            def import_boundaries() -> None:
                with session_scope(engine) as session:
                    report = import_file(session, SHARED, ImportKind.BOUNDARIES,
                                         defaults=defaults, ignore_unknown=True)  # fmt: skip
                assert report.inserted == 343

            ours_b = _timed(import_boundaries, clear_boundaries)
            base_b = _timed(lambda: _ogr2ogr(url, SHARED, "bench_boundaries", []),
                            lambda: None) if has_gdal else None  # fmt: skip
            results.append(("343 Beijing subdistricts (GeoJSON)", ours_b, base_b))
        print(f"median of {REPEATS} runs, machine: {os.cpu_count()} CPUs")
        print(f"{'workload':44} {'nuanxin':>9} {'ogr2ogr':>9} {'ratio':>7}")
        for label, mine, baseline in results:
            ratio = f"{mine / baseline:6.2f}x" if baseline else "   n/a"
            shown = f"{baseline:8.2f}s" if baseline else "      n/a"
            print(f"{label:44} {mine:8.2f}s {shown} {ratio}")
    finally:
        engine.dispose()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
