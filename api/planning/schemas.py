"""Response models of the planners' answers (coverage, what-if, national runs, siting jobs).

The handlers build these bodies from pandas tables and stored JSON and return bytes; the models
only document them (OpenAPI) for clients and the contract test. Figures are ``null`` where a
number is not finite (no population, no station: see :func:`geo.jsonsafe.json_scalar`); the
tables' further columns (the score's ``part_*``, ``largest_pocket_km2``, a national run's
counts) are typed but not listed, so a new figure is not a breaking change.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Geometry, PointGeometry
from geo.crs import CoordSystem
from geo.siting.job import SitingJobParams
from geo.vocab import BoundaryLevel, StationKind, StationStatus

Figure = float | None
Stored = dict[str, str | float | None]  # a stored run's method: sentences and numbers
Method = dict[str, str]  # how each part was computed, in words (demand, reach, score, ...)


class CoverageParameters(BaseModel):
    radius_m: float
    walk_min: float
    walk_speed_m_per_min: float
    detour_factor: float = Field(description="1 when distances were walked along a network")
    h3_resolution: int


class BoundaryFigures(BaseModel):
    """One boundary's coverage figures, as in the CLI's ``coverage.csv``."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Figure]  # the score's parts and the largest pocket

    code: str
    name: str
    rank: int = Field(description="1 = most underserved")
    score: Figure = Field(description="mean of its parts, 0..1")
    share_basis: Literal["residents", "area"] = Field(description="area: population unknown")
    residents: Figure
    stations: int
    area_km2: float
    residents_per_station: Figure
    stations_per_10k: Figure
    stations_per_km2: Figure
    share_within_radius: Figure
    share_within_walk: Figure
    share_two_plus: Figure
    mean_nearest_m: Figure
    p90_nearest_m: Figure
    uncovered_residents: Figure
    workers: Figure = Field(None, description="with workers=true, as every figure below")
    workers_per_station: Figure = None
    share_workers_within_radius: Figure = None
    share_workers_within_walk: Figure = None
    share_workers_two_plus: Figure = None
    workers_mean_nearest_m: Figure = None
    uncovered_workers: Figure = None


class CoverageTable(BaseModel):
    """``f=json``: the figures without outlines."""

    method: Method
    parameters: CoverageParameters
    boundaries: list[BoundaryFigures] = Field(description="in rank order")


class CoverageFeature(BaseModel):
    type: Literal["Feature"]
    id: str = Field(description="the boundary's code")
    geometry: Geometry = Field(description="simplified to about 20 m")
    properties: BoundaryFigures


class GapProperties(BaseModel):
    code: str
    gap_km2: Figure


class GapFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: GapProperties


class GapCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[GapFeature]


class CoverageCollection(BaseModel):
    """GeoJSON: a Feature per boundary, in rank order; ``gaps`` apart, for the page to hatch."""

    type: Literal["FeatureCollection"]
    features: list[CoverageFeature]
    method: Method
    parameters: CoverageParameters
    gaps: GapCollection = Field(description="the areas beyond a walk, per boundary")


class Comparison(BaseModel):
    """A boundary's figures before and after: ``<figure>_before``, ``_after``, ``_change``."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Figure]

    code: str
    name: str


class Newly(BaseModel):
    residents: Figure = Field(description="null when no boundary has a population")
    workers: Figure


class Counted(BaseModel):
    before: int
    after: int


class WhatIf(BaseModel):
    """``f=json``: every figure before, after and the change."""

    method: Method
    parameters: CoverageParameters
    before: list[BoundaryFigures]
    after: list[BoundaryFigures]
    comparison: list[Comparison]
    newly_within_walk: Newly
    stations_counted: Counted


class NationalRun(BaseModel):
    run: int
    scope: str = Field(examples=["national", "province 11, 12, 13"])
    created_at: dt.datetime
    level: Literal["county", "province"]
    coords: CoordSystem
    params: dict[str, Any] = Field(description="as the run was asked for")
    method: Stored


class NationalProperties(BaseModel):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Figure]  # every stored figure of the run

    code: str = Field(description="6-digit county or 2-digit province code")
    name: str
    province: str
    rank: int | None = Field(description="null: a county without census residents")
    share_basis: Literal["residents", "area"] | None = Field(
        None, description="a county's: area when its residents are unknown"
    )
    matched: bool | None = Field(None, description="a county's: it has a census row")


class NationalFeature(BaseModel):
    type: Literal["Feature"]
    geometry: Geometry
    properties: NationalProperties


class NationalCoverage(BaseModel):
    """A stored national run as GeoJSON, ranked; ``nuanxin`` describes the run."""

    type: Literal["FeatureCollection"]
    nuanxin: NationalRun
    features: list[NationalFeature]


class NationalSitingRun(BaseModel):
    siting: int
    scope: str
    created_at: dt.datetime
    coords: CoordSystem
    params: dict[str, Any] = Field(description="as the run was asked for")
    method: Stored = Field(description="with the residents added, the bound no "
                                         "p candidates can beat and the proven gap")  # fmt: skip


class NationalSite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int
    h3: str
    code: str = Field(description="the county it lies in")
    county: str
    province: str
    gain: float = Field(description="residents it adds, in rank order")
    gain_alone: float = Field(description="residents it would add on its own")


class NationalSiteFeature(BaseModel):
    type: Literal["Feature"]
    id: int = Field(description="its rank")
    geometry: PointGeometry
    properties: NationalSite


class NationalSiting(BaseModel):
    type: Literal["FeatureCollection"]
    nuanxin: NationalSitingRun
    features: list[NationalSiteFeature]


class JobLink(BaseModel):
    rel: Literal["self", "cancel", "result"]
    href: str
    type: str | None = None
    method: Literal["DELETE"] | None = None


class Job(BaseModel):
    """A siting job; poll ``self`` until ``status`` is final, then follow ``result``."""

    id: uuid.UUID
    kind: Literal["siting"]
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    params: SitingJobParams
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None = Field(description="why it failed, in words")
    links: list[JobLink]


class Proposal(BaseModel):
    """A proposed site: its rank, place and what it adds (gains, loads, cost, capacity)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str | float | None]

    rank: int
    lon: float = Field(description="WGS-84, whatever coords= asked for")
    lat: float


class ProposalFeature(BaseModel):
    type: Literal["Feature"]
    geometry: PointGeometry
    properties: Proposal


class Solution(BaseModel):
    solver: str
    status: str = Field(examples=["Optimal"])
    objective: Figure
    bound: Figure
    gap: Figure
    time_s: Figure


class SitingResult(BaseModel):
    """A finished siting job: the proposals (GeoJSON) and the summary beside them."""

    type: Literal["FeatureCollection"]
    features: list[ProposalFeature]
    model: Literal["mclp", "lscp", "backup"]
    before: dict[str, Figure] = Field(description="weight, residents and workers within reach")
    after: dict[str, Figure]
    total: dict[str, Figure]
    solution: Solution
    method: Method


class PlanStationProperties(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="the external id a what-if file names")
    source: str
    kind: StationKind
    name: str
    status: StationStatus
    opening_hours: str | None


class PlanStation(BaseModel):
    type: Literal["Feature"]
    id: str = Field(description="source:external id")
    geometry: PointGeometry
    properties: PlanStationProperties


class PlanStations(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[PlanStation]


class StoredRun(BaseModel):
    id: int
    scope: str = Field(examples=["national", "province 11, 12, 13"])
    created_at: dt.datetime
    params: dict[str, Any] = Field(description="as the run was asked for")
    method: Stored


class StoredCoverageRun(StoredRun):
    model_config = ConfigDict(extra="forbid")

    counties: int = Field(description="county figures stored")
    provinces: int


class StoredSitingRun(StoredRun):
    model_config = ConfigDict(extra="forbid")

    sites: int


class NationalRuns(BaseModel):
    """The stored runs, newest first: ``/coverage/national?run=`` and ``/siting/national``."""

    model_config = ConfigDict(extra="forbid")

    coverage: list[StoredCoverageRun]
    siting: list[StoredSitingRun]


class PlanArea(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    level: Literal[BoundaryLevel.DISTRICT, BoundaryLevel.SUBDISTRICT]
    parent_code: str | None
    vintage: str = Field(description="the boundaries' edition")
    current: bool = Field(description="false: a superseded edition")
    has_population: bool
    district: str | None = Field(description="the current district's name it belongs to")


class VintageCount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vintage: str
    subdistricts: int


class CalendarRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    known_from: dt.date = Field(description="the holiday calendar's first day")
    known_until: dt.date
    holiday: dt.date = Field(description="the next public holiday it knows, else the last")


class PlanAreas(BaseModel):
    """The districts and subdistricts to pick (by level, code, vintage), names only."""

    model_config = ConfigDict(extra="forbid")

    areas: list[PlanArea]
    vintages: list[VintageCount] = Field(description="subdistricts per edition")
    calendar: CalendarRange
