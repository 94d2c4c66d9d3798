"""Response models of the editors' API: the row a write answers with, a report's receipt and
its moderation, the audit log, an import's report, the districts' service figures and the
console's session. They document the bodies (OpenAPI); the handlers return them as built.

A row is the whole table row as the audit log keeps it (``ROW_IMAGE_SQL``: every column, the
point as ``lon``/``lat``), private fields included: only editors see it. ``extra="forbid"``, so
a new column is a change of this contract that the tests notice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from api.schemas import StationFields
from geo.importers.files import ImportKind
from geo.store.tokens import Role
from geo.vocab import StationKind, UnionStatus


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    lon: float = Field(description="WGS-84")
    lat: float
    source: str = Field(description="api for rows made here, else the import's source")
    external_id: str
    boundary_id: int | None = Field(description="the smallest boundary it lies in")
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = Field(description="set: deleted (softly; revertible)")


class StationColumns(StationFields):
    """A station's own columns as editors see them, private contact fields included."""

    contact_name: str | None = Field(description="private")
    contact_phone: str | None = Field(description="private")
    internal_notes: str | None = Field(description="private")


class StationRow(StationColumns, _Row):
    """A station as editors see it, private contact fields included."""

    source_crs: str = Field(description="the coordinate system it was given in")


class EnterpriseRow(_Row):
    """An enterprise as editors see it, its registration code included."""

    name: str
    address: str | None
    industry: str | None
    employees: int | None
    outdoor_workers: int | None
    union_status: UnionStatus | None
    registration_code: str | None = Field(description="not public")


class RevertedRow(RootModel[StationRow | EnterpriseRow]):
    """The row as the revert left it: a station or an enterprise, as the entry's table."""


ReportKind = Literal[
    "closed", "locked", "full", "no_hot_water", "no_toilet", "short_hours", "turned_away",
    "wrong_location", "confirmed_open",
]  # fmt: skip
ReportStatus = Literal["pending", "accepted", "rejected"]
AuditAction = Literal["create", "update", "close", "delete", "revert", "import"]


class ReportReceipt(BaseModel):
    """A worker's report, received: moderation comes later."""

    model_config = ConfigDict(extra="forbid")

    id: int
    status: Literal["pending"]


class ConsoleUser(BaseModel):
    """Who a token or session belongs to."""

    model_config = ConfigDict(extra="forbid")

    token_id: int
    name: str
    role: Role
    district_code: str | None = Field(description="a district editor's district; admins: null")


class ConsoleSession(ConsoleUser):
    """A console session begun: the cookie is set beside this body."""

    expires_at: dt.datetime = Field(description="at the latest; sooner when unused")
    idle_minutes: float = Field(description="ends when unused for this long")


class QueuedReport(BaseModel):
    """A report in the moderation queue, with its deadline (``report_response_hours``)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    station_id: int
    station_name: str
    kind: ReportKind
    note: str | None
    created_at: dt.datetime
    status: ReportStatus
    lon: float = Field(description="in the coordinate system coords= asked for")
    lat: float
    moderated_by: str | None
    moderated_at: dt.datetime | None
    due_at: dt.datetime = Field(description="when the promised answer is due")
    age_hours: float = Field(description="hours it has waited: until answered, or until now")
    overdue: bool = Field(description="still pending after due_at, or answered after it")


class Moderation(BaseModel):
    """A report decided; accepting an open confirmation also verifies the place."""

    model_config = ConfigDict(extra="forbid")

    id: int
    status: Literal["accepted", "rejected"]
    station_last_verified_at: dt.datetime | None = Field(description="the place's, afterwards")


class AuditEntry(BaseModel):
    """One write. ``before`` and ``after`` are the row images as written then: a row's columns
    of that time (see StationRow and EnterpriseRow), so older entries may lack newer columns."""

    model_config = ConfigDict(extra="forbid")

    id: int
    at: dt.datetime
    actor: str = Field(description="the token's name")
    action: AuditAction
    table: Literal["stations", "enterprises"]
    row_id: int
    before: dict[str, Any] | None = Field(description="null: the write created the row")
    after: dict[str, Any] | None
    reverted_by: int | None = Field(description="the entry that reverted this one")


class Rejection(BaseModel):
    """A refused row (or one written with a warning): where it is and why."""

    model_config = ConfigDict(extra="forbid")

    file: str
    location: str = Field(examples=["line 3"], description="line or feature number")
    column: str | None
    reason: str


class ImportResult(BaseModel):
    """The CLI's import report, as ``nuanxin import`` saves it."""

    model_config = ConfigDict(extra="forbid")

    file: str
    kind: ImportKind
    inserted: int
    updated: int
    unchanged: int
    rejected: list[Rejection]
    warnings: list[Rejection] = Field(description="written, but worth a look")
    dry_run: bool = Field(description="true: checked, nothing written")


class PopulationResult(BaseModel):
    """The CLI's population import report."""

    model_config = ConfigDict(extra="forbid")

    file: str
    year: int
    written: int = Field(description="boundaries given a population")
    direct: int = Field(description="boundaries given their own figure")
    spread: int = Field(description="parents whose total was spread")
    spread_over: int = Field(description="boundaries given a share of a parent's total")
    skipped_other_years: int
    ignored_columns: list[str]
    methods: list[str] = Field(description="how the figures were placed, in words")
    rejected: list[Rejection]
    summary: str
    dry_run: bool


class DistrictReports(BaseModel):
    """A district's reports of the last ``days``: see :mod:`api.editing.service`."""

    model_config = ConfigDict(extra="forbid")

    received: int
    answered: int
    answered_in_time: int
    due: int = Field(description="answered, or past their deadline")
    overdue: int = Field(description="pending past their deadline")
    share_in_time: float | None = Field(description="answered_in_time / due; null: none due")


class DistrictVerified(BaseModel):
    model_config = ConfigDict(extra="forbid")

    places: int = Field(description="open places")
    verified: int = Field(description="checked within verified_days")
    share: float | None = Field(description="null: no open place")


class DistrictRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    reports: DistrictReports
    verified: DistrictVerified


class DistrictService(BaseModel):
    """Per current district: reports answered in time, places verified."""

    model_config = ConfigDict(extra="forbid")

    days: int
    response_hours: float = Field(description="the promise: an answer within these hours")
    verified_days: int
    districts: list[DistrictRecord] = Field(description="by code")


class DuePlace(BaseModel):
    """An open place not verified within ``days``."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    kind: StationKind
    last_verified_at: dt.datetime | None = Field(description="null: never checked")
    lon: float = Field(description="in the coordinate system coords= asked for")
    lat: float
