"""Files in GCJ-02 or BD-09 say so: a GeoPackage labels its CRS, GeoJSON refuses, and the
importers read the label back instead of taking shifted points for WGS-84 (issue 17)."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pyogrio
import pytest
import shapely
from pyproj import CRS
from sqlalchemy import text

from geo.crs import CoordSystem, convert, crs_label, shifted_system
from geo.errors import InvalidInputError
from geo.exporters.files import STATION_FIELDS, fetch_rows, write_boundaries, write_rows
from geo.importers.files import ImportKind, import_file

OGRINFO = Path("/usr/bin/ogrinfo")
SHIFTED = [CoordSystem.GCJ02, CoordSystem.BD09]


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[1] - b[1]) * 111_320
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, dy)


def _places(session) -> dict[str, tuple[float, float]]:
    return {r["external_id"]: (r["lon"], r["lat"])
            for r in fetch_rows(session.connection(), "stations")}  # fmt: skip


@pytest.mark.parametrize("crs", SHIFTED)
def test_the_label_is_no_epsg_code_and_reads_back_as_its_system(crs):
    label = CRS.from_user_input(crs_label(crs))
    assert label.to_epsg() is None and not label.equals(CRS(4326))
    assert shifted_system(label) is crs
    assert shifted_system(CRS(4326)) is None
    assert crs_label(CoordSystem.WGS84) == "EPSG:4326"


@pytest.mark.parametrize("crs", SHIFTED)
def test_a_shifted_geopackage_is_labelled_with_its_system(session, tmp_path, crs):
    rows = fetch_rows(session.connection(), "stations")
    path = tmp_path / f"stations-{crs}.gpkg"
    assert write_rows(rows, path, fields=STATION_FIELDS, crs=crs) == len(rows)
    declared = CRS.from_user_input(pyogrio.read_info(path)["crs"])
    assert declared.to_epsg() is None, "labelled EPSG:4326: QGIS would draw it ~550 m off"
    assert shifted_system(declared) is crs and "not EPSG:4326" in declared.name
    frame = pyogrio.read_dataframe(path)
    by_id = dict(zip(frame["external_id"], frame.geometry, strict=True))
    for row in rows:
        expected = convert(row["lon"], row["lat"], CoordSystem.WGS84, crs)
        point = by_id[row["external_id"]]
        assert _metres((point.x, point.y), expected) < 0.05  # the shifted values, not WGS-84
        assert _metres((point.x, point.y), (row["lon"], row["lat"])) > 100


def test_gdal_itself_names_the_system(session, tmp_path):
    assert OGRINFO.exists(), "ogrinfo is required (Debian package gdal-bin)"
    path = tmp_path / "stations.gpkg"
    write_rows(fetch_rows(session.connection(), "stations"), path, fields=STATION_FIELDS,
               crs=CoordSystem.GCJ02)  # fmt: skip
    out = subprocess.run([str(OGRINFO), "-so", str(path), "stations"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "GCJ-02 (not EPSG:4326)" in out
    assert 'ID["EPSG",4326]' not in out


@pytest.mark.parametrize("crs", SHIFTED)
def test_geojson_refuses_shifted_points_and_says_where_they_can_go(session, tmp_path, crs):
    path = tmp_path / "stations.geojson"
    with pytest.raises(InvalidInputError, match=r"RFC 7946.*\.gpkg"):
        write_rows(fetch_rows(session.connection(), "stations"), path, fields=STATION_FIELDS,
                   crs=crs)  # fmt: skip
    assert not path.exists()
    with pytest.raises(InvalidInputError, match="RFC 7946"):
        write_boundaries(session.connection(), tmp_path / "b.geojson", crs=crs)


@pytest.mark.parametrize("crs", SHIFTED)
def test_a_labelled_geopackage_imports_back_to_the_same_places_without_crs(session, tmp_path,
                                                                           crs):  # fmt: skip
    before = _places(session)
    path = tmp_path / "stations.gpkg"
    write_rows(fetch_rows(session.connection(), "stations"), path, fields=STATION_FIELDS, crs=crs)
    session.execute(text("DELETE FROM stations"))
    report = import_file(session, path, ImportKind.STATIONS, strict=True)  # no --crs given
    assert report.inserted == len(before)
    after = _places(session)
    assert max(_metres(before[k], after[k]) for k in before) < 0.5


def test_a_label_and_a_contradicting_crs_option_are_refused(session, tmp_path):
    path = tmp_path / "stations.gpkg"
    write_rows(fetch_rows(session.connection(), "stations"), path, fields=STATION_FIELDS,
               crs=CoordSystem.GCJ02)  # fmt: skip
    with pytest.raises(InvalidInputError, match="labelled gcj02 but --crs says bd09"):
        import_file(session, path, ImportKind.STATIONS, crs=CoordSystem.BD09)


@pytest.mark.parametrize("crs", SHIFTED)
def test_boundaries_in_a_shifted_system_are_shifted_labelled_and_import_back(session, tmp_path,
                                                                             crs):  # fmt: skip
    shapes = text("SELECT code, ST_AsBinary(geom) FROM boundaries ORDER BY code")
    before = {code: shapely.from_wkb(bytes(wkb)) for code, wkb in session.execute(shapes)}
    path = tmp_path / "boundaries.gpkg"
    assert write_boundaries(session.connection(), path, crs=crs) == len(before)
    assert shifted_system(CRS.from_user_input(pyogrio.read_info(path)["crs"])) is crs
    written = pyogrio.read_dataframe(path).set_index("code").geometry
    for code, shape in before.items():
        old, new = shapely.get_coordinates(shape), shapely.get_coordinates(written[code])
        assert old.shape == new.shape
        shifts = [_metres(tuple(a), tuple(b)) for a, b in zip(old, new, strict=True)]
        assert min(shifts) > 100, code  # every vertex shifted
    session.execute(text("DELETE FROM boundaries"))
    import_file(session, path, ImportKind.BOUNDARIES, strict=True)
    after = {code: shapely.from_wkb(bytes(wkb)) for code, wkb in session.execute(shapes)}
    assert after.keys() == before.keys()
    for code, shape in before.items():
        assert shapely.hausdorff_distance(shape, after[code]) < 1e-6, code  # < 0.1 m
