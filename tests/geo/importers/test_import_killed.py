"""A real import process killed with SIGKILL while its transaction is open loses nothing and
half-writes nothing; running it again completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psycopg

from bench.workload import write_station_sheet
from tests.cli.test_main import NUANXIN, run


def _stations(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM stations").fetchone()[0]


def test_sigkill_mid_import_then_rerun(scratch_database_url, tmp_path):
    url = scratch_database_url
    run("db", "upgrade", url=url)
    before = _stations(url)
    sheet = tmp_path / "big.csv"
    write_station_sheet(sheet, rows=20_000, bad_share=0)
    env = {**os.environ, "NUANXIN_DATABASE_URL": url}
    process = subprocess.Popen([NUANXIN, "import", "stations", str(sheet), "--crs", "gcj02",
                                "--source", "killed"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    name = url.rpartition("/")[2]
    seen_open = False
    with psycopg.connect(url, autocommit=True) as watcher:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            open_transactions = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                "AND query ~* '(copy|insert|create temp)'", (name,),
            ).fetchone()[0]  # fmt: skip
            if open_transactions:
                process.send_signal(signal.SIGKILL)
                seen_open = True
                break
            time.sleep(0.005)
    process.wait(timeout=30)
    assert seen_open, "the import finished before it could be killed mid-write"
    assert process.returncode == -signal.SIGKILL
    time.sleep(0.5)  # the server notices the dead client and rolls back
    assert _stations(url) == before

    again = run("import", "stations", str(sheet), "--crs", "gcj02", "--source", "killed", url=url)
    assert "20000 inserted" in again.stdout.replace(",", "")
    assert _stations(url) == before + 20_000
