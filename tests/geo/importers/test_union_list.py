"""A union's own list of rest points, as a new user brings it: ``id,name,address,district,city,
lat,lng,coord_system,…``, no ``kind`` column, Amap and GPS points mixed row by row.

The rows are written here (illustrative names and places in Fengtai, not a real list).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import text

from geo.crs import bd09_to_wgs84, gcj02_to_wgs84
from geo.importers.files import ImportKind, import_file

HEADER = ["id", "name", "address", "district", "city", "lat", "lng", "coord_system",
          "opening_hours"]  # fmt: skip
SYSTEMS = ("gcj02", "GCJ-02", "wgs84", "bd09")  # as the sheet spells them


def union_list(path: Path, bad_system_at: int | None = None) -> Path:
    """22 rest points along 京港澳高速 in Fengtai; row ``bad_system_at`` names no real system."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for n in range(22):
            system = SYSTEMS[n % len(SYSTEMS)]
            if n == bad_system_at:
                system = "高德坐标?"
            out.writerow([f"ul-{n:02d}", f"丰台第{n + 1}暖心驿站", f"丰台区某路{n + 1}号", "丰台区",
                          "北京市", f"{39.83 + n * 0.002:.6f}", f"{116.21 + n * 0.003:.6f}",
                          system, "Mo-Su 08:00-20:00"])  # fmt: skip
    return path


IGNORED = {"district": "", "city": ""}  # columns the list has and our records do not


def test_without_a_kind_every_row_is_refused_and_named(session, tmp_path):
    path = union_list(tmp_path / "union.csv")
    report = import_file(session, path, ImportKind.STATIONS, mapping=IGNORED)
    assert report.inserted == 0 and len(report.rejected) == 22
    assert {(r.column, r.reason) for r in report.rejected} == {("kind", "Field required")}
    assert [r.location for r in report.rejected][:2] == ["line 2", "line 3"]


def test_a_default_kind_and_each_rows_own_system(session, tmp_path):
    path = union_list(tmp_path / "union.csv", bad_system_at=5)
    report = import_file(session, path, ImportKind.STATIONS, mapping=IGNORED,
                         defaults={"kind": "rest_point"})  # fmt: skip
    assert report.inserted == 21
    [bad] = report.rejected
    assert (bad.location, bad.column) == ("line 7", "coord_system")
    assert "unknown coordinate system" in bad.reason
    stored = {row.external_id: row for row in session.execute(text(
        "SELECT external_id, kind, source_crs, ST_X(geom) AS lon, ST_Y(geom) AS lat "
        "FROM stations WHERE external_id LIKE 'ul-%'"))}  # fmt: skip
    convert = {"gcj02": gcj02_to_wgs84, "GCJ-02": gcj02_to_wgs84, "bd09": bd09_to_wgs84,
               "wgs84": lambda x, y: (x, y)}  # fmt: skip
    for n in (0, 1, 2, 3):
        row = stored[f"ul-{n:02d}"]
        lon, lat = convert[SYSTEMS[n]](116.21 + n * 0.003, 39.83 + n * 0.002)
        assert row.lon == pytest.approx(lon, abs=1e-7) and row.lat == pytest.approx(lat, abs=1e-7)
        assert row.kind == "rest_point"
        assert row.source_crs == SYSTEMS[n].lower().replace("-", "")
    assert stored["ul-00"].lon != pytest.approx(116.21, abs=1e-4)  # GCJ-02 was moved ~500 m


def test_an_exports_source_crs_is_provenance_and_converts_nothing(session, tmp_path):
    """Our records export writes WGS-84 with ``source_crs`` = where a point first came from:
    reading it back must not convert it a second time."""
    path = tmp_path / "export.csv"
    path.write_text("external_id,source,kind,name,lon,lat,source_crs\n"
                    "ex-1,test,rest_point,导出驿站,116.2200000,39.8500000,gcj02\n",
                    encoding="utf-8")  # fmt: skip
    assert import_file(session, path, ImportKind.STATIONS).inserted == 1
    lon, lat, crs = session.execute(text("SELECT ST_X(geom), ST_Y(geom), source_crs FROM stations "
                                         "WHERE external_id = 'ex-1'")).one()  # fmt: skip
    assert (lon, lat, crs) == (pytest.approx(116.22, abs=1e-9), pytest.approx(39.85, abs=1e-9),
                               "gcj02")  # fmt: skip
