"""PostgreSQL stopped under a running service: 503 with Retry-After at once, then recovery.

A cluster of its own (Debian ``pg_createcluster``, another port), so stopping it cannot touch the
database the rest of the suite uses. Needs root, as the project's own cluster does.
"""

from __future__ import annotations

import subprocess
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

FAULT = LocalDbSettings(cluster="nuanxin_faults", port=54339, database="faults")


def _cluster(action: str) -> None:
    subprocess.run(["pg_ctlcluster", installed_version(), FAULT.cluster, action],  # noqa: S607
                   check=True, capture_output=True, timeout=60)  # fmt: skip


@pytest.fixture(scope="module")
def fault_url():
    url = ensure_local_database(FAULT)
    engine = make_engine(url)
    migrate.upgrade(engine)
    list(load_bundled(engine, PROJECT_ROOT / "data"))
    engine.dispose()
    try:
        yield url
    finally:
        subprocess.run(["pg_dropcluster", "--stop", installed_version(), FAULT.cluster],  # noqa: S607
                       check=False, capture_output=True, timeout=60)  # fmt: skip


def test_outage_gives_prompt_503s_and_the_service_recovers_by_itself(fault_url):
    with served(Settings(environment="test", database_url=fault_url)) as base, \
            httpx.Client(base_url=base, timeout=20) as http:  # fmt: skip
        assert http.get("/readyz").status_code == 200
        assert http.get("/stations?limit=5").status_code == 200

        _cluster("stop")
        try:

            def timed(path: str) -> tuple[int, float, str | None]:
                started = time.monotonic()
                response = http.get(path)
                return (response.status_code, time.monotonic() - started,
                        response.headers.get("retry-after"))  # fmt: skip

            paths = ["/stations?limit=5", "/readyz", "/locate?lon=116.22&lat=39.86",
                     "/ogc/collections/stations/items?limit=5"] * 3  # fmt: skip
            with ThreadPoolExecutor(6) as pool:
                outcomes = list(pool.map(timed, paths))
            for (status, seconds, retry_after), path in zip(outcomes, paths, strict=True):
                assert status == 503, path
                assert retry_after is not None and retry_after.isdigit(), path
                assert seconds < 10, (path, seconds)  # bounded: no hanging requests
            assert http.get("/healthz").status_code == 200  # alive, only not ready
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
