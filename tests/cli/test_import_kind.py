"""``nuanxin import stations --kind``: a union's list without a kind column, as a new user
has it."""

from __future__ import annotations

import psycopg

from tests.cli.test_main import run
from tests.geo.importers.test_union_list import union_list


def test_kind_fills_rows_without_one_and_the_exit_codes_say_what_happened(
    scratch_database_url, tmp_path
):
    url = scratch_database_url
    run("db", "upgrade", url=url)
    path = union_list(tmp_path / "union.csv", bad_system_at=5)
    ignore = ["--map", "district=", "--map", "city="]
    refused = run("import", "stations", str(path), *ignore, url=url, check=False)
    assert refused.returncode == 1, refused.stderr  # nothing written
    assert "kind" in refused.stdout and "Field required" in refused.stdout
    written = run("import", "stations", str(path), *ignore, "--kind", "rest_point", url=url,
                  check=False)  # fmt: skip
    assert written.returncode == 3, written.stderr  # written, one row rejected
    assert "line 7" in written.stdout and "coord_system" in written.stdout
    with psycopg.connect(url) as conn:
        kinds = conn.execute("SELECT kind, count(*) FROM stations GROUP BY kind").fetchall()
    assert kinds == [("rest_point", 21)]
    wrong = run("import", "enterprises", str(path), "--kind", "rest_point", url=url, check=False)
    assert wrong.returncode == 1 and "--kind is for stations" in wrong.stderr
    unknown = run("import", "stations", str(path), "--kind", "teahouse", url=url, check=False)
    assert unknown.returncode == 2 and "teahouse" in unknown.stderr
