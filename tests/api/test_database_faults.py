"""PostgreSQL stopped under a running service: the locator answers from memory and says how
old its stations are, cached tiles are still served, everything else answers 503 with
Retry-After at once; then recovery, by itself.

A cluster of its own (Debian ``pg_createcluster``, another port), so stopping it cannot touch the
database the rest of the suite uses. Needs root, as the project's own cluster does.
"""

from __future__ import annotations

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from geo.config import PROJECT_ROOT, LocalDbSettings, Settings
from geo.importers.bundled import load_bundled
from geo.store import migrate
from geo.store.db import make_engine
from geo.store.localdb import ensure_local_database, installed_version
from tests.browser import served

# Below the kernel's ephemeral range (32768-60999), where the suite's own client sockets could
# hold the port when the cluster starts (see tests/api/test_replica.py).
FAULT = LocalDbSettings(cluster="nuanxin_faults", port=25339, database="faults")
LOCATE = "/locate?lon=116.2799&lat=39.8684&open=any&k=3"  # by 丰台区职工服务中心 (bundled)
TILE = "/tiles/stations/14/13484/6210.mvt"  # the z14 tile under that point


def _cluster(action: str) -> None:
    subprocess.run(["pg_ctlcluster", installed_version(), FAULT.cluster, action],  # noqa: S607
                   check=True, capture_output=True, timeout=60)  # fmt: skip


@pytest.fixture(scope="module")
def fault_url():
    _drop_faults_cluster()  # a killed run's, if any: it would keep its old port
    url = ensure_local_database(FAULT)
    engine = make_engine(url)
    migrate.upgrade(engine)
    list(load_bundled(engine, PROJECT_ROOT / "data"))
    engine.dispose()
    try:
        yield url
    finally:
        _drop_faults_cluster()


def _drop_faults_cluster() -> None:
    subprocess.run(["pg_dropcluster", "--stop", installed_version(), FAULT.cluster],  # noqa: S607
                   check=False, capture_output=True, timeout=60)  # fmt: skip


def test_outage_gives_prompt_503s_and_the_service_recovers_by_itself(fault_url):
    with served(Settings(environment="test", database_url=fault_url)) as base, \
            httpx.Client(base_url=base, timeout=20) as http:  # fmt: skip
        assert http.get("/readyz").status_code == 200
        assert http.get("/stations?limit=5").status_code == 200
        live = http.get(LOCATE).json()
        assert live["results"] and live["stations_as_of"] is None
        assert http.get(TILE).headers["x-tile-cache"] in ("hit", "miss")  # now cached

        _cluster("stop")
        try:

            def timed(path: str) -> tuple[int, float, str | None]:
                started = time.monotonic()
                response = http.get(path)
                return (response.status_code, time.monotonic() - started,
                        response.headers.get("retry-after"))  # fmt: skip

            paths = ["/stations?limit=5", "/readyz", "/boundaries?level=district",
                     "/ogc/collections/stations/items?limit=5"] * 3  # fmt: skip
            with ThreadPoolExecutor(6) as pool:
                outcomes = list(pool.map(timed, paths))
            for (status, seconds, retry_after), path in zip(outcomes, paths, strict=True):
                assert status == 503, path
                assert retry_after is not None and retry_after.isdigit(), path
                assert seconds < 10, (path, seconds)  # bounded: no hanging requests
            assert http.get("/healthz").status_code == 200  # alive, only not ready
            # the worker still finds its rest point, from memory, and says as of when
            for path in (LOCATE, LOCATE.replace("&lat", "&at=2026-12-09T10%3A00&lat")):
                offline = http.get(path)  # the second is percent-encoded: the route answers
                assert offline.status_code == 200, offline.text
                body = offline.json()
                assert [p["id"] for p in body["results"]] == [p["id"] for p in live["results"]]
                assert body["stations_as_of"]["age_s"] >= 0
                assert "cannot be reached" in body["stations_as_of"]["message"]
            nothing = http.get("/locate?lon=116.5&lat=40.5&max_km=0.5").json()
            assert nothing["results"] == [] and nothing["notice"]["code"] == "nothing_within"
            # a tile it has drawn is served as it was; writes are refused, saying when to retry
            tile = http.get(TILE)
            assert tile.status_code in (200, 204) and tile.headers["x-tile-cache"] == "hit"
            assert "database unreachable" in tile.headers["x-tile-offline"]
            write = http.post("/stations/1/reports", json={"kind": "confirmed_open"})
            assert write.status_code == 503 and write.headers["retry-after"].isdigit()
            body = http.get("/readyz").json()
            assert body["code"] == "database_unavailable" and "Traceback" not in str(body)
        finally:
            _cluster("start")

        deadline = time.monotonic() + 30
        while http.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "no recovery within 30 s"
            time.sleep(0.5)
        recovered = time.monotonic()
        assert http.get("/stations?limit=5").status_code == 200
        assert http.get("/locate?lon=116.22&lat=39.86").status_code == 200
        assert time.monotonic() - recovered < 10


def test_a_restart_under_load_loses_no_locator_answer(fault_url):
    """Eight clients ask /locate without pause while the cluster restarts (pg_ctlcluster
    restart: every connection is cut, new ones are refused, then accepted again): every answer
    is a 200, some of them from memory."""
    points = [(116.2799 + 0.002 * i, 39.8684 + 0.001 * (i % 5)) for i in range(40)]
    with served(Settings(environment="test", database_url=fault_url)) as base:
        assert httpx.get(f"{base}/readyz", timeout=20).status_code == 200
        done = threading.Event()

        def client(n: int) -> list[tuple[int, bool]]:
            seen = []
            with httpx.Client(base_url=base, timeout=20) as http:
                i = n
                while not done.is_set():
                    lon, lat = points[i % len(points)]
                    answer = http.get("/locate", params={"lon": lon, "lat": lat, "open": "any"})
                    seen.append((answer.status_code, answer.status_code == 200
                                 and answer.json()["stations_as_of"] is not None))  # fmt: skip
                    i += 8
            return seen

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(client, n) for n in range(8)]
            time.sleep(0.5)
            _cluster("restart")
            time.sleep(1.0)  # and a moment after, while the pool reconnects
            done.set()
            answers = [a for f in futures for a in f.result()]
    statuses = {status for status, _ in answers}
    assert statuses == {200}, [a for a in answers if a[0] != 200][:5]
    assert len(answers) > 50 and any(memory for _, memory in answers)
