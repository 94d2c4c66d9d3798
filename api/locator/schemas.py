"""Response models of ``/locate``: they document the API and the tests validate against them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class OpenInfo(BaseModel):
    """Open state at one moment; every member ``null`` when the place has no recorded hours."""

    is_open: bool | None
    closes_at: dt.datetime | None = Field(description="Beijing time; null if open past 2 weeks")
    next_open: dt.datetime | None
    day_type: Literal["workday", "weekend", "holiday", "makeup_workday"] | None = Field(
        description="how the Chinese calendar classed the day (调休 make-up workdays included)"
    )
    calendar_known: bool | None = Field(
        description="false when the day is past the holiday data and was typed by its weekday"
    )


class Place(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    kind: str
    kind_label: str
    lon: float = Field(description="in the coordinate system asked for (coords=)")
    lat: float
    distance_m: float = Field(description="straight-line metres on the ellipsoid")
    walk_min: float = Field(description="walking minutes: metres × detour ÷ speed (see method)")
    arrival: dt.datetime
    open_now: OpenInfo
    open_on_arrival: OpenInfo
    closes_soon: bool = Field(description="closes within 30 minutes of arrival")
    amenities: list[str]
    amenity_labels: list[str]
    access: list[str] = Field(
        description="how to get in (open_door, ring, id_card, member_qr, "
        "union_card, face_registration); empty: not recorded"
    )
    access_labels: list[str]
    access_condition: str | None = Field(description="who may enter, if not everyone")
    walk_in: bool | None = Field(
        description="anyone may walk in without registering; null: how to get in not recorded"
    )
    profile_matches: list[str] = Field(description="amenities the worker profile usually needs")
    address: str | None
    phone: str | None
    host_type: str
    host_name: str | None
    last_verified_at: dt.datetime | None
    verified_days_ago: int | None = Field(
        description="days since someone confirmed it; null: never"
    )
    stale: bool = Field(description="not verified for 180 days: ranked as if 1.5× as far")
    boundary_code: str | None
    boundary_name: str | None
    navigation: dict[str, str] = Field(
        description="walking directions: amap and tencent (GCJ-02), baidu (BD-09), osm and geo: "
        "(WGS-84)"
    )


class Notice(BaseModel):
    """Why the list is empty, in plain words."""

    code: Literal["outside_area", "nothing_within", "nothing_open"]
    message: str
    nearest_m: float | None = None
    next_open: dt.datetime | None = None
    next_open_id: int | None = None


class StationsAsOf(BaseModel):
    """Set only when the database could not be reached: the answer came from the stations this
    server holds in memory, read at ``at``."""

    at: dt.datetime
    age_s: float
    message: str


class LocateResponse(BaseModel):
    query: dict[str, Any]
    method: str
    results: list[Place]
    notice: Notice | None
    stations_as_of: StationsAsOf | None = Field(
        description="null: live; else the answer is from memory while the database is down"
    )
