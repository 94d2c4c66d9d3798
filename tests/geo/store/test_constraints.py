"""The database refuses bad rows by itself, with constraint names that map to a field."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from geo.store.models import explain_constraint

STATION_OK = {
    "source": "t", "external_id": "x", "kind": "rest_point", "name": "驿站",
    "status": "open", "host_type": "union", "amenities": [], "services": [],
    "floor_area_m2": None, "seats": None, "opened_on": None, "closed_on": None,
    "wkt": "POINT(116.3 39.9)",
}  # fmt: skip
INSERT_STATION = text(
    "INSERT INTO stations (source, external_id, kind, name, status, host_type, amenities, "
    "services, floor_area_m2, seats, opened_on, closed_on, geom) VALUES (:source, "
    ":external_id, :kind, :name, :status, :host_type, :amenities, :services, :floor_area_m2, "
    ":seats, CAST(:opened_on AS date), CAST(:closed_on AS date), ST_GeomFromText(:wkt, 4326))"
)


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"kind": "teahouse"}, "ck_stations_kind"),
        ({"status": "maybe"}, "ck_stations_status"),
        ({"host_type": "alien"}, "ck_stations_host_type"),
        ({"amenities": ["hot_water", "sauna"]}, "ck_stations_amenities"),
        ({"services": ["astrology"]}, "ck_stations_services"),
        ({"name": "   "}, "ck_stations_name_not_blank"),
        ({"seats": -1}, "ck_stations_seats_non_negative"),
        ({"floor_area_m2": -5.0}, "ck_stations_floor_area_non_negative"),
        ({"opened_on": "2026-05-01", "closed_on": "2026-01-01"}, "ck_stations_closed_after_opened"),
        ({"wkt": "POINT(200 39.9)"}, "ck_stations_lon_range"),
        ({"wkt": "POINT(116.3 91)"}, "ck_stations_lat_range"),
    ],
)
def test_station_constraints_refuse_bad_rows(session, change, constraint):
    with pytest.raises(IntegrityError) as caught:
        session.execute(INSERT_STATION, {**STATION_OK, **change})
    assert caught.value.orig.diag.constraint_name == constraint
    field, message = explain_constraint(constraint)
    assert field in {*change, "lon", "lat"}  # the message names what to fix
    assert message.startswith(field)


def test_good_station_row_is_accepted(session):
    session.execute(INSERT_STATION, STATION_OK)
    assert session.execute(text("SELECT count(*) FROM stations WHERE source = 't'")).scalar() == 1


def test_duplicate_external_id_per_source_is_refused(session):
    session.execute(INSERT_STATION, STATION_OK)
    with pytest.raises(IntegrityError) as caught:
        session.execute(INSERT_STATION, STATION_OK)
    assert caught.value.orig.diag.constraint_name == "uq_stations_source_external_id"


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("INSERT INTO enterprises (source, external_id, name, employees, outdoor_workers, geom) "
         "VALUES ('t', 'e', '公司', 10, 20, ST_Point(116.3, 39.9, 4326))",
         "ck_enterprises_outdoor_within_employees"),
        ("INSERT INTO enterprises (source, external_id, name, union_status, geom) "
         "VALUES ('t', 'e', '公司', 'maybe', ST_Point(116.3, 39.9, 4326))",
         "ck_enterprises_union_status"),
        ("INSERT INTO enterprises (source, external_id, name, employees, geom) "
         "VALUES ('t', 'e', '公司', -3, ST_Point(116.3, 39.9, 4326))",
         "ck_enterprises_employees_non_negative"),
        ("INSERT INTO enterprises (source, external_id, name, registration_code, geom) "
         "VALUES ('t', 'e', '公司', '1101', ST_Point(116.3, 39.9, 4326))",
         "ck_enterprises_registration_code_format"),
        ("INSERT INTO boundaries (code, name, level, vintage, geom) VALUES ('110106017000', "
         "'x', 'galaxy', 'v', ST_Multi(ST_MakeEnvelope(116, 39, 117, 40, 4326)))",
         "ck_boundaries_level"),
        ("INSERT INTO boundaries (code, name, level, vintage, geom) VALUES ('11010', "
         "'x', 'district', 'v', ST_Multi(ST_MakeEnvelope(116, 39, 117, 40, 4326)))",
         "ck_boundaries_code_format"),
        # A bow-tie polygon crosses itself: not a valid area.
        ("INSERT INTO boundaries (code, name, level, vintage, geom) VALUES ('110106017000', "
         "'x', 'district', 'v', ST_GeomFromText("
         "'MULTIPOLYGON(((116 39, 117 40, 117 39, 116 40, 116 39)))', 4326))",
         "ck_boundaries_geom_valid"),
        ("INSERT INTO boundaries (code, name, level, vintage, population, geom) VALUES "
         "('110106017000', 'x', 'district', 'v', 1000, "
         "ST_Multi(ST_MakeEnvelope(116, 39, 117, 40, 4326)))",
         "ck_boundaries_population_has_year"),
    ],
)  # fmt: skip
def test_enterprise_and_boundary_constraints(session, sql, constraint):
    with pytest.raises(IntegrityError) as caught:
        session.execute(text(sql))
    assert caught.value.orig.diag.constraint_name == constraint
    field, message = explain_constraint(constraint)
    assert field != "row" and message.startswith(field)


def test_wrong_srid_is_refused(session):
    with pytest.raises(Exception, match="SRID"):
        session.execute(
            text(
                "INSERT INTO stations (source, external_id, kind, name, geom) "
                "VALUES ('t', 'srid', 'rest_point', 'x', ST_Point(500000, 4400000, 32650))"
            )
        )


def test_boundary_area_is_geodesic_and_kept_by_the_database(session):
    area = session.execute(
        text("SELECT area_km2 FROM boundaries WHERE code = '110106017000' AND vintage = 'test'")
    ).scalar_one()
    # 0.05° lon x 0.1° lat at 39.85°N: 4.27 km x 11.1 km, about 47.5 km² on the spheroid.
    assert area == pytest.approx(47.5, rel=0.01)


def test_updated_at_moves_on_update(session):
    """The row was loaded in an earlier transaction; an UPDATE now stamps this one's time."""
    stamp = session.execute(
        text("SELECT updated_at FROM stations WHERE external_id = 's1'")
    ).scalar_one()
    session.execute(text("UPDATE stations SET seats = 21 WHERE external_id = 's1'"))
    after, now = session.execute(
        text("SELECT updated_at, now() FROM stations WHERE external_id = 's1'")
    ).one()
    assert after == now
    assert after > stamp
