"""Siting jobs through a real server: create, poll, fetch, cancel, limits, a lost worker."""

from __future__ import annotations

import multiprocessing
import socket
import time

import httpx
import psycopg
import pytest

import api.planning.jobs
from geo.crs import wgs84_to_gcj02

FENGTAI, LUGOUQIAO = "110106000000", "110106017000"


@pytest.fixture(scope="module")
def server(bundled_server, bundled_database_url):
    return bundled_server, bundled_database_url


def _wait(http: httpx.Client, url: str, until: set[str], timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = http.get(url).json()
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


def test_a_job_runs_to_a_result_in_lugouqiao(server):
    base, _ = server
    with httpx.Client(base_url=base, timeout=30) as http:
        created = http.post("/jobs/siting", json={"boundary": [FENGTAI], "p": 2})
        assert created.status_code == 202, created.text
        job = created.json()
        assert job["status"] == "queued" and created.headers["location"].endswith(job["id"])
        assert http.get(f"/jobs/{job['id']}/result").status_code == 409  # not yet
        done = _wait(http, created.headers["location"], {"succeeded", "failed"})
        assert done["status"] == "succeeded", done["error"]
        assert any(link["rel"] == "result" for link in done["links"])
        result = http.get(f"/jobs/{job['id']}/result")
        assert result.headers["content-type"] == "application/geo+json"
        body = result.json()
        assert [f["properties"]["rank"] for f in body["features"]] == [1, 2]
        assert body["features"][0]["properties"]["code"] == LUGOUQIAO
        assert body["solution"]["status"] == "Optimal"
        assert body["after"]["residents"] > body["before"]["residents"]
        assert "923 m straight" in body["method"]["reach"]
        shifted = http.get(f"/jobs/{job['id']}/result?coords=gcj02").json()["features"][0]
        point, wgs = shifted["geometry"]["coordinates"], body["features"][0]["properties"]
        assert point == pytest.approx(list(wgs84_to_gcj02(wgs["lon"], wgs["lat"])), abs=1e-6)
        assert shifted["properties"]["lon"] == wgs["lon"]  # the properties stay WGS-84
        assert http.delete(f"/jobs/{job['id']}").status_code == 409  # already succeeded


def test_cancel_stops_the_solver_process(server):
    base, _ = server
    with httpx.Client(base_url=base, timeout=30) as http:
        slow = {"boundary": [FENGTAI], "p": 20, "model": "backup", "time_limit_s": 90}
        job = http.post("/jobs/siting", json=slow).json()
        _wait(http, f"/jobs/{job['id']}", {"running"})
        deadline = time.monotonic() + 10  # "running" is written just before the process starts
        while not multiprocessing.active_children() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert multiprocessing.active_children(), "the solver runs in a child process"
        cancelled = http.delete(f"/jobs/{job['id']}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        deadline = time.monotonic() + 10
        while multiprocessing.active_children() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not multiprocessing.active_children(), "the solver process was terminated"
        result = http.get(f"/jobs/{job['id']}/result")
        assert result.status_code == 409 and "cancelled" in result.json()["detail"]


def test_limits_and_bad_requests(server, monkeypatch):
    base, _ = server
    monkeypatch.setattr(api.planning.jobs, "MAX_ACTIVE_JOBS", 1)
    with httpx.Client(base_url=base, timeout=30) as http:
        first = http.post("/jobs/siting", json={"boundary": [FENGTAI], "p": 20, "model": "backup"})
        second = http.post("/jobs/siting", json={"boundary": [FENGTAI]})
        assert second.status_code == 429, second.text
        assert "at most 1 at once" in second.json()["detail"]
        http.delete(f"/jobs/{first.json()['id']}")
        for body in [{"boundary": [FENGTAI], "p": 0}, {"boundary": ["123"]}, {"boundary": []},
                     {"boundary": [FENGTAI], "p": 101}, {"boundary": [FENGTAI], "colour": 1},
                     {"boundary": [FENGTAI], "time_limit_s": 3600}]:  # fmt: skip
            bad = http.post("/jobs/siting", json=body)
            assert bad.status_code == 422, body
            assert bad.headers["content-type"] == "application/problem+json"
        assert http.get("/jobs/00000000-0000-0000-0000-000000000000").status_code == 404
        assert http.get("/jobs/not-a-uuid").status_code == 422
        unknown = http.post("/jobs/siting", json={"boundary": ["110199000000"]}).json()
        failed = _wait(http, f"/jobs/{unknown['id']}", {"succeeded", "failed"})
        assert failed["status"] == "failed"
        assert "no subdistrict boundary with code or parent code 110199000000" in failed["error"]


def test_a_job_whose_worker_died_is_failed_with_a_reason(server):
    base, url = server
    with psycopg.connect(url, autocommit=True) as conn:
        job_id = conn.execute(
            "INSERT INTO jobs (kind, params, status, owner, started_at, created_at) VALUES "
            "('siting', '{}', 'running', %s, now(), now() - interval '1 minute') RETURNING id",
            (f"{socket.gethostname()}:999999999",),
        ).fetchone()[0]
    with httpx.Client(base_url=base, timeout=30) as http:
        job = http.get(f"/jobs/{job_id}").json()
    assert job["status"] == "failed" and "interrupted" in job["error"]
