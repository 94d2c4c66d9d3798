"""FlatGeobuf, GeoParquet, Shapefile and KML: exported with our fields, labelled with their
coordinate system where the format can say it, and imported back to the same places and values
through the same validation and report as every other file (issue 17)."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import geopandas
import pyogrio
import pytest
import shapely
from pyproj import CRS
from sqlalchemy import text

from geo.crs import CoordSystem, shifted_system
from geo.errors import InvalidInputError
from geo.exporters.files import (
    ENTERPRISE_FIELDS,
    STATION_FIELDS,
    fetch_rows,
    write_rows,
)
from geo.importers.files import ImportKind, import_file

OGRINFO = Path("/usr/bin/ogrinfo")
LABELLED = [".fgb", ".parquet", ".shp"]  # formats that carry a CRS of any kind
EVERY = [*LABELLED, ".kml"]
COMPARED = [f for f in STATION_FIELDS if f not in ("lon", "lat")]  # every other field


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[1] - b[1]) * 111_320
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, dy)


def _by_id(session, table: str = "stations") -> dict[str, dict]:
    return {row["external_id"]: row for row in fetch_rows(session.connection(), table)}


def _crs_of(path: Path) -> CRS:
    if path.suffix == ".parquet":
        return geopandas.read_parquet(path).crs
    return CRS.from_user_input(pyogrio.read_info(path)["crs"])


@pytest.mark.parametrize("suffix", EVERY)
def test_stations_go_out_and_come_back_the_same(session, tmp_path, suffix):
    before = _by_id(session)
    path = tmp_path / f"stations{suffix}"
    assert write_rows(list(before.values()), path, fields=STATION_FIELDS) == len(before)
    session.execute(text("DELETE FROM stations"))
    report = import_file(session, path, ImportKind.STATIONS, strict=True)
    assert (report.inserted, report.rejected) == (len(before), ())
    after = _by_id(session)
    assert after.keys() == before.keys()
    for key, old in before.items():
        new = after[key]
        assert _metres((old["lon"], old["lat"]), (new["lon"], new["lat"])) < 0.05, key
        for field in COMPARED:
            assert new[field] == old[field], (key, field, old[field], new[field])


@pytest.mark.parametrize("suffix", LABELLED)
@pytest.mark.parametrize("crs", [CoordSystem.GCJ02, CoordSystem.BD09])
def test_shifted_points_are_labelled_and_import_back_without_crs(session, tmp_path, suffix, crs):
    before = _by_id(session)
    path = tmp_path / f"stations{suffix}"
    write_rows(list(before.values()), path, fields=STATION_FIELDS, crs=crs)
    declared = _crs_of(path)
    assert declared.to_epsg() is None and shifted_system(declared) is crs
    session.execute(text("DELETE FROM stations"))
    import_file(session, path, ImportKind.STATIONS, strict=True)  # no --crs: the label says it
    after = _by_id(session)
    assert max(_metres((b["lon"], b["lat"]), (after[k]["lon"], after[k]["lat"]))
               for k, b in before.items()) < 0.5  # fmt: skip


@pytest.mark.parametrize("suffix", [".fgb", ".shp"])
def test_gdal_itself_names_the_system(session, tmp_path, suffix):
    assert OGRINFO.exists(), "ogrinfo is required (Debian package gdal-bin)"
    path = tmp_path / f"stations{suffix}"
    write_rows(fetch_rows(session.connection(), "stations"), path, fields=STATION_FIELDS,
               crs=CoordSystem.GCJ02)  # fmt: skip
    out = subprocess.run([str(OGRINFO), "-so", "-al", str(path)], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    # ESRI's WKT of a .prj spells the name GCS_GCJ-02_not_EPSG_4326
    named = "GCJ-02 (not EPSG:4326)" if suffix == ".fgb" else "GCS_GCJ-02_not_EPSG_4326"
    assert named in out and 'ID["EPSG",4326]' not in out


@pytest.mark.parametrize("crs", [CoordSystem.GCJ02, CoordSystem.BD09])
def test_kml_refuses_shifted_points_as_geojson_does(session, tmp_path, crs):
    path = tmp_path / "stations.kml"
    with pytest.raises(InvalidInputError, match=r"KML is WGS-84 by definition"):
        write_rows(fetch_rows(session.connection(), "stations"), path, fields=STATION_FIELDS,
                   crs=crs)  # fmt: skip
    assert not path.exists()


def test_shapefile_names_are_short_and_documented_and_read_back_long(session, tmp_path):
    path = tmp_path / "stations.shp"
    write_rows(fetch_rows(session.connection(), "stations"), path, fields=STATION_FIELDS)
    columns = [c for c in pyogrio.read_dataframe(path).columns if c != "geometry"]
    assert all(len(c) <= 10 for c in columns), columns  # dBase's limit, never truncated by GDAL
    assert "hours" in columns and "ext_id" in columns
    assert path.with_suffix(".cpg").read_text().strip().upper() in {"UTF-8", "UTF8"}


def test_a_too_long_value_for_a_shapefile_is_refused_not_cut(session, tmp_path):
    rows = fetch_rows(session.connection(), "stations")
    rows[0] = rows[0] | {"access_condition": "刷脸" * 200}  # 1,200 bytes: dBase holds 254
    path = tmp_path / "stations.shp"
    with pytest.raises(InvalidInputError, match=r"254 bytes.*access_condition"):
        write_rows(rows, path, fields=STATION_FIELDS)
    assert not path.exists()


def test_enterprises_round_trip_through_every_vector_format(session, tmp_path):
    before = _by_id(session, "enterprises")
    for suffix in EVERY:
        path = tmp_path / f"enterprises{suffix}"
        write_rows(list(before.values()), path, fields=ENTERPRISE_FIELDS)
        session.execute(text("DELETE FROM enterprises"))
        report = import_file(session, path, ImportKind.ENTERPRISES, strict=True)
        assert report.inserted == len(before), suffix
        after = _by_id(session, "enterprises")
        for key, old in before.items():
            for field in ENTERPRISE_FIELDS:
                if field not in ("lon", "lat"):
                    assert after[key][field] == old[field], (suffix, key, field)


@pytest.mark.parametrize("suffix", [".fgb", ".parquet"])
def test_a_bad_feature_is_reported_by_its_number_and_the_rest_are_written(session, tmp_path,
                                                                          suffix):  # fmt: skip
    frame = geopandas.GeoDataFrame(
        {"external_id": ["a", "b", "c"], "name": ["甲驿站", "乙驿站", "丙驿站"],
         "kind": ["rest_point", "rest_point", "no_such_kind"]},
        geometry=[shapely.Point(116.30, 39.85), shapely.box(116.3, 39.8, 116.31, 39.81),
                  shapely.Point(116.31, 39.86)],
        crs=4326,
    )  # fmt: skip
    path = tmp_path / f"bad{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        pyogrio.write_dataframe(frame, path, driver="FlatGeobuf")
    # A FlatGeobuf's spatial index orders its features: numbers are the file's order, as
    # GDAL and QGIS read it.
    order = list(geopandas.read_parquet(path)["external_id"] if suffix == ".parquet"
                 else pyogrio.read_dataframe(path)["external_id"])  # fmt: skip
    number = {key: f"feature {order.index(key) + 1}" for key in order}
    session.execute(text("DELETE FROM stations"))
    report = import_file(session, path, ImportKind.STATIONS)
    reasons = {(r.location, r.column): r.reason for r in report.rejected}
    assert "Point" in reasons[(number["b"], "geometry")]
    assert "no_such_kind" in reasons[(number["c"], "kind")]
    assert report.inserted == 1 and set(_by_id(session)) == {"a"}
    with pytest.raises(InvalidInputError):  # strict: nothing is written at all
        import_file(session, path, ImportKind.STATIONS, strict=True)


def test_a_parquet_file_that_is_not_geoparquet_is_a_clear_error(session, tmp_path):
    import pandas as pd

    path = tmp_path / "plain.parquet"
    pd.DataFrame({"name": ["x"]}).to_parquet(path)
    with pytest.raises(InvalidInputError, match="not a GeoParquet file"):
        import_file(session, path, ImportKind.STATIONS)
    junk = tmp_path / "junk.parquet"
    junk.write_text("name,lon,lat\nx,116.3,39.8\n", encoding="utf-8")  # a CSV, misnamed
    with pytest.raises(InvalidInputError, match=r"junk\.parquet: not a GeoParquet file"):
        import_file(session, junk, ImportKind.STATIONS)


def test_a_file_of_several_layers_is_refused_naming_them(session, tmp_path):
    path = tmp_path / "two.gpkg"
    layer = geopandas.GeoDataFrame({"name": ["甲"], "kind": ["rest_point"]},
                                   geometry=[shapely.Point(116.3, 39.85)], crs=4326)  # fmt: skip
    pyogrio.write_dataframe(layer, path, layer="rest_points")
    pyogrio.write_dataframe(layer, path, layer="water_points", append=False)
    with pytest.raises(InvalidInputError, match=r"2 layers \(rest_points, water_points\)"):
        import_file(session, path, ImportKind.STATIONS)


@pytest.mark.parametrize("suffix", [".fgb", ".kml", ".gpkg"])
def test_a_corrupt_file_is_a_clear_error(session, tmp_path, suffix):
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(InvalidInputError, match=f"broken\\{suffix}"):
        import_file(session, path, ImportKind.STATIONS)


def test_a_mapping_names_the_columns_of_a_vector_file(session, tmp_path):
    frame = geopandas.GeoDataFrame(
        {"编号": ["m-1"], "驿站名": ["映射驿站"], "kind": ["rest_point"], "备注": ["内部"]},
        geometry=[shapely.Point(116.30, 39.85)], crs=4326,
    )  # fmt: skip
    path = tmp_path / "mapped.fgb"
    pyogrio.write_dataframe(frame, path, driver="FlatGeobuf")
    mapping = {"编号": "external_id", "驿站名": "name", "备注": ""}
    report = import_file(session, path, ImportKind.STATIONS, mapping=mapping, strict=True)
    assert report.inserted == 1 and _by_id(session)["m-1"]["name"] == "映射驿站"


def test_a_too_long_column_name_for_a_shapefile_is_refused(tmp_path):
    from geo.exporters.vector import write_frame

    frame = geopandas.GeoDataFrame({"a_very_long_name": [1]},
                                   geometry=[shapely.Point(116.3, 39.8)], crs=4326)  # fmt: skip
    with pytest.raises(InvalidInputError, match="names of 10 characters"):
        write_frame(frame, tmp_path / "x.shp")
