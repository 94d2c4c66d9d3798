"""The bundled dataset loads strictly, twice without change, and reproduces the domain facts."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.config import PROJECT_ROOT
from geo.importers.bundled import load_bundled
from geo.store import migrate
from geo.store.db import make_engine

DATA = PROJECT_ROOT / "data"


@pytest.fixture(scope="module")
def bundled_engine(scratch_database_url):
    engine = make_engine(scratch_database_url)
    migrate.upgrade(engine)
    first = load_bundled(engine, DATA)
    yield engine, first
    engine.dispose()


def _scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_loads_without_rejections_and_second_load_changes_nothing(bundled_engine):
    engine, first = bundled_engine
    assert all(not r.rejected for r in first)
    assert sum(r.inserted for r in first) > 700
    second = load_bundled(engine, DATA)
    assert [(r.inserted, r.updated) for r in second] == [(0, 0)] * len(second)
    assert _scalar(engine, "SELECT count(*) FROM row_history") == 0


def test_every_point_lies_in_a_subdistrict(bundled_engine):
    engine, _ = bundled_engine
    for table in ("stations", "enterprises"):
        outside = _scalar(engine, f"""
            SELECT count(*) FROM {table} t LEFT JOIN boundaries b ON b.id = t.boundary_id
             WHERE b.level IS DISTINCT FROM 'subdistrict'""")  # fmt: skip
        assert outside == 0, table


def test_dongcheng_has_17_stations_and_200_plus_water_and_rest_points(bundled_engine):
    engine, _ = bundled_engine
    sql = """
        SELECT s.kind, count(*) FROM stations s JOIN boundaries b ON b.id = s.boundary_id
         WHERE b.parent_code = '110101000000' AND s.status = 'open' GROUP BY s.kind"""
    counts = dict(_rows(engine, sql))
    assert counts["subdistrict_station"] == 17
    assert counts["water_point"] == 182
    assert counts["water_point"] + counts["rest_point"] >= 200
    hosted = _scalar(engine, """
        SELECT count(*) FROM stations s JOIN boundaries b ON b.id = s.boundary_id
         WHERE b.parent_code = '110101000000' AND s.host_type = 'enterprise'""")  # fmt: skip
    assert hosted > 0


def test_lugouqiao_has_two_stations_and_a_planned_third_on_its_west_side(bundled_engine):
    engine, _ = bundled_engine
    rows = _rows(engine, """
        SELECT s.status, s.floor_area_m2, ST_X(s.geom) FROM stations s
          JOIN boundaries b ON b.id = s.boundary_id
         WHERE b.code = '110106017000' AND s.kind = 'subdistrict_station'""")  # fmt: skip
    open_lons = [lon for status, _, lon in rows if status == "open"]
    planned = [(area, lon) for status, area, lon in rows if status == "planned"]
    assert len(open_lons) == 2
    assert len(planned) == 1
    area, lon = planned[0]
    assert area == 290
    assert lon < min(open_lons)  # west of both existing stations
    size = _scalar(engine, "SELECT area_km2 FROM boundaries WHERE code = '110106017000'")
    assert size == pytest.approx(27.59, rel=0.05)  # the older, larger extent the facts describe


def test_yangpu_style_hours_and_24h_points_are_present(bundled_engine):
    engine, _ = bundled_engine
    hours = dict(_rows(engine, "SELECT opening_hours, count(*) FROM stations GROUP BY 1"))
    assert hours.get("24/7", 0) > 0
    assert any("20:00" in h and "Sa" in h for h in hours if h)


def _rows(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).all()
