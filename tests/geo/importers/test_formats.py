"""Every format in and out: round trips, GCJ-02 sheets with bad rows, crashes, history."""

from __future__ import annotations

import json
import math

import geopandas
import pytest
from shapely import box
from sqlalchemy import text

from bench.workload import write_station_sheet
from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.exporters.files import (
    ENTERPRISE_FIELDS,
    STATION_FIELDS,
    ExportLayout,
    fetch_rows,
    write_boundaries,
    write_rows,
)
from geo.importers import files as files_module
from geo.importers import upsert as upsert_module
from geo.importers.coords import parse_source_crs
from geo.importers.files import ImportKind, import_file
from geo.store.db import session_scope
from tests.conftest import FIXTURES


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[1] - b[1]) * 111_320
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, dy)


def test_10k_gcj02_sheet_keeps_good_rows_reports_bad_ones_and_reruns_as_noop(session, tmp_path):
    sheet = tmp_path / "gcj02.csv"
    bad_lines, truth = write_station_sheet(sheet)
    report = import_file(session, sheet, ImportKind.STATIONS, crs=CoordSystem.GCJ02)
    assert report.inserted == len(truth)
    assert {int(r.location.split()[1]) for r in report.rejected} == set(bad_lines)
    assert all(r.file == "gcj02.csv" and r.column and r.reason for r in report.rejected)

    stored = dict(session.execute(text(
        "SELECT external_id, ARRAY[ST_X(geom), ST_Y(geom)] FROM stations WHERE source = 'gcj02'"
    )).all())  # fmt: skip
    worst = max(_metres(tuple(stored[k]), v) for k, v in truth.items())
    assert worst < 0.5, f"GCJ-02 → WGS-84 off by {worst:.3f} m"

    again = import_file(session, sheet, ImportKind.STATIONS, crs=CoordSystem.GCJ02)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(truth))


def test_swapped_coordinates_are_rejected_with_a_reason(session, tmp_path):
    path = tmp_path / "swapped.csv"
    path.write_text("编号,名称,类型,经度,纬度\nx1,驿站,暖心驿站,39.9,116.3\n", encoding="utf-8")
    report = import_file(session, path, ImportKind.STATIONS)
    assert report.inserted == 0
    assert "swapped" in report.rejected[0].reason


def test_points_outside_every_boundary_are_written_with_a_warning(session, tmp_path):
    path = tmp_path / "far.csv"
    path.write_text(
        "编号,名称,类型,经度,纬度\nf1,远处驿站,暖心驿站,121.47,31.23\n", encoding="utf-8"
    )
    report = import_file(session, path, ImportKind.STATIONS)
    assert report.inserted == 1
    assert [w.location for w in report.warnings] == ["line 2"]
    assert "no loaded boundary" in report.warnings[0].reason


def test_crash_mid_import_leaves_the_database_unchanged(engine, monkeypatch, tmp_path):
    sheet = tmp_path / "crash.csv"
    write_station_sheet(sheet, rows=300, bad_share=0)

    real_upsert = upsert_module.upsert

    def write_then_explode(*args, **kwargs):
        real_upsert(*args, **kwargs)  # the rows are in the table…
        raise RuntimeError("power cut after the rows were written")  # …then the process dies

    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), max(updated_at) FROM stations")).one()
    monkeypatch.setattr(upsert_module, "upsert", write_then_explode)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        import_file(session, sheet, ImportKind.STATIONS, crs=CoordSystem.GCJ02)
    with engine.connect() as conn:
        after = conn.execute(text("SELECT count(*), max(updated_at) FROM stations")).one()
    assert after == before


def _normalised(rows):
    out = []
    for row in rows:
        row = dict(row)
        row["lon"], row["lat"] = round(row["lon"], 6), round(row["lat"], 6)
        out.append(row)
    return sorted(out, key=lambda r: r["external_id"])


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv", ".xlsx"])
@pytest.mark.parametrize(
    ("table", "fields", "kind", "count"),
    [("stations", STATION_FIELDS, ImportKind.STATIONS, 3),
     ("enterprises", ENTERPRISE_FIELDS, ImportKind.ENTERPRISES, 2)],
)  # fmt: skip
def test_export_then_import_gives_identical_rows(
    session, tmp_path, suffix, table, fields, kind, count
):
    original = fetch_rows(session.connection(), table)
    path = tmp_path / f"{table}{suffix}"
    assert write_rows(original, path, fields=fields) == count
    session.execute(text(f"DELETE FROM {table}"))
    report = import_file(session, path, kind, strict=True)
    assert report.inserted == count
    assert _normalised(fetch_rows(session.connection(), table)) == _normalised(original)


BOUNDARY_SQL = text(
    "SELECT code, name, level, parent_code, vintage, population, population_year, "
    "population_source, communities, round(area_km2::numeric, 6), ST_AsText(ST_Normalize(geom)) "
    "FROM boundaries ORDER BY code"
)  # normalised: a Shapefile stores exterior rings clockwise, the same polygon


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".fgb", ".parquet", ".shp", ".kml"])
def test_boundaries_export_then_import_gives_identical_rows(session, tmp_path, suffix):
    original = session.execute(BOUNDARY_SQL).all()
    path = tmp_path / f"boundaries{suffix}"
    assert write_boundaries(session.connection(), path) == 3
    session.execute(text("DELETE FROM boundaries"))
    report = import_file(session, path, ImportKind.BOUNDARIES, strict=True)
    assert report.inserted == 3
    assert session.execute(BOUNDARY_SQL).all() == original


@pytest.mark.parametrize("crs", [CoordSystem.GCJ02, CoordSystem.BD09])
def test_chinese_crs_export_imports_back_to_the_same_places(session, tmp_path, crs):
    original = {r["external_id"]: (r["lon"], r["lat"])
                for r in fetch_rows(session.connection(), "stations")}  # fmt: skip
    path = tmp_path / f"stations-{crs}.csv"
    write_rows(fetch_rows(session.connection(), "stations"), path, fields=STATION_FIELDS, crs=crs)
    shifted = {
        line.split(",")[1]: line for line in path.read_text(encoding="utf-8-sig").splitlines()
    }
    assert "116.27," not in shifted["s2"]  # really shifted (100–700 m)
    session.execute(text("DELETE FROM stations"))
    import_file(session, path, ImportKind.STATIONS, crs=crs, strict=True)
    back = {
        r["external_id"]: (r["lon"], r["lat"]) for r in fetch_rows(session.connection(), "stations")
    }
    assert max(_metres(original[k], back[k]) for k in original) < 0.5


def test_platform_layouts_are_in_the_platform_crs_with_chinese_labels(session, tmp_path):
    rows = fetch_rows(session.connection(), "stations")
    path = tmp_path / "amap.csv"
    write_rows(rows, path, fields=STATION_FIELDS, layout=ExportLayout.AMAP)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "名称,地址,经度,纬度,类型,电话,营业时间,设施"
    duck = next(line for line in lines if line.startswith("烤鸭店暖心驿站"))
    assert ",暖心驿站," in duck and "热水、微波炉、手机充电" in duck
    with pytest.raises(InvalidInputError, match="always in bd09"):
        write_rows(rows, tmp_path / "x.csv", fields=STATION_FIELDS, crs=CoordSystem.GCJ02,
                   layout=ExportLayout.BAIDU)  # fmt: skip


def test_changed_row_keeps_history_of_what_changed(session, tmp_path):
    document = json.loads((FIXTURES / "stations_tiny.geojson").read_text(encoding="utf-8"))
    document["features"][1]["properties"]["opening_hours"] = "Mo-Su 06:00-22:00"
    path = tmp_path / "changed.geojson"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    import_file(session, path, ImportKind.STATIONS)
    history = session.execute(text(
        "SELECT h.changed_by, h.changes FROM row_history h JOIN stations s ON s.id = h.row_id "
        "WHERE h.table_name = 'stations' AND s.external_id = 's2'"
    )).all()  # fmt: skip
    assert history == [("import:changed.geojson", {"opening_hours": ["24/7", "Mo-Su 06:00-22:00"]})]


def _tiny_boundaries() -> geopandas.GeoDataFrame:
    # Shapefile (DBF) names hold 10 bytes: 6-byte Chinese names survive, longer ones do not.
    return geopandas.GeoDataFrame(
        {"adcode": ["110106017000", "110106001000"], "名称": ["西街道", "东街道"],
         "人口": [150000, 50000]},
        geometry=[box(116.2, 39.8, 116.25, 39.9), box(116.25, 39.8, 116.3, 39.9)], crs=4326,
    )  # fmt: skip


@pytest.mark.parametrize(("name", "driver"), [
    ("b.gpkg", "GPKG"), ("shp", "ESRI Shapefile"), ("b.kml", "KML"), ("b.geojson", "GeoJSON"),
])  # fmt: skip
def test_boundary_formats_with_chinese_columns(session, tmp_path, name, driver):
    frame = _tiny_boundaries()
    path = tmp_path / name
    if driver == "ESRI Shapefile":
        path.mkdir()
        frame.to_crs(32650).to_file(path / "b.shp", driver=driver)  # UTM 50N, with a .prj
    else:
        frame.to_file(path, driver=driver)
    # GDAL's KML adds Name/Description; ours travel as ExtendedData and come back.
    mapping = {"Name": "", "Description": ""} if driver == "KML" else {}
    defaults = {"level": "subdistrict", "vintage": driver, "population_year": 2020}
    report = import_file(session, path, ImportKind.BOUNDARIES, mapping=mapping,
                         defaults=defaults, strict=True)  # fmt: skip
    assert report.inserted == 2
    areas = dict(
        session.execute(
            text("SELECT name, area_km2 FROM boundaries WHERE vintage = :v"), {"v": driver}
        ).all()
    )
    assert areas["西街道"] == pytest.approx(47.5, rel=0.002)


def test_boundary_file_with_unknown_columns_is_refused_unless_told(session, tmp_path):
    frame = _tiny_boundaries().assign(颜色=["red", "blue"])
    path = tmp_path / "b.gpkg"
    frame.to_file(path, driver="GPKG")
    with pytest.raises(InvalidInputError, match="颜色"):
        import_file(
            session, path, ImportKind.BOUNDARIES, defaults={"level": "district", "vintage": "v"}
        )


def test_parse_source_crs():
    assert parse_source_crs("GCJ-02") is CoordSystem.GCJ02
    assert parse_source_crs("EPSG:32650").to_epsg() == 32650
    with pytest.raises(InvalidInputError, match="coordinate system"):
        parse_source_crs("mars")
    assert {".csv", ".xlsx", ".geojson", ".gpkg"} <= files_module.POINT_FORMATS
