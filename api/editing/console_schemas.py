"""Response models of the staff console's reads (:mod:`api.editing.console`): they document
the bodies for clients and the contract test; the handlers return them as built."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.editing.schemas import AuditAction, StationColumns
from geo.crs import CoordSystem
from geo.hours import DayType
from geo.store.tokens import Role


class ConsolePlace(StationColumns):
    """A place as the console lists it: every field, with its area and reports waiting."""

    id: int
    lon: float = Field(description="in the coordinate system coords= asked for")
    lat: float
    boundary_code: str | None = Field(description="the smallest boundary it lies in")
    boundary_name: str | None
    reports_waiting: int
    stale: bool = Field(description="not verified within stale_days")


class Area(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str


class ConsolePlaces(BaseModel):
    model_config = ConfigDict(extra="forbid")

    places: list[ConsolePlace] = Field(description="reports waiting first, then by name")
    stale_days: int
    areas: list[Area] = Field(description="the subdistricts to filter by")
    coords: CoordSystem


class FieldChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    before: Any = Field(description="the field's value; null also when the row was created")
    after: Any


class HistoryEntry(BaseModel):
    """One audited write of a place: the fields it changed (not updated_at, boundary_id)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    at: dt.datetime
    actor: str
    action: AuditAction
    reverted_by: int | None
    changes: list[FieldChange]


class DayPreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    weekday: int = Field(ge=1, le=7, description="ISO: 1 Monday … 7 Sunday")
    day_type: DayType = Field(description="under the Chinese calendar (调休 make-up workdays)")
    holiday: str | None = Field(description="the public holiday's name")
    calendar_known: bool = Field(description="false: beyond the calendar's years")
    open: list[tuple[str, str]] = Field(description='"HH:MM" pairs; "24:00" ends at midnight')


class HoursPreview(BaseModel):
    """The hours checked as typed: each day, or why they are not valid."""

    model_config = ConfigDict(extra="forbid")

    valid: bool
    error: str | None = Field(description="why not valid")
    days: list[DayPreview] = Field(description="empty when not valid")


class EditorToken(BaseModel):
    """An editor's token, never its secret."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    role: Role
    district_code: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewEditor(BaseModel):
    """The token is in this answer only."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    role: Role
    district_code: str | None
    token: str = Field(description="nx_<id>_<secret>")


class RevokedEditor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    revoked_at: dt.datetime
