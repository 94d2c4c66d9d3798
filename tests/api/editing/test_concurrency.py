"""Concurrent edits of one row: each waits for the other, so neither undoes the other's fields.

A real server with its pool (two requests on two connections) on the module's own database.
A third connection holds the row locked while both edits start, so they are certain to overlap:
without the lock on the "before" image both would read the same row and the second to write
would put back the first one's field.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from geo.config import ApiSettings, Settings
from tests.browser import served
from tests.conftest import token_headers


@pytest.fixture(scope="module")
def server_and_db(tiny_database_url: str) -> Iterator[tuple[str, str]]:
    settings = Settings(environment="test", database_url=tiny_database_url,
                        api=ApiSettings(json_logs=False))  # fmt: skip
    with served(settings) as base:
        yield base, tiny_database_url


def test_two_overlapping_edits_both_stick_and_the_audit_chains(server_and_db):
    base, db = server_and_db
    admin = token_headers(db, "race")
    with psycopg.connect(db) as conn:
        station = conn.execute("SELECT id FROM stations WHERE external_id = 's1'").fetchone()[0]
    url = f"{base}/stations/{station}"
    with psycopg.connect(db) as holder, ThreadPoolExecutor(2) as pool:
        holder.execute("SELECT 1 FROM stations WHERE id = %s FOR UPDATE", (station,))
        rename = pool.submit(httpx.patch, url, json={"name": "新名字"}, headers=admin, timeout=30)
        time.sleep(0.3)
        seats = pool.submit(httpx.patch, url, json={"seats": 42}, headers=admin, timeout=30)
        time.sleep(0.3)  # both requests are now waiting on the row
        holder.rollback()
        assert rename.result().status_code == 200 and seats.result().status_code == 200
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT name, seats FROM stations WHERE id = %s", (station,)).fetchone()
        befores = conn.execute(
            "SELECT before->>'name', after->>'name' FROM audit_log WHERE row_id = %s "
            "AND table_name = 'stations' ORDER BY id", (station,),
        ).fetchall()  # fmt: skip
    assert row == ("新名字", 42)
    # Each entry's "before" is what that write replaced: the two entries chain.
    assert befores[1][0] == befores[0][1]
