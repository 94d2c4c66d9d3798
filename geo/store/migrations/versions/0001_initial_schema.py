"""Initial schema: PostGIS, boundaries, stations, enterprises, updated_at triggers.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 23:47:26.918803
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql
revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("boundaries", "stations", "enterprises")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table('boundaries',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.Text(), nullable=False),
    sa.Column('parent_code', sa.String(length=12), nullable=True),
    sa.Column('vintage', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('area_km2', sa.Float(), sa.Computed('ST_Area(geom::geography) / 1e6', persisted=True), nullable=False),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('population_year', sa.SmallInteger(), nullable=True),
    sa.Column('population_source', sa.Text(), nullable=True),
    sa.Column('communities', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{12}$'", name=op.f('ck_boundaries_code_format')),
    sa.CheckConstraint("level IN ('city', 'district', 'subdistrict', 'community')", name=op.f('ck_boundaries_level')),
    sa.CheckConstraint("parent_code ~ '^[0-9]{12}$'", name=op.f('ck_boundaries_parent_code_format')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_boundaries_geom_valid')),
    sa.CheckConstraint('communities >= 0', name=op.f('ck_boundaries_communities_non_negative')),
    sa.CheckConstraint('length(btrim(name)) > 0', name=op.f('ck_boundaries_name_not_blank')),
    sa.CheckConstraint('length(btrim(vintage)) > 0', name=op.f('ck_boundaries_vintage_not_blank')),
    sa.CheckConstraint('population >= 0', name=op.f('ck_boundaries_population_non_negative')),
    sa.CheckConstraint('population IS NULL OR population_year IS NOT NULL', name=op.f('ck_boundaries_population_has_year')),
    sa.CheckConstraint('valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from', name=op.f('ck_boundaries_valid_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_boundaries')),
    sa.UniqueConstraint('code', 'vintage', name=op.f('uq_boundaries_code_vintage'))
    )
    op.create_geospatial_index('ix_boundaries_geom', 'boundaries', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_boundaries_parent_code', 'boundaries', ['parent_code'], unique=False)
    op.create_geospatial_table('enterprises',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('employees', sa.Integer(), nullable=True),
    sa.Column('outdoor_workers', sa.Integer(), nullable=True),
    sa.Column('union_status', sa.Text(), nullable=True),
    sa.Column('industry', sa.Text(), nullable=True),
    sa.Column('registration_code', sa.String(length=12), nullable=True),
    sa.Column('boundary_id', sa.BigInteger(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("registration_code ~ '^[0-9]{12}$'", name=op.f('ck_enterprises_registration_code_format')),
    sa.CheckConstraint("union_status IN ('unionised', 'not_unionised')", name=op.f('ck_enterprises_union_status')),
    sa.CheckConstraint('NOT ST_IsEmpty(geom)', name=op.f('ck_enterprises_geom_not_empty')),
    sa.CheckConstraint('ST_X(geom) BETWEEN -180 AND 180', name=op.f('ck_enterprises_lon_range')),
    sa.CheckConstraint('ST_Y(geom) BETWEEN -90 AND 90', name=op.f('ck_enterprises_lat_range')),
    sa.CheckConstraint('employees >= 0', name=op.f('ck_enterprises_employees_non_negative')),
    sa.CheckConstraint('length(btrim(external_id)) > 0', name=op.f('ck_enterprises_external_id_not_blank')),
    sa.CheckConstraint('length(btrim(name)) > 0', name=op.f('ck_enterprises_name_not_blank')),
    sa.CheckConstraint('outdoor_workers <= employees', name=op.f('ck_enterprises_outdoor_within_employees')),
    sa.CheckConstraint('outdoor_workers >= 0', name=op.f('ck_enterprises_outdoor_workers_non_negative')),
    sa.ForeignKeyConstraint(['boundary_id'], ['boundaries.id'], name=op.f('fk_enterprises_boundary_id_boundaries'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprises')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_enterprises_source_external_id'))
    )
    op.create_geospatial_index('ix_enterprises_geom', 'enterprises', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('stations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('host_type', sa.Text(), server_default='union', nullable=False),
    sa.Column('host_name', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default='open', nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('amenities', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('services', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('opening_hours', sa.Text(), nullable=True),
    sa.Column('floor_area_m2', sa.Float(), nullable=True),
    sa.Column('seats', sa.Integer(), nullable=True),
    sa.Column('boundary_id', sa.BigInteger(), nullable=True),
    sa.Column('source_crs', sa.Text(), server_default='wgs84', nullable=False),
    sa.Column('last_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("amenities <@ ARRAY['drinking_water', 'hot_water', 'microwave', 'fridge', 'phone_charging', 'ebike_charging', 'seating', 'toilet', 'first_aid', 'medicine', 'air_conditioning', 'heating', 'wifi', 'books', 'haircut', 'parking', 'step_free_access']::text[]", name=op.f('ck_stations_amenities')),
    sa.CheckConstraint("host_type IN ('union', 'enterprise', 'government', 'other')", name=op.f('ck_stations_host_type')),
    sa.CheckConstraint("kind IN ('service_centre', 'subdistrict_station', 'community_union', 'enterprise_centre', 'rest_point', 'water_point', 'sanitation_care_point', 'counselling_point')", name=op.f('ck_stations_kind')),
    sa.CheckConstraint("services <@ ARRAY['legal_aid', 'dispute_mediation', 'counselling', 'insurance_claims', 'wage_negotiation', 'hardship_assistance', 'childcare', 'skills_training', 'reading_room', 'recreation']::text[]", name=op.f('ck_stations_services')),
    sa.CheckConstraint("status IN ('planned', 'under_construction', 'open', 'temporarily_closed', 'closed')", name=op.f('ck_stations_status')),
    sa.CheckConstraint('NOT ST_IsEmpty(geom)', name=op.f('ck_stations_geom_not_empty')),
    sa.CheckConstraint('ST_X(geom) BETWEEN -180 AND 180', name=op.f('ck_stations_lon_range')),
    sa.CheckConstraint('ST_Y(geom) BETWEEN -90 AND 90', name=op.f('ck_stations_lat_range')),
    sa.CheckConstraint('closed_on IS NULL OR opened_on IS NULL OR closed_on >= opened_on', name=op.f('ck_stations_closed_after_opened')),
    sa.CheckConstraint('floor_area_m2 >= 0', name=op.f('ck_stations_floor_area_non_negative')),
    sa.CheckConstraint('length(btrim(external_id)) > 0', name=op.f('ck_stations_external_id_not_blank')),
    sa.CheckConstraint('length(btrim(name)) > 0', name=op.f('ck_stations_name_not_blank')),
    sa.CheckConstraint('opening_hours IS NULL OR length(btrim(opening_hours)) BETWEEN 1 AND 255', name=op.f('ck_stations_opening_hours_length')),
    sa.CheckConstraint('seats >= 0', name=op.f('ck_stations_seats_non_negative')),
    sa.ForeignKeyConstraint(['boundary_id'], ['boundaries.id'], name=op.f('fk_stations_boundary_id_boundaries'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stations')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_stations_source_external_id'))
    )
    op.create_index('ix_stations_boundary_id', 'stations', ['boundary_id'], unique=False)
    op.create_geospatial_index('ix_stations_geom', 'stations', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_stations_kind_status', 'stations', ['kind', 'status'], unique=False)
    # updated_at follows every UPDATE, whoever issues it (importers, API, psql).
    op.execute(
        """
        CREATE FUNCTION nuanxin_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated_at := now();
            RETURN NEW;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_touch_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION nuanxin_touch_updated_at()"
        )


def downgrade() -> None:
    # The postgis extension stays: other schemas in the database may use it.
    op.drop_index('ix_stations_kind_status', table_name='stations')
    op.drop_geospatial_index('ix_stations_geom', table_name='stations', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_stations_boundary_id', table_name='stations')
    op.drop_geospatial_table('stations')
    op.drop_geospatial_index('ix_enterprises_geom', table_name='enterprises', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('enterprises')
    op.drop_index('ix_boundaries_parent_code', table_name='boundaries')
    op.drop_geospatial_index('ix_boundaries_geom', table_name='boundaries', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('boundaries')
    op.execute("DROP FUNCTION nuanxin_touch_updated_at()")
