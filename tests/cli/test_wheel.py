"""The built wheel works without the checkout: migrations, pages and the bundled data inside,
and `nuanxin up` from it serves them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import psycopg

from geo.config import PROJECT_ROOT
from tests.browser import free_port, wait_until_healthy

UV = PROJECT_ROOT / ".nuanxin" / "tools" / "bin" / "uv"


def test_the_wheel_loads_its_own_bundled_data(scratch_database_url, tmp_path):
    assert UV.exists(), "uv is installed by `make python-env`"
    subprocess.run([str(UV), "build", "--wheel", "-o", str(tmp_path / "dist"), str(PROJECT_ROOT)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("nuanxin-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "geo/bundled_data/stations/stations.geojson" in names
    assert "maps/static/locator.js" in names and "geo/store/migrations/env.py" in names
    target = tmp_path / "site"
    subprocess.run([str(UV), "pip", "install", "--no-deps", "--python", sys.executable,
                    "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    # The installed copy first on the path, run from elsewhere: nothing of the checkout is used.
    env = {**os.environ, "PYTHONPATH": str(target), "NUANXIN_DATABASE_URL": scratch_database_url}
    env.pop("NUANXIN_DATA_DIR", None)
    probe = "import geo.config as c; print(c.__file__, c.get_settings().data_dir)"
    where = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    module, data_dir = where.stdout.split()
    assert Path(module).is_relative_to(target) and Path(data_dir).is_relative_to(target)
    # `up` migrates, loads the bundled data and serves, all from the installed copy.
    port = free_port()
    up = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "up",
                           "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        served = wait_until_healthy(base, up, 90)
        if served:
            items = httpx.get(f"{base}/ogc/collections/stations/items", params={"limit": 1})
            assert items.status_code == 200 and items.json()["numberMatched"] == 340
            assert httpx.get(f"{base}/map").status_code == 200
            page = httpx.get(f"{base}/")  # the worker's page, its script served from the wheel
            (script,) = re.findall(r'src="(/static/locator\.js\?v=\w+)"', page.text)
            assert httpx.get(f"{base}{script}").status_code == 200
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
        out, err = up.communicate(timeout=30)
    assert served, f"`nuanxin up` from the wheel did not serve:\n{out}\n{err}"
    assert up.returncode == 0, err
    assert "stations.geojson: 340 inserted" in out
    with psycopg.connect(scratch_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM stations").fetchone()[0] == 340
