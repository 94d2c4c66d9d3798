"""Several worker processes, one truth: an edit through one reaches the other at once (tiles)
or within 50 ms (the locator).

Each worker keeps its own in-memory locator stations and tile cache; both are keyed by the
layers' versions. Tiles read them (coalesced) as of each request's arrival; the locator may
use a read up to ``RECENT_S`` (50 ms) old. Two real ``nuanxin serve`` processes on one database
stand for two workers: an edit through A is in B's first tile after it, and in B's locator
answers well within the issue's second. ``--workers 2`` itself is checked to run two serving
processes.
"""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path

import httpx
import psycopg

from tests.browser import child_pids, serve_process
from tests.conftest import token_headers

FENGTAI = "110106000000"
YONGCHANG = "永畅超市暖心驿站"  # bundled, open in Fengtai


def _tile(lon: float, lat: float, z: int = 14) -> tuple[int, int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def _place(url: str, name: str) -> tuple[int, float, float]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM stations WHERE name = %s",
                           (name,)).fetchone()  # fmt: skip
    assert row is not None
    return row


def test_an_edit_through_one_worker_is_in_the_others_next_locator_answer_and_tile(
    bundled_database_url,
):
    url = bundled_database_url
    station, lon, lat = _place(url, YONGCHANG)
    near = {"lon": lon + 0.0003, "lat": lat, "open": "any", "k": 1}
    z, x, y = _tile(lon, lat)
    editor = token_headers(url, "two-workers", "district_editor", FENGTAI)
    with (
        serve_process(url) as (_, a),
        serve_process(url) as (_, b),
        httpx.Client(base_url=b, timeout=20) as worker_b,
    ):
        # B has its snapshot and its cached tile before the edit
        assert worker_b.get("/locate", params=near).json()["results"][0]["name"] == YONGCHANG
        first = worker_b.get(f"/tiles/stations/{z}/{x}/{y}.mvt")
        again = worker_b.get(f"/tiles/stations/{z}/{x}/{y}.mvt")
        assert again.headers["x-tile-cache"] == "hit"
        assert YONGCHANG.encode() in first.content

        renamed = "永畅超市暖心驿站（新址）"
        edit = httpx.patch(f"{a}/stations/{station}", json={"name": renamed},
                           headers=editor, timeout=20)  # fmt: skip
        assert edit.status_code == 200, edit.text

        edited = time.monotonic()

        def nearest() -> dict:
            return worker_b.get("/locate", params=near).json()["results"][0]

        while (answer := nearest())["name"] != renamed:
            assert time.monotonic() - edited < 1.0, "B's locator missed the edit for a second"
            time.sleep(0.01)
        assert answer["id"] == station
        tile = worker_b.get(f"/tiles/stations/{z}/{x}/{y}.mvt")
        assert tile.headers["etag"] != first.headers["etag"]
        assert renamed.encode() in tile.content
        # an old ETag is not "not modified" any more
        old = {"If-None-Match": first.headers["etag"]}
        revalidated = worker_b.get(f"/tiles/stations/{z}/{x}/{y}.mvt", headers=old)
        assert revalidated.status_code == 200


def _listening_workers(pid: int) -> list[int]:
    """Children of uvicorn's supervisor that run the server (uvicorn's spawn workers)."""
    return [child for child in child_pids(pid)
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]  # fmt: skip


def test_serve_with_two_workers_runs_two_processes_and_stops_cleanly(bundled_database_url):
    with serve_process(bundled_database_url, "--workers", "2") as (supervisor, base):
        workers = _listening_workers(supervisor.pid)
        assert len(workers) == 2, workers
        for _ in range(20):  # both answer; the kernel spreads connections between them
            assert httpx.get(f"{base}/stations?limit=1", timeout=20).status_code == 200
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=30) == 0
        assert not any(Path(f"/proc/{w}").exists() for w in workers)
