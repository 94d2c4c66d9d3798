"""The ``nuanxin`` command, run as a newcomer runs it (a real process, a real database)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from cli.main import app
from geo.store import migrate
from tests.browser import free_port
from tests.conftest import FIXTURES

NUANXIN = Path(sys.executable).with_name("nuanxin")
COMMANDS = [[], ["db"], ["db", "upgrade"], ["db", "downgrade"], ["db", "current"], ["db", "url"],
            ["db", "backup"], ["db", "restore"], ["users"], ["users", "add"], ["users", "list"],
            ["users", "revoke"],
            ["load"], ["import"], ["coverage"], ["site"], ["map"], ["serve"], ["up"]]  # fmt: skip


def run(*args: str, url: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    if url:
        env["NUANXIN_DATABASE_URL"] = url
    result = subprocess.run([NUANXIN, *args], capture_output=True, text=True, env=env,
                            timeout=120, check=False)  # fmt: skip
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "nuanxin")
def test_every_command_has_help(command):
    """In-process (CliRunner) to save a 3 s interpreter start per command."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """A data dir laid out like data/, holding the tiny fixtures."""
    root = tmp_path_factory.mktemp("bundle")
    for kind in ("boundaries", "stations", "enterprises"):
        (root / kind).mkdir()
        shutil.copy(FIXTURES / f"{kind}_tiny.geojson", root / kind)
    return root


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_upgrade_load_twice_import_and_downgrade(scratch_database_url, bundle, tmp_path):
    url = scratch_database_url
    head = migrate.head_revision()
    assert f"schema at revision {head}" in run("db", "upgrade", url=url).stdout
    assert f"current: {head}" in run("db", "current", url=url).stdout

    first = run("load", "--data-dir", str(bundle), url=url).stdout
    assert "stations_tiny.geojson: 3 inserted, 0 updated, 0 unchanged, 0 rejected" in first
    second = run("load", "--data-dir", str(bundle), url=url).stdout
    assert "stations_tiny.geojson: 0 inserted, 0 updated, 3 unchanged, 0 rejected" in second
    assert _count(url, "stations") == 3

    bad = tmp_path / "bad.geojson"
    shutil.copy(FIXTURES / "stations_bad_rows.geojson", bad)
    strict = run("import", "stations", str(bad), "--strict", url=url, check=False)
    assert strict.returncode == 1
    assert strict.stderr.startswith("error: bad.geojson feature 2: lon")
    assert "Traceback" not in strict.stderr
    assert _count(url, "stations") == 3

    partial = run("import", "stations", str(bad), url=url, check=False)
    assert partial.returncode == 3, partial.stderr  # some written, some rejected: a script can tell
    lenient = partial.stdout
    assert "1 inserted, 0 updated, 0 unchanged, 7 rejected" in lenient
    assert "feature 3: kind: unknown StationKind 'teahouse'" in lenient
    rejected = (tmp_path / "bad.geojson.rejected.csv").read_text(encoding="utf-8").splitlines()
    assert len(rejected) == 8
    report = json.loads((tmp_path / "bad.geojson.import-report.json").read_text(encoding="utf-8"))
    assert report["inserted"] == 1 and len(report["rejected"]) == 7
    assert _count(url, "stations") == 4
    same = shutil.copy(FIXTURES / "stations_tiny.geojson", tmp_path)  # reports land beside it
    again = run("import", "stations", str(same), url=url)
    assert again.returncode == 0 and "3 unchanged, 0 rejected" in again.stdout
    hopeless = tmp_path / "hopeless.csv"
    hopeless.write_text("external_id,name,kind,lon,lat\nh1,Nowhere,rest_point,999,39.9\n",
                        encoding="utf-8")  # fmt: skip
    nothing = run("import", "stations", str(hopeless), url=url, check=False)
    assert nothing.returncode == 1
    assert "every row of hopeless.csv was rejected; nothing was written" in nothing.stderr
    assert _count(url, "stations") == 4
    shifted = run("export", "stations", str(tmp_path / "x.geojson"), "--crs", "gcj02", url=url,
                  check=False)  # fmt: skip
    assert shifted.returncode == 1 and "GeoJSON is WGS-84 by definition" in shifted.stderr
    assert len(shifted.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.geojson").exists()
    labelled = run("export", "stations", str(tmp_path / "x.gpkg"), "--crs", "gcj02", url=url)
    assert "(records, gcj02)" in labelled.stdout
    sheet = run("export", "stations", str(tmp_path / "x.csv"), "--crs", "bd09", url=url)
    assert "no CRS in the file: import it back with --crs bd09" in sheet.stdout

    out = run("export", "stations", str(tmp_path / "amap.csv"), "--layout", "amap", url=url)
    assert "4 stations written" in out.stdout and "gcj02" in out.stdout
    assert (tmp_path / "amap.csv").read_text(encoding="utf-8-sig").startswith("名称,地址,经度")
    hsds = run("export", "stations", str(tmp_path / "hsds"), "--layout", "hsds", url=url)
    assert "HSDS 3.0" in hsds.stdout
    assert (tmp_path / "hsds" / "datapackage.json").exists()
    wrong = run(
        "export", "stations", str(tmp_path / "x.csv"), "--crs", "mars", url=url, check=False
    )
    assert wrong.returncode == 1 and "unknown coordinate system 'mars'" in wrong.stderr

    assert "schema at revision base" in run("db", "downgrade", "base", url=url).stdout


def test_unreachable_database_is_one_clear_line(tmp_path):
    result = run("db", "current", url="postgresql://nobody:x@127.0.0.1:1/none", check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "127.0.0.1" in result.stderr or "connect" in result.stderr.lower()


def test_a_database_without_the_schema_is_one_line_saying_to_upgrade(scratch_database_url):
    for command in (["site", "--boundary", "110106000000", "--p", "2"],
                    ["coverage", "--boundary", "110106000000"]):  # fmt: skip
        result = run(*command, url=scratch_database_url, check=False)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
        assert "no schema yet" in result.stderr and "nuanxin db upgrade" in result.stderr


def test_an_export_that_cannot_be_written_is_one_line(engine, database_url, tmp_path):
    """GDAL's formats and our own writers alike: the file named, no traceback, exit 1 (the
    session's tiny stations: this module's scratch database is test_up's)."""
    for name in ("x.gpkg", "x.fgb", "x.csv", "x.geojson"):
        target = tmp_path / "no-such-folder" / name
        result = run("export", "stations", str(target), url=database_url, check=False)
        assert result.returncode == 1, (name, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, name
        assert "no-such-folder" in result.stderr, name


def test_up_migrates_loads_and_serves(scratch_database_url, bundle):
    """The main job end to end: a real process, a real port, then a clean shutdown."""
    port = free_port()
    env = {**os.environ, "NUANXIN_DATABASE_URL": scratch_database_url,
           "NUANXIN_DATA_DIR": str(bundle), "NUANXIN_API__PORT": str(port)}  # fmt: skip
    process = subprocess.Popen([NUANXIN, "up"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.stdout.read() if process.stdout else "") from None
                time.sleep(0.3)
        assert health.status_code == 200
        stations = httpx.get(f"http://127.0.0.1:{port}/stations").json()
        assert stations["numberReturned"] == 3
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "stations_tiny.geojson: 3 inserted" in output
    assert process.returncode == 0


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"nuanxin {version('nuanxin')}"
