"""The PostGIS tables: boundaries, stations (every kind in one table) and enterprises.

All geometries are WGS-84 (EPSG:4326, lon/lat). The database guards itself with named CHECK
constraints, so a bad row is refused even when it bypasses the importers; ``CONSTRAINT_FIELDS``
turns a violated constraint back into the field a user must fix.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geo.standards import BOUNDARY_CODE_PATTERN
from geo.vocab import (
    ACCESS_CONDITION_MAX,
    Access,
    Amenity,
    BoundaryLevel,
    HostType,
    Service,
    StationKind,
    StationStatus,
    UnionStatus,
    values,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
CODE_PATTERN = BOUNDARY_CODE_PATTERN


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _in_vocab(column: str, enum: type[StrEnum]) -> str:
    listed = ", ".join(f"'{v}'" for v in values(enum))
    return f"{column} IN ({listed})"


def _subset_of_vocab(column: str, enum: type[StrEnum]) -> str:
    listed = ", ".join(f"'{v}'" for v in values(enum))
    return f"{column} <@ ARRAY[{listed}]::text[]"


def _point_guards() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint("ST_X(geom) BETWEEN -180 AND 180", name="lon_range"),
        CheckConstraint("ST_Y(geom) BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
    )


class Boundary(Base):
    """An administrative area of one vintage: boundaries change (卢沟桥 was split in 2021)."""

    __tablename__ = "boundaries"
    __table_args__ = (
        UniqueConstraint("code", "vintage"),
        CheckConstraint(f"code ~ '{CODE_PATTERN}'", name="code_format"),
        CheckConstraint(f"parent_code ~ '{CODE_PATTERN}'", name="parent_code_format"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint(_in_vocab("level", BoundaryLevel), name="level"),
        CheckConstraint("length(btrim(vintage)) > 0", name="vintage_not_blank"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from",
                        name="valid_period"),
        CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
        CheckConstraint("population >= 0", name="population_non_negative"),
        CheckConstraint("population IS NULL OR population_year IS NOT NULL",
                        name="population_has_year"),
        CheckConstraint("communities >= 0", name="communities_non_negative"),
        Index("ix_boundaries_geom", "geom", postgresql_using="gist"),
        Index("ix_boundaries_parent_code", "parent_code"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(String(12))
    vintage: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False
    )
    # Geodesic (on the WGS-84 spheroid), kept by the database so it can never go stale.
    area_km2: Mapped[float] = mapped_column(
        Float, Computed("ST_Area(geom::geography) / 1e6", persisted=True)
    )
    population: Mapped[int | None] = mapped_column(Integer)
    population_year: Mapped[int | None] = mapped_column(SmallInteger)
    population_source: Mapped[str | None] = mapped_column(Text)
    communities: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Station(Base):
    """Any place that serves workers: union stations, rest points, water points, …"""

    __tablename__ = "stations"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint(_in_vocab("kind", StationKind), name="kind"),
        CheckConstraint(_in_vocab("status", StationStatus), name="status"),
        CheckConstraint(_in_vocab("host_type", HostType), name="host_type"),
        CheckConstraint(_subset_of_vocab("amenities", Amenity), name="amenities"),
        CheckConstraint(_subset_of_vocab("services", Service), name="services"),
        CheckConstraint(_subset_of_vocab("access", Access), name="access"),
        CheckConstraint("access_condition IS NULL OR length(btrim(access_condition)) "
                        f"BETWEEN 1 AND {ACCESS_CONDITION_MAX}", name="access_condition_length"),
        CheckConstraint("closed_on IS NULL OR opened_on IS NULL OR closed_on >= opened_on",
                        name="closed_after_opened"),
        CheckConstraint("opening_hours IS NULL OR length(btrim(opening_hours)) BETWEEN 1 AND 255",
                        name="opening_hours_length"),
        CheckConstraint("floor_area_m2 >= 0", name="floor_area_non_negative"),
        CheckConstraint("seats >= 0", name="seats_non_negative"),
        CheckConstraint("length(btrim(external_id)) > 0", name="external_id_not_blank"),
        *_point_guards(),
        Index("ix_stations_geom", "geom", postgresql_using="gist"),
        Index("ix_stations_kind_status", "kind", "status"),
        Index("ix_stations_boundary_id", "boundary_id"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    host_type: Mapped[str] = mapped_column(Text, server_default=HostType.UNION.value)
    host_name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=StationStatus.OPEN.value)
    opened_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    amenities: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    services: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    opening_hours: Mapped[str | None] = mapped_column(Text)
    # How a worker gets in (geo.vocab.Access) and who may, if not everyone.
    access: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    access_condition: Mapped[str | None] = mapped_column(Text)
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    seats: Mapped[int | None] = mapped_column(Integer)
    boundary_id: Mapped[int | None] = mapped_column(
        ForeignKey("boundaries.id", ondelete="SET NULL")
    )
    source_crs: Mapped[str] = mapped_column(Text, server_default="wgs84")
    last_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Private: editors only, never in public output.
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    internal_notes: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Enterprise(Base):
    """A workplace: where outdoor workers are, and whether it has a union (已建会/未建会)."""

    __tablename__ = "enterprises"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint("length(btrim(external_id)) > 0", name="external_id_not_blank"),
        CheckConstraint("employees >= 0", name="employees_non_negative"),
        CheckConstraint("outdoor_workers >= 0", name="outdoor_workers_non_negative"),
        CheckConstraint("outdoor_workers <= employees", name="outdoor_within_employees"),
        CheckConstraint(_in_vocab("union_status", UnionStatus), name="union_status"),
        CheckConstraint(f"registration_code ~ '{CODE_PATTERN}'", name="registration_code_format"),
        *_point_guards(),
        Index("ix_enterprises_geom", "geom", postgresql_using="gist"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    employees: Mapped[int | None] = mapped_column(Integer)
    outdoor_workers: Mapped[int | None] = mapped_column(Integer)
    union_status: Mapped[str | None] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(Text)
    # Where it is registered; it may operate elsewhere (异地经营), see boundary_id.
    registration_code: Mapped[str | None] = mapped_column(String(12))
    boundary_id: Mapped[int | None] = mapped_column(
        ForeignKey("boundaries.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class RowHistory(Base):
    """What an UPDATE changed (written by a trigger, migration 0002): ``{column: [old, new]}``."""

    __tablename__ = "row_history"
    __table_args__ = (Index("ix_row_history_table_name_row_id", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(Text)
    row_id: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    changed_by: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, list[object]]] = mapped_column(JSONB)


class LayerVersion(Base):
    """A number per map layer, bumped by triggers whenever its table changes (migration 0003).

    The tile server keys its cache and ETags by it, so an edit from any process is seen at once.
    """

    __tablename__ = "layer_versions"

    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('layer_version_seq')")
    )
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class _StoredRun:
    """A stored national run's own row: its scope, parameters and method (the columns of
    ``national_runs`` and ``national_sitings`` alike)."""

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    params: Mapped[dict[str, object]] = mapped_column(JSONB)
    method: Mapped[dict[str, object]] = mapped_column(JSONB)


class NationalRun(_StoredRun, Base):
    """A stored national or provincial coverage run (migration 0012)."""

    __tablename__ = "national_runs"


class NationalFigure(Base):
    """One county's or province's figures of a run, with a simplified outline (migration 0012).

    ``figures`` holds every column of the run's table (shares, sums, score) as JSON, so a new
    figure needs no migration; ``rank`` is a column because the API orders by it.
    """

    __tablename__ = "national_figures"
    __table_args__ = (
        CheckConstraint("level IN ('county', 'province')", name="national_figures_level"),
        Index("ix_national_figures_run_level_rank", "run_id", "level", "rank"),
        Index("ix_national_figures_geom", "geom", postgresql_using="gist"),
    )

    run_id: Mapped[int] = mapped_column(
        ForeignKey("national_runs.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(Text, primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    province: Mapped[str] = mapped_column(Text)
    rank: Mapped[int | None] = mapped_column(Integer)
    figures: Mapped[dict[str, object]] = mapped_column(JSONB)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)
    )


class NationalSitingRun(_StoredRun, Base):
    """A stored national or provincial siting run, its gap in ``method`` (migration 0013)."""

    __tablename__ = "national_sitings"


class NationalSite(Base):
    """One proposed site of a national siting run, in rank order (migration 0013)."""

    __tablename__ = "national_sites"
    __table_args__ = (
        Index("ix_national_sites_siting_province", "siting_id", "province"),
        Index("ix_national_sites_geom", "geom", postgresql_using="gist"),
    )

    siting_id: Mapped[int] = mapped_column(
        ForeignKey("national_sitings.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    h3: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    county: Mapped[str] = mapped_column(Text)
    province: Mapped[str] = mapped_column(Text)
    gain: Mapped[float] = mapped_column(Float)
    gain_alone: Mapped[float] = mapped_column(Float)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))


class Job(Base):
    """A background computation (siting) with its state and result (migration 0004)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created_at", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    kind: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, object]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, server_default="queued")
    owner: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Touched by the owner's lease every few seconds (migration 0011): an orphan is a job whose
    # owner holds no lease *and* has not touched it for a grace period.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """An API token (migration 0005): a keyed hash of the secret, a role, a district."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(String(12))
    secret_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One write through the API (an edit or an uploaded row): who, when, before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_table_name_row_id", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(Text)
    row_id: Mapped[int] = mapped_column(BigInteger)
    before: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    reverted_by: Mapped[int | None] = mapped_column(BigInteger)


class Report(Base):
    """A worker's report about a station (migration 0006); the client only as a salted hash."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_client_hash_created_at", "client_hash", "created_at"),
        Index("ix_reports_status_station_id", "status", "station_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    station_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stations.id"))
    kind: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    client_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    moderated_by: Mapped[str | None] = mapped_column(Text)
    moderated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# Violated constraint name -> (field, what a user must fix). Used to explain IntegrityErrors.
CONSTRAINT_FIELDS: dict[str, tuple[str, str]] = {
    "ck_boundaries_code_format": ("code", "must be a 12-digit statistical code"),
    "ck_boundaries_parent_code_format": ("parent_code", "must be a 12-digit statistical code"),
    "ck_boundaries_level": ("level", f"must be one of {values(BoundaryLevel)}"),
    "ck_boundaries_geom_valid": ("geometry", "must be a valid, non-empty (Multi)Polygon"),
    "ck_boundaries_population_has_year": ("population_year", "is required with a population"),
    "ck_stations_kind": ("kind", f"must be one of {values(StationKind)}"),
    "ck_stations_status": ("status", f"must be one of {values(StationStatus)}"),
    "ck_stations_host_type": ("host_type", f"must be one of {values(HostType)}"),
    "ck_stations_amenities": ("amenities", f"must be drawn from {values(Amenity)}"),
    "ck_stations_services": ("services", f"must be drawn from {values(Service)}"),
    "ck_stations_access": ("access", f"must be drawn from {values(Access)}"),
    "ck_stations_access_condition_length": (
        "access_condition",
        f"must be 1 to {ACCESS_CONDITION_MAX} characters",
    ),
    "ck_stations_closed_after_opened": ("closed_on", "must not be before opened_on"),
    "ck_stations_lon_range": ("lon", "must lie within -180..180"),
    "ck_stations_lat_range": ("lat", "must lie within -90..90"),
    "ck_stations_seats_non_negative": ("seats", "must not be negative"),
    "ck_stations_floor_area_non_negative": ("floor_area_m2", "must not be negative"),
    "ck_enterprises_union_status": ("union_status", f"must be one of {values(UnionStatus)}"),
    "ck_enterprises_outdoor_within_employees": (
        "outdoor_workers",
        "must not exceed employees",
    ),
    "ck_enterprises_lon_range": ("lon", "must lie within -180..180"),
    "ck_enterprises_lat_range": ("lat", "must lie within -90..90"),
}


def explain_constraint(constraint: str | None, detail: str | None = None) -> tuple[str, str]:
    """(field, message) for a violated constraint, in words a user can act on."""
    if constraint in CONSTRAINT_FIELDS:
        field, rule = CONSTRAINT_FIELDS[constraint]
        return field, f"{field} {rule}"
    rules = {"_not_blank": "must not be blank", "_non_negative": "must not be negative",
             "_format": "has the wrong format"}  # fmt: skip
    for table in Base.metadata.tables:
        prefix = f"ck_{table}_"
        for suffix, rule in rules.items():
            if constraint and constraint.startswith(prefix) and constraint.endswith(suffix):
                field = constraint.removeprefix(prefix).removesuffix(suffix)
                return field, f"{field} {rule}"
    if constraint and constraint.startswith("uq_"):
        return "external_id", f"a row with the same key already exists ({detail or constraint})"
    return "row", f"refused by the database rule {constraint or 'unknown'}"


def explain_integrity_error(error: Exception) -> tuple[str, str]:
    """(field, message) for a driver's constraint violation (its ``diag``), as above."""
    diag = getattr(getattr(error, "orig", error), "diag", None)
    return explain_constraint(getattr(diag, "constraint_name", None),
                              getattr(diag, "message_detail", None))  # fmt: skip


class ConsoleSession(Base):
    """A console sign-in (migration 0009): only the SHA-256 of the cookie's random id."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_token_id", "token_id"),)

    id_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    token_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("api_tokens.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_seen_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SigninAttempt(Base):
    """A try at signing in to the console (migration 0009), to throttle guessing."""

    __tablename__ = "signin_attempts"
    __table_args__ = (Index("ix_signin_attempts_client_hash_at", "client_hash", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    client_hash: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    succeeded: Mapped[bool] = mapped_column(Boolean)
