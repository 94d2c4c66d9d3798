"""``nuanxin site`` as a planner runs it on the bundled data, in a database of its own."""

from __future__ import annotations

import geopandas
from typer.testing import CliRunner

from cli.main import app
from geo.config import get_settings
from tests.cli.test_main import run


def test_site_proposes_lugouqiao_rates_the_planned_station_and_refuses_bad_input(
    scratch_database_url, tmp_path, monkeypatch
):
    url = scratch_database_url
    run("db", "upgrade", url=url)
    run("load", url=url)
    out = tmp_path / "proposals.geojson"
    result = run("site", "--boundary", "110106000000", "--p", "3", "--out", str(out), url=url)
    lines = result.stdout.splitlines()
    ranked = [line for line in lines if line.startswith("│    ")]
    assert len(ranked) >= 3 and "卢沟桥街道 (110106017000)" in ranked[0]
    assert "status Optimal" in result.stdout
    assert "923 m straight" in result.stdout  # the coverage analysis's walk, stated
    planned = next(line for line in lines if "卢沟桥街道工会服务站（三站" in line)
    assert "卢沟桥街道" in planned
    proposals = geopandas.read_file(out)
    assert list(proposals["rank"]) == [1, 2, 3]
    assert (proposals.gain_residents > 0).all()

    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        for args, message in [
            (["--p", "0"], "--p must be at least 1"),
            (["--boundary", "110199000000"], "no subdistrict boundary with code or parent code"),
            (["--model", "lscp", "--target", "1.5"], "target"),
            (["--alpha", "2"], "alpha"),
            (["--out", str(tmp_path / "x.txt"), "--method", "heuristic"], ".geojson, .gpkg or"),
        ]:
            bad = CliRunner().invoke(app, ["site", "--boundary", "110106017000", *args])
            assert bad.exit_code == 1, (args, bad.output)
            assert message in bad.stderr and "Traceback" not in bad.output, bad.output
    finally:
        get_settings.cache_clear()
