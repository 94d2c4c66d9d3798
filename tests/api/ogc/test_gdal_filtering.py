"""GDAL's OAPIF driver sends its ``-where`` to our server as CQL, and gets the right features.

Two GDALs read a real server on the bundled data: Debian's ``ogrinfo`` (GDAL 3.6) and the
GDAL inside pyogrio's wheel (3.12 here). Each must find our filter support on its own (the
OpenAPI document at ``/ogc/api``, ``/queryables``), send the condition to the server rather than
page through everything, and return exactly the rows PostgreSQL finds for the same condition.
The server is its own process: pyogrio holds the GIL while GDAL waits for the answer.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyogrio
import pytest

from tests.browser import serve_process

OGRINFO = Path("/usr/bin/ogrinfo")
CONDITIONS = [
    ("kind = 'rest_point' AND seats > 3", "kind = 'rest_point' AND seats > 3"),
    ("name LIKE '%驿站%' OR seats BETWEEN 2 AND 5",
     "name LIKE '%驿站%' OR seats BETWEEN 2 AND 5"),
    ("NOT (status = 'open')", "NOT (status = 'open')"),
    ("opened_on >= '2024-01-01'", "opened_on >= DATE '2024-01-01'"),
]  # fmt: skip


@pytest.fixture(scope="module")
def server(bundled_database_url: str) -> Iterator[str]:
    with serve_process(bundled_database_url) as (_, base):
        yield base


def names_in_db(url: str, condition: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT name FROM stations WHERE deleted_at IS NULL AND ({condition})"
        ).fetchall()
    return {r[0] for r in rows}


def ogrinfo(*args: str) -> subprocess.CompletedProcess[str]:
    assert OGRINFO.exists(), "ogrinfo is required (Debian package gdal-bin)"
    return subprocess.run([str(OGRINFO), "-ro", *args], capture_output=True, text=True,
                          timeout=120, env={"CPL_DEBUG": "ON", "PATH": "/usr/bin:/bin"},
                          check=False)  # fmt: skip


@pytest.mark.parametrize(("where", "sql"), CONDITIONS, ids=[c[0] for c in CONDITIONS])
def test_gdal_3_6_sends_the_where_as_cql_and_gets_the_rows_postgis_finds(
    server, bundled_database_url, where, sql
):
    result = ogrinfo("-al", "-q", f"OAPIF:{server}/ogc", "stations", "-where", where,
                     "-fields=YES", "-geom=NO")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    log = result.stderr
    assert "CQL text detected" in log, log[-2000:]
    assert "evaluated on client side" not in log, log[-2000:]
    assert "filter-lang=cql-text" in log and "&filter=" in log
    found = {line.split("=", 1)[1].strip() for line in result.stdout.splitlines()
             if line.strip().startswith("name (String) =")}  # fmt: skip
    expected = names_in_db(bundled_database_url, sql)
    assert found == expected and expected


@pytest.mark.parametrize(("where", "sql"), CONDITIONS[:2], ids=[c[0] for c in CONDITIONS[:2]])
def test_gdal_in_pyogrio_filters_on_the_server_too(server, bundled_database_url, where,
                                                   sql, capfd):  # fmt: skip
    pyogrio.set_gdal_config_options({"CPL_DEBUG": "ON"})
    try:
        frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="stations",
                                       where=where)  # fmt: skip
    finally:
        pyogrio.set_gdal_config_options({"CPL_DEBUG": None})
    log = capfd.readouterr().err
    assert "CQL text detected" in log and "evaluated on client side" not in log, log[-2000:]
    assert set(frame["name"]) == names_in_db(bundled_database_url, sql)
    assert len(frame) == len(set(frame["name"]))
    assert frame.crs is not None and frame.crs.to_string() == "OGC:CRS84"
    assert frame.geometry.x.between(115.4, 117.6).all()  # lon first: CRS84 was asked for
    assert "crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84" in log
