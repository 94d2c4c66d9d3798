"""Backup and restore: pg_dump → pg_restore into an empty database → the same rows, same sums."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from geo.store import migrate
from geo.store.backup import table_fingerprints
from geo.store.db import make_engine
from tests.cli.test_main import run


@pytest.fixture
def empty_database_url(database_url):
    base, _, _ = database_url.rpartition("/")
    name = f"nuanxin_restore_{secrets.token_hex(3)}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_then_restore_gives_the_same_rows_and_checksums(
    bundled_database_url, empty_database_url, tmp_path
):
    scratch_database_url = bundled_database_url
    with psycopg.connect(scratch_database_url, autocommit=True) as conn:  # some history too
        conn.execute("UPDATE stations SET name = name || '（新址）' WHERE external_id LIKE 'ft-%'")
    before = table_fingerprints(scratch_database_url)
    assert before["stations"][0] == 340 and before["row_history"][0] > 0

    dump = tmp_path / "nuanxin.dump"
    written = run("db", "backup", str(dump), url=scratch_database_url)
    assert "340 stations" in written.stdout and dump.stat().st_size > 10_000
    restored = run("db", "restore", str(dump), url=empty_database_url)
    assert "340 stations" in restored.stdout
    assert table_fingerprints(empty_database_url) == before
    assert migrate.current_revision(make_engine(empty_database_url)) == migrate.head_revision()
    # Triggers came back too: an edit after the restore is recorded.
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE stations SET phone = '010-1' WHERE id = (SELECT min(id) FROM stations)"
        )
        assert conn.execute("SELECT count(*) FROM row_history").fetchone()[0] == (
            before["row_history"][0] + 1
        )

    again = run("db", "restore", str(dump), url=empty_database_url, check=False)
    assert again.returncode == 1 and "restore into an empty database" in again.stderr
    missing = run("db", "restore", str(tmp_path / "none.dump"), url=empty_database_url,
                  check=False)  # fmt: skip
    assert missing.returncode == 1 and "does not exist" in missing.stderr
