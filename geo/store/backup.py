"""Backup and restore with PostgreSQL's own tools (``pg_dump -Fc`` / ``pg_restore``).

A custom-format dump holds schema, data, the alembic revision and the triggers; restoring it
into an empty database gives the same rows. :func:`table_fingerprints` (row counts and an md5 of
every row in key order) lets anyone check that, and the tests do.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg

from geo.errors import GeoError, InvalidInputError

TABLES = ("boundaries", "stations", "enterprises", "row_history", "jobs")


class BackupError(GeoError):
    code = "backup_failed"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    return found


def _libpq(url: str) -> str:
    """psycopg/SQLAlchemy URLs may name a driver; libpq tools want plain postgresql://."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def backup(url: str, path: Path) -> Path:
    """Dump the whole database to ``path`` (custom format, compressed)."""
    result = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner",  # noqa: S603
                             f"--file={path}", f"--dbname={_libpq(url)}"],
                            capture_output=True, text=True, timeout=3600, check=False)  # fmt: skip
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip().splitlines()[-1]}")
    return path


def restore(url: str, path: Path) -> None:
    """Restore ``path`` into the (empty) database at ``url``, in one transaction."""
    if not path.exists():
        raise InvalidInputError(f"{path} does not exist", field="path")
    with psycopg.connect(_libpq(url)) as conn:
        present = conn.execute("SELECT to_regclass('stations') IS NOT NULL").fetchone()
    if present and present[0]:
        raise InvalidInputError("the target database already has Nuanxin tables; restore into "
                                "an empty database", field="url")  # fmt: skip
    result = subprocess.run([_tool("pg_restore"), "--no-owner", "--single-transaction",  # noqa: S603
                             "--exit-on-error", f"--dbname={_libpq(url)}", str(path)],
                            capture_output=True, text=True, timeout=3600, check=False)  # fmt: skip
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip().splitlines()[-1]}")


def table_fingerprints(url: str) -> dict[str, tuple[int, str]]:
    """Per table: row count and md5 of all rows (as text) in primary-key order."""
    out = {}
    with psycopg.connect(_libpq(url)) as conn:
        for table in TABLES:
            row = conn.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') "  # noqa: S608
                f"FROM {table} AS t"
            ).fetchone()
            assert row is not None
            out[table] = (int(row[0]), str(row[1]))
    return out


def row_counts(url: str) -> str:
    """``340 stations, 400 enterprises, …``: what a backup or restore says it moved."""
    return ", ".join(f"{n} {t}" for t, (n, _) in table_fingerprints(url).items())
