"""``nuanxin coverage`` as a planner runs it: a real process on a database of its own."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from cli.main import app
from geo.config import get_settings
from tests.cli.test_main import run
from tests.conftest import FIXTURES


def test_coverage_command_ranks_lugouqiao_and_reports_the_planned_station(
    scratch_database_url, tmp_path, monkeypatch
):
    """A planner's run on the bundled data: ranking, what-if, report files, clear errors."""
    url = scratch_database_url
    run("db", "upgrade", url=url)
    run("load", url=url)  # the bundled data/
    other = tmp_path / "boundaries_tiny.geojson"  # a copy: the import report lands beside it
    shutil.copy(FIXTURES / "boundaries_tiny.geojson", other)
    run("import", "boundaries", str(other), url=url)  # a second vintage, "test"
    several = run("coverage", "--boundary", "110106017000", url=url, check=False)
    assert several.returncode == 1
    assert "several vintages (illustrative-2026, test); choose one with --vintage" in several.stderr
    edition = ["--vintage", "illustrative-2026"]
    what_if = tmp_path / "open-third.csv"
    what_if.write_text("action,id\nopen,ft-station-110106017000-3\n", encoding="utf-8")
    result = run("coverage", "--boundary", "110106000000", "--what-if", str(what_if),
                 "--out", str(tmp_path / "report"), "--top", "30", *edition, url=url)  # fmt: skip
    lines = result.stdout.splitlines()
    first = next(line for line in lines if "110106" in line)
    assert "卢沟桥街道" in first and first.split("│")[1].strip() == "1"
    assert sum("110106" in line for line in lines) >= 26
    change = next(line for line in lines if "卢沟桥街道" in line and "→" in line)
    assert "3 → 4" in change
    assert "straight line × detour factor 1.3" in result.stdout
    assert "illustrative" in result.stdout  # where the populations came from
    report = tmp_path / "report"
    assert {p.name for p in report.iterdir()} >= {"coverage.csv", "coverage.png", "what-if.csv"}

    evening = run("coverage", "--boundary", "110106017000", "--at", "2026-11-29T05:00",
                  "--kind", "rest_point", "--kind", "water_point", *edition, url=url)  # fmt: skip
    assert "open at 2026-11-29T05:00+08:00" in evening.stdout
    assert "kinds rest_point, water_point" in evening.stdout

    homes = tmp_path / "homes.geojson"
    homes.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                     '"geometry": {"type": "Point", "coordinates": [116.27, 39.86]}, '
                     '"properties": {"households": 120}}]}', encoding="utf-8")  # fmt: skip
    weighted = run("coverage", "--boundary", "110106017000", "--weights", str(homes),
                   "--weight-column", "households", *edition, url=url)  # fmt: skip
    assert "by points of homes.geojson weighted by households" in weighted.stdout

    # Bad input in-process (CliRunner): the same code path without an interpreter start each.
    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    get_settings.cache_clear()
    for args, message in [
        (["--boundary", "110199000000"], "no subdistrict boundary with code or parent code"),
        (["--boundary", "12345"], "is not 12 digits"),
        (["--at", "sunday morning"], "is not an ISO time"),
        (["--kind", "teahouse"], "unknown kind teahouse"),
        (["--walk", "0"], "must be positive"),
        (["--weights", str(homes)], "weight points have no 'weight' column"),
    ]:
        bad = CliRunner().invoke(app, ["coverage", *args, *edition])
        assert bad.exit_code == 1, (args, bad.output)
        assert message in bad.stderr and "Traceback" not in bad.output, bad.output
    get_settings.cache_clear()
