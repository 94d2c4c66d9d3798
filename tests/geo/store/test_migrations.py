"""Migrations go up and down cleanly on a real PostGIS."""

from __future__ import annotations

from sqlalchemy import inspect, text

from geo.store import migrate
from geo.store.db import make_engine
from geo.store.models import Base

TABLES = {"boundaries", "stations", "enterprises", "national_figures", "national_sites"}


def test_upgrade_downgrade_upgrade(scratch_database_url):
    engine = make_engine(scratch_database_url)
    try:
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES

        migrate.upgrade(engine)  # a second upgrade is a no-op, not an error
        assert migrate.current_revision(engine) == migrate.head_revision()

        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())

        migrate.upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        migrate.downgrade(engine, "base")
        engine.dispose()


def test_migrated_schema_matches_models(engine):
    """Every model column and index exists in the migrated database (no drift)."""
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert set(table.columns.keys()) <= columns, table.name
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= indexes, table.name


def test_geometry_columns_are_wgs84_with_gist_indexes(engine):
    with engine.connect() as conn:
        srids = dict(
            conn.exec_driver_sql(
                "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = 'public'"
            ).all()
        )
        gist = {
            row[0]
            for row in conn.execute(
                text("SELECT tablename FROM pg_indexes WHERE indexdef ILIKE :pattern"),
                {"pattern": "%USING gist (geom)%"},
            )
        }
    assert srids == dict.fromkeys(TABLES, 4326)
    assert gist == TABLES
