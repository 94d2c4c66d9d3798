"""GeoJSON import: good rows in, bad rows reported, re-import a no-op, strict writes nothing."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import text

from geo.errors import InvalidInputError
from geo.importers._validate import write_rejections
from geo.importers.audited import EditorImport
from geo.importers.files import ImportKind, import_file
from tests.conftest import FIXTURES

BAD = FIXTURES / "stations_bad_rows.geojson"


def _count(session, where="source = 'test'"):
    return session.execute(text(f"SELECT count(*) FROM stations WHERE {where}")).scalar()


def test_bad_rows_are_reported_and_good_rows_kept(session, tmp_path):
    before = _count(session)
    report = import_file(session, BAD, ImportKind.STATIONS)
    assert report.inserted == 1
    by_location = {(r.location, r.column) for r in report.rejected}
    assert by_location == {
        ("feature 2", "lon"),
        ("feature 3", "kind"),
        ("feature 4", "amenities"),
        ("feature 5", "opening_hours"),
        ("feature 6", "colour"),
        ("feature 7", "geometry"),
        ("feature 8", "external_id"),
    }
    assert _count(session) == before + 1
    out = write_rejections(report, tmp_path / "rejected.csv")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1 + len(report.rejected)


def test_strict_import_writes_nothing(session):
    before = _count(session)
    with pytest.raises(InvalidInputError, match="feature 2: lon"):
        import_file(session, BAD, ImportKind.STATIONS, strict=True)
    assert _count(session) == before


def test_reimport_is_a_noop_and_a_change_updates_in_place(session, tmp_path):
    report = import_file(session, FIXTURES / "stations_tiny.geojson", ImportKind.STATIONS)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 3)

    changed = tmp_path / "changed.geojson"
    document = json.loads((FIXTURES / "stations_tiny.geojson").read_text(encoding="utf-8"))
    document["features"][1]["properties"]["opening_hours"] = "Mo-Su 06:00-22:00"
    changed.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    ids_before = session.execute(text("SELECT external_id, id FROM stations ORDER BY id")).all()
    report = import_file(session, changed, ImportKind.STATIONS)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    assert (
        session.execute(text("SELECT external_id, id FROM stations ORDER BY id")).all()
        == ids_before
    )
    hours = session.execute(text("SELECT opening_hours FROM stations WHERE external_id = 's2'"))
    assert hours.scalar_one() == "Mo-Su 06:00-22:00"


def test_a_row_deleted_by_an_editor_stays_deleted_and_the_report_says_so(session):
    session.execute(text("UPDATE stations SET deleted_at = now() WHERE external_id = 's2'"))
    report = import_file(session, FIXTURES / "stations_tiny.geojson", ImportKind.STATIONS)
    assert [(w.location, w.column) for w in report.warnings] == [("feature 2", "external_id")]
    assert "deleted" in report.warnings[0].reason
    assert _count(session, "external_id = 's2' AND deleted_at IS NOT NULL") == 1
    again = import_file(session, FIXTURES / "enterprises_tiny.geojson", ImportKind.ENTERPRISES)
    assert again.warnings == ()


def test_points_are_assigned_to_the_finest_boundary(session):
    rows = dict(session.execute(text(
        "SELECT s.external_id, b.name FROM stations s JOIN boundaries b ON b.id = s.boundary_id"
    )).all())  # fmt: skip
    assert rows == {"s1": "西街道", "s2": "东街道", "s3": "西街道"}
    enterprises = dict(session.execute(text(
        "SELECT e.external_id, b.code FROM enterprises e JOIN boundaries b ON b.id = e.boundary_id"
    )).all())  # fmt: skip
    # e2 is registered in the west subdistrict but operates in the east one (异地经营).
    assert enterprises == {"e1": "110106017000", "e2": "110106001000"}


def test_boundaries_reimport_is_noop(session):
    report = import_file(session, FIXTURES / "boundaries_tiny.geojson", ImportKind.BOUNDARIES)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not readable as GeoJSON"),
        ('{"type": "Feature"}', "expected a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "crs": {"type": "name", "properties": '
         '{"name": "urn:ogc:def:crs:EPSG::3857"}}, "features": []}', "EPSG::3857"),
    ],
)  # fmt: skip
def test_unreadable_or_wrong_crs_files_are_refused_whole(session, tmp_path, content, message):
    path = tmp_path / "broken.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message):
        import_file(session, path, ImportKind.STATIONS)


def test_unsupported_format_is_refused(session, tmp_path):
    path = tmp_path / "stations.txt"
    shutil.copy(BAD, path)
    with pytest.raises(InvalidInputError, match=r"unsupported format '\.txt'"):
        import_file(session, path, ImportKind.STATIONS)


def test_an_editors_import_keeps_to_the_newest_vintage_of_their_district(session, tmp_path):
    """The same rule as edits (api/editing/routes.py): with two current vintages, the newest."""
    session.execute(text(
        "INSERT INTO boundaries (code, name, level, vintage, geom) VALUES ('110106017000', "
        "'西街道（新界）', 'subdistrict', 'zz-newer', ST_Multi(ST_MakeEnvelope(116.25, 39.8, "
        "116.3, 39.9, 4326)))"
    ))  # fmt: skip
    sheet = tmp_path / "two.csv"
    sheet.write_text("external_id,kind,name,lon,lat\nw,rest_point,西,116.22,39.86\n"
                     "e,rest_point,东,116.28,39.86\n", encoding="utf-8")  # fmt: skip
    editor = EditorImport(actor="west", district_code="110106017000")
    report = import_file(session, sheet, ImportKind.STATIONS, editor=editor)
    assert report.inserted == 1
    assert [(r.location, r.reason) for r in report.rejected] == [
        ("line 2", "lies outside your district 110106017000")]  # fmt: skip


def _renamed(tmp_path, rename: dict[str, str], extra: dict | None = None):
    """stations_tiny.geojson with properties renamed (and extra ones added) as a partner's
    export might name them."""
    document = json.loads((FIXTURES / "stations_tiny.geojson").read_text(encoding="utf-8"))
    for feature in document["features"]:
        props = feature["properties"]
        feature["properties"] = {rename.get(k, k): v for k, v in props.items()} | (extra or {})
    path = tmp_path / "partner.geojson"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_geojson_properties_follow_the_map_like_a_sheets_headers(session, tmp_path):
    path = _renamed(tmp_path, {"name": "站名", "opening_hours": "Hours"}, {"colour": "red"})
    # Without the map, every feature names unknown fields and nothing is written.
    before = _count(session)
    report = import_file(session, path, ImportKind.STATIONS)
    assert report.inserted + report.updated + report.unchanged == 0
    unknown = {r.column for r in report.rejected if r.reason.startswith("unknown field")}
    assert unknown == {"站名", "Hours", "colour"}
    # With it (keys case-insensitive, "" drops one), the file is the fixture again.
    mapping = {"站名": "name", "hours": "opening_hours", "colour": ""}
    report = import_file(session, path, ImportKind.STATIONS, mapping=mapping)
    assert report.rejected == () and report.unchanged == 3
    assert _count(session) == before


def test_a_map_onto_a_field_the_feature_already_has_rejects_that_feature(session, tmp_path):
    path = _renamed(tmp_path, {}, {"站名": "另一个名字"})
    report = import_file(session, path, ImportKind.STATIONS, mapping={"站名": "name"})
    assert {r.column for r in report.rejected} == {"name"} and len(report.rejected) == 3
    assert "'name' and '站名' both give 'name'" in report.rejected[0].reason
