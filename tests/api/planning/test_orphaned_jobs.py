"""A worker killed with SIGKILL leaves no job hanging: its solver dies with it, another worker
leaves a live worker's jobs alone, and the dead one's jobs (running and queued) are failed with
a reason at the next start-up, so they count no more against the cap.

Worker A is a real ``nuanxin serve`` process; B and C are apps served in this process, each
with its own lease, all on one database.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import psycopg
import pytest

import api.planning.jobs
from geo.config import Settings
from tests.browser import child_pids, serve_process, served

SLOW = {"boundary": ["110106000000"], "p": 20, "model": "backup", "time_limit_s": 90}


def _states(url: str, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id::text, status, error FROM jobs WHERE id::text = ANY(%s)",
                            (ids,)).fetchall()  # fmt: skip
    return {r[0]: (r[1], r[2]) for r in rows}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited


def test_sigkilled_workers_jobs_are_failed_at_start_up_and_free_the_cap(
    bundled_database_url, monkeypatch
):
    url = bundled_database_url
    settings = Settings(environment="test", database_url=url)
    with serve_process(url) as (worker, base):
        with httpx.Client(base_url=base, timeout=30) as a, served(settings) as other:
            running = a.post("/jobs/siting", json=SLOW).json()["id"]
            queued = a.post("/jobs/siting", json=SLOW).json()["id"]  # one runs per worker
            deadline = time.monotonic() + 30
            while a.get(f"/jobs/{running}").json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            deadline = time.monotonic() + 10  # "running" is written just before the solver
            while not (solvers := child_pids(worker.pid)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert solvers, "the solver runs in a child process of worker A"
            # Another worker leaves a live worker's jobs alone.
            with httpx.Client(base_url=other, timeout=30) as b:
                assert b.get(f"/jobs/{running}").json()["status"] == "running"
                assert b.get(f"/jobs/{queued}").json()["status"] == "queued"

            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            # its last heartbeat ages past the grace (shortened here from 30 s)
            monkeypatch.setattr(api.planning.jobs, "ORPHAN_GRACE_S", 1.0)
            time.sleep(1.5)
            deadline = time.monotonic() + 10
            while any(_alive(p) for p in solvers) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not any(_alive(p) for p in solvers), "the solver died with its worker"
            # Nobody has looked yet: the kill left them as they were.
            assert {s for s, _ in _states(url, [running, queued]).values()} == {
                "running", "queued"
            }  # fmt: skip

        # A worker starting up fails them, with the reason, before anyone polls.
        with served(settings) as restarted:
            states = _states(url, [running, queued])
            assert states == {job: ("failed", api.planning.jobs.ORPHANED)
                              for job in (running, queued)}  # fmt: skip
            monkeypatch.setattr(api.planning.jobs, "MAX_ACTIVE_JOBS", 1)
            with httpx.Client(base_url=restarted, timeout=30) as c:
                job = c.get(f"/jobs/{queued}").json()
                assert job["status"] == "failed" and "interrupted" in job["error"]
                fresh = c.post("/jobs/siting", json=SLOW)  # the orphans hold no place
                assert fresh.status_code == 202, fresh.text
                assert c.delete(f"/jobs/{fresh.json()['id']}").status_code == 200


def test_a_live_owners_jobs_survive_its_lease_being_lost_for_a_moment(bundled_database_url):
    """A database restart frees every lease at once; until its owner re-takes it a job is
    only failed when its owner has not touched it for the grace period."""
    settings = Settings(environment="test", database_url=bundled_database_url)
    with psycopg.connect(bundled_database_url, autocommit=True) as conn:
        job = conn.execute(
            "INSERT INTO jobs (kind, params, owner, heartbeat_at) VALUES "
            "('siting', '{}', 'elsewhere:1:restarting', now()) RETURNING id::text"
        ).fetchone()[0]
        with served(settings) as base:
            assert httpx.get(f"{base}/jobs/{job}", timeout=30).json()["status"] == "queued"
            conn.execute("UPDATE jobs SET heartbeat_at = now() - interval '1 minute' "
                         "WHERE id = %s", (job,))  # fmt: skip
            gone = httpx.get(f"{base}/jobs/{job}", timeout=30).json()
            assert gone["status"] == "failed" and "interrupted" in gone["error"]


def test_a_job_is_refused_while_this_worker_holds_no_lease(bundled_database_url, monkeypatch):
    """Without its lease (the database connection lost) a worker takes no job: another worker
    would take it for an orphan."""
    settings = Settings(environment="test", database_url=bundled_database_url)
    with served(settings) as base:
        from api.runtime import lease

        monkeypatch.setattr(lease.WorkerLease, "held", property(lambda self: False))
        refused = httpx.post(f"{base}/jobs/siting", json=SLOW, timeout=30)
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
        assert "retry shortly" in refused.json()["detail"]


@pytest.fixture(autouse=True)
def _no_stray_jobs(bundled_database_url):
    yield
    with psycopg.connect(bundled_database_url, autocommit=True) as conn:
        conn.execute("UPDATE jobs SET status = 'cancelled', finished_at = now() "
                     "WHERE status IN ('queued', 'running')")  # fmt: skip
