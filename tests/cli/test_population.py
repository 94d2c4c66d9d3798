"""``nuanxin import population`` as a planner runs it, and the coverage it fixes."""

from __future__ import annotations

import psycopg

from tests.cli.test_main import bundle, run  # noqa: F401 (bundle is a fixture)

WEST, EAST = "110106017000", "110106001000"


def test_population_import_exit_codes_and_the_ranking_it_fixes(scratch_database_url, bundle,  # noqa: F811
                                                                tmp_path):  # fmt: skip
    url = scratch_database_url
    run("db", "upgrade", url=url)
    run("load", "--data-dir", str(bundle), url=url)
    with psycopg.connect(url) as conn:  # as after importing boundaries that carry no figures
        conn.execute("UPDATE boundaries SET population = NULL, population_year = NULL, "
                     "population_source = NULL WHERE level = 'subdistrict'")  # fmt: skip
    before = run("coverage", "--boundary", "110106000000", url=url).stdout
    assert "nan" not in before and "—" in before and "%*" in before  # by area, and said so
    assert "shares: 2 of 2 boundaries have no population" in before.replace("\n", " ")

    sheet = tmp_path / "街道人口.csv"
    sheet.write_text(f"代码,常住人口,年份\n{WEST},120000,2020\n{EAST},-3,2020\n", encoding="utf-8")
    partial = run("import", "population", str(sheet), url=url, check=False)
    assert partial.returncode == 3, partial.stderr
    assert "1 boundaries given a 2020 population" in partial.stdout
    refused = "rejected line 3: population: not a whole number of residents ≥ 0: '-3'"
    assert refused in partial.stdout
    strict = run("import", "population", str(sheet), "--strict", url=url, check=False)
    assert strict.returncode == 1 and "nothing was written" in strict.stderr

    sheet.write_text("code,population,year\n110106000000,200000,2020\n", encoding="utf-8")
    spread = run("import", "population", str(sheet), url=url)  # exit 0
    assert "测试区 total 200,000 spread over 2 subdistricts by area" in spread.stdout
    with psycopg.connect(url) as conn:
        total = conn.execute("SELECT sum(population) FROM boundaries "
                             "WHERE level = 'subdistrict'").fetchone()[0]  # fmt: skip
    assert total == 200000
    after = run("coverage", "--boundary", "110106000000", url=url).stdout
    table = after.split("demand:")[0]
    assert "%*" not in table and "—" not in table and "shares:" not in after
    assert "spread over 2 subdistricts by area (2020)" in after.replace("\n", " ")
    run("db", "downgrade", "base", url=url)
