"""Validated records: what one row of any import (or API write) must look like before it is stored.

Field names follow the database columns; vocabulary fields accept the code or the Chinese
label (``热水`` → ``hot_water``); unknown fields are refused, never silently dropped.
Coordinates are WGS-84 here: conversion from GCJ-02/BD-09 happens before a record is built.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.hours import validate_opening_hours
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
    parse_member,
)

LIST_SEPARATORS = re.compile(r"[;,、，；|]")


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


def _vocab(enum: type[StrEnum]) -> BeforeValidator:
    def parse(value: Any) -> Any:
        return parse_member(enum, value) if isinstance(value, str) else value

    return BeforeValidator(parse)


def _vocab_list(enum: type[StrEnum]) -> BeforeValidator:
    """Accept a JSON list or one cell such as ``热水;微波炉``; order kept, duplicates dropped."""

    def parse(value: Any) -> Any:
        if value is None:
            return []
        items = LIST_SEPARATORS.split(value) if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        parsed = [parse_member(enum, str(item)) for item in items if str(item).strip()]
        return list(dict.fromkeys(parsed))

    return BeforeValidator(parse)


OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]
StatCode = Annotated[
    str, Field(pattern=BOUNDARY_CODE_PATTERN), BeforeValidator(lambda v: str(v).strip())
]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class StationRecord(_Record):
    source: str = Field(min_length=1)
    external_id: str = Field(min_length=1)
    kind: Annotated[StationKind, _vocab(StationKind)]
    name: str = Field(min_length=1, max_length=200)
    lon: Lon
    lat: Lat
    address: OptionalText = None
    phone: OptionalText = None
    host_type: Annotated[HostType, _vocab(HostType)] = HostType.UNION
    host_name: OptionalText = None
    status: Annotated[StationStatus, _vocab(StationStatus)] = StationStatus.OPEN
    opened_on: dt.date | None = None
    closed_on: dt.date | None = None
    amenities: Annotated[list[Amenity], _vocab_list(Amenity)] = Field(default_factory=list)
    services: Annotated[list[Service], _vocab_list(Service)] = Field(default_factory=list)
    opening_hours: OptionalText = None
    access: Annotated[list[Access], _vocab_list(Access)] = Field(default_factory=list)
    access_condition: Annotated[
        Annotated[str, Field(max_length=ACCESS_CONDITION_MAX)] | None,
        BeforeValidator(_blank_to_none),
    ] = None
    floor_area_m2: float | None = Field(None, ge=0, allow_inf_nan=False)
    seats: int | None = Field(None, ge=0)
    source_crs: str = "wgs84"
    last_verified_at: dt.datetime | None = None

    @field_validator("opening_hours")
    @classmethod
    def _hours_parse(cls, value: str | None) -> str | None:
        return None if value is None else validate_opening_hours(value)

    @field_validator("last_verified_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("last_verified_at needs a UTC offset, e.g. 2026-10-15T10:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> StationRecord:
        if self.opened_on and self.closed_on and self.closed_on < self.opened_on:
            raise ValueError("closed_on must not be before opened_on")
        return self


class EnterpriseRecord(_Record):
    source: str = Field(min_length=1)
    external_id: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=200)
    lon: Lon
    lat: Lat
    address: OptionalText = None
    employees: int | None = Field(None, ge=0)
    outdoor_workers: int | None = Field(None, ge=0)
    union_status: Annotated[UnionStatus | None, _vocab(UnionStatus)] = None
    industry: OptionalText = None
    registration_code: StatCode | None = None

    @model_validator(mode="after")
    def _outdoor_within_employees(self) -> EnterpriseRecord:
        if (
            self.employees is not None
            and self.outdoor_workers is not None
            and self.outdoor_workers > self.employees
        ):
            raise ValueError("outdoor_workers must not exceed employees")
        return self


class BoundaryRecord(_Record):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    code: StatCode
    name: str = Field(min_length=1)
    level: Annotated[BoundaryLevel, _vocab(BoundaryLevel)]
    vintage: str = Field(min_length=1)
    geometry: MultiPolygon
    parent_code: StatCode | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    population: int | None = Field(None, ge=0)
    population_year: int | None = Field(None, ge=1949, le=2100)
    population_source: OptionalText = None
    communities: int | None = Field(None, ge=0)

    @field_validator("geometry", mode="before")
    @classmethod
    def _multipolygon(cls, value: Any) -> MultiPolygon:
        if isinstance(value, Polygon):
            value = MultiPolygon([value])
        if not isinstance(value, MultiPolygon):
            kind = value.geom_type if isinstance(value, BaseGeometry) else type(value).__name__
            raise ValueError(f"geometry must be a Polygon or MultiPolygon, got {kind}")
        if value.is_empty or not value.is_valid:
            raise ValueError("geometry is empty or invalid (self-intersecting?)")
        minx, miny, maxx, maxy = value.bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise ValueError("geometry coordinates are outside lon -180..180 / lat -90..90")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BoundaryRecord:
        if self.population is not None and self.population_year is None:
            raise ValueError("population_year is required with a population")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self
