"""``/coverage``: per-boundary coverage figures and the underserved ranking; ``/coverage/what-if``:
the same with stations added, moved, opened or closed, before against after.

The analysis is :func:`geo.coverage.query.run_coverage` on :mod:`geo.store.frames`' statements,
as in the CLI (CPU-bound: run in a worker thread), so the planner's page, the CLI and the report
files cannot disagree. Results are cached by their scope and the data versions (stations,
boundaries and enterprises bump theirs on every change, migrations 0003 and 0007): a repeated
request is free, an edit is seen at once, and a what-if computes only its "after". Requests are
bounded: boundaries, grid resolution and demand cells, changes per what-if.

Answers come as GeoJSON or JSON, and as the files a planner takes away: the table as CSV (the
CLI's ``coverage.csv``, byte for byte) or XLSX, the report map as HTML or PNG (``nuanxin map``'s),
and a what-if's changes as the CSV that ``nuanxin coverage --what-if`` reads.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import asyncpg
import geopandas
import pandas as pd
import shapely
from fastapi import APIRouter, Body, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.coords import CoordsQuery, shift_geojson
from api.deps import ReadConnectionDep, ServicesDep
from api.planning.schemas import CoverageCollection, CoverageTable, WhatIf
from api.runtime.database import fetch
from api.runtime.freshness import versions_now
from api.runtime.services import Services
from api.schemas import answer
from geo.coverage.analysis import CoverageParams, CoverageResult
from geo.coverage.demand import worker_points
from geo.coverage.query import CoverageQuery, CoverageRun, run_coverage
from geo.coverage.report import coverage_csv, finite_figures, write_png
from geo.coverage.supply import DEFAULT_STATUSES
from geo.coverage.whatif import (
    MAX_CHANGES,
    apply_changes,
    changes_csv,
    check_inside,
    compare,
    newly_within,
    parse_changes,
)
from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.hours import ChinaCalendar, beijing_time
from geo.jsonsafe import json_scalar
from geo.standards import RADIUS_M, WALK_MIN
from geo.store.frames import (
    ENTERPRISE_COLUMNS,
    ENTERPRISES_QUERY,
    STATION_COLUMNS,
    STATIONS_QUERY,
    boundaries_frame,
    boundaries_query,
    check_boundaries,
    points_frame,
)
from geo.vocab import BoundaryLevel, StationKind, StationStatus
from maps.report import coverage_map, report_html

router = APIRouter(tags=["coverage"])
GEOJSON = "application/geo+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VERSIONED_LAYERS = ("stations", "boundaries", "enterprises")  # what a result is made from
MAX_BOUNDARIES = 400
MAX_CELLS = 400_000  # about all of Beijing at resolution 9; resolution 10 only for a district
H3_CELL_KM2 = {7: 5.16, 8: 0.737, 9: 0.105, 10: 0.015}  # average hexagon areas
SHAPE_DEG = 0.0002  # outlines drawn in the response, simplified to about 20 m
Format = Literal["geojson", "json", "csv", "xlsx", "html", "png"]
_CALENDAR = ChinaCalendar()


class Scope(BaseModel):
    """What a planner analyses: the boundaries, which stations count, when, and how far a walk
    is. ``GET /coverage`` takes it as query parameters, ``POST /coverage/what-if`` as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    boundary: list[str] = Field(
        default_factory=list, max_length=MAX_BOUNDARIES,
        description="12-digit codes of boundaries or of their parents (a district)",
    )  # fmt: skip
    level: BoundaryLevel = BoundaryLevel.SUBDISTRICT
    vintage: str | None = Field(None, max_length=100, description="boundary edition")
    kind: list[StationKind] | None = Field(None, description="station kinds counted (all)")
    status: list[StationStatus] | None = Field(None, description="statuses counted (open)")
    at: datetime | None = Field(None, description="only stations open then (no zone = Beijing)")
    walk_min: float = Field(WALK_MIN, gt=0, le=60, description="walking minutes")
    radius_m: float = Field(RADIUS_M, gt=0, le=10_000, description="straight radius, metres")
    resolution: int = Field(9, ge=7, le=10, description="H3 resolution of the demand grid")
    workers: bool = Field(True, description="count enterprises' outdoor workers")

    def query(self) -> CoverageQuery:
        at = beijing_time(self.at) if self.at else None
        if at is not None and not _CALENDAR.is_known(at.date()):
            raise InvalidInputError(
                f"{at:%Y-%m-%d} is outside the holiday calendar ({_CALENDAR.known_from.year}–"
                f"{_CALENDAR.known_until.year}): which days are holidays then is not known yet",
                field="at",
            )
        return CoverageQuery(
            kinds=tuple(sorted(k.value for k in self.kind)) if self.kind else None,
            statuses=tuple(sorted(s.value for s in self.status)) if self.status
            else DEFAULT_STATUSES,
            at=at,
            params=CoverageParams(radius_m=self.radius_m, walk_min=self.walk_min,
                                  h3_resolution=self.resolution),
        )  # fmt: skip


@dataclass(frozen=True)
class ScopeData:
    """What a scope reads from the database, kept while the data's versions stand: a
    planner's what-ifs and moments on one scope then read nothing again."""

    rows: list[Any]  # the boundaries' rows, with their simplified outlines (``shape``)
    boundaries: geopandas.GeoDataFrame
    stations: geopandas.GeoDataFrame
    workers: geopandas.GeoDataFrame | None


@dataclass(frozen=True)
class Inputs:
    """A scope read from the database: what every answer of this module is computed from."""

    query: CoverageQuery
    rows: list[Any]
    boundaries: geopandas.GeoDataFrame
    stations: geopandas.GeoDataFrame
    workers: geopandas.GeoDataFrame | None
    key: tuple[Any, ...]  # scope and data versions: the cache key of today's result


async def read_inputs(services: Services, conn: asyncpg.Connection, scope: Scope) -> Inputs:
    """The scope's boundaries (checked and bounded), stations and workers."""
    query = scope.query()
    codes = scope.boundary
    statement = boundaries_query(
        level=scope.level.value, vintage=scope.vintage, codes=codes, shape_deg=SHAPE_DEG
    )  # fmt: skip (checks the codes)
    versions = await versions_now(services.versions, conn)
    data_key = (tuple(sorted(codes)), scope.level, scope.vintage, scope.workers,
                tuple(versions.get(layer) for layer in VERSIONED_LAYERS))  # fmt: skip
    data: ScopeData | None = services.scope_cache.get(data_key)
    if data is None:
        data = await _read(conn, statement, scope)
        services.scope_cache.put(data_key, data)
    cells = data.boundaries["area_km2"].sum() / H3_CELL_KM2[scope.resolution]
    if cells > MAX_CELLS:
        raise InvalidInputError(
            f"about {cells:,.0f} demand cells: at most {MAX_CELLS:,} per "
            "request; choose fewer boundaries or a lower resolution",
            field="resolution",
        )
    return Inputs(query, data.rows, data.boundaries, data.stations, data.workers,
                  (data_key, query))  # fmt: skip


async def _read(conn: asyncpg.Connection, statement: Any, scope: Scope) -> ScopeData:
    rows = await fetch(conn, statement)
    if len(rows) > MAX_BOUNDARIES:
        raise InvalidInputError(
            f"{len(rows)} boundaries: at most {MAX_BOUNDARIES} per request", field="boundary"
        )
    boundaries = check_boundaries(boundaries_frame(rows), level=scope.level.value,
                                  codes=scope.boundary, vintage_option="vintage=")  # fmt: skip
    stations = points_frame(await fetch(conn, STATIONS_QUERY), STATION_COLUMNS)
    workers = None
    if scope.workers:
        enterprises = points_frame(await fetch(conn, ENTERPRISES_QUERY), ENTERPRISE_COLUMNS)
        workers = worker_points(enterprises)
    return ScopeData(rows, boundaries, stations, workers)


async def today(services: Services, inputs: Inputs) -> CoverageRun:
    """Today's coverage of the scope, from the cache when the data has not changed."""
    run = services.coverage_cache.get(inputs.key)
    if run is None:
        run = await anyio.to_thread.run_sync(
            lambda: run_coverage(
                inputs.query, inputs.boundaries, inputs.stations, workers=inputs.workers
            )
        )
        services.coverage_cache.put(inputs.key, run)
    return run


@router.get(
    "/coverage",
    summary="Coverage per boundary and the underserved ranking",
    responses={200: answer(CoverageTable, other={GEOJSON: CoverageCollection},
                           files=("text/csv", XLSX, "text/html", "image/png"))},
)  # fmt: skip
async def coverage(
    services: ServicesDep,
    conn: ReadConnectionDep,
    boundary: Annotated[
        list[str] | None,
        Query(
            description="12-digit code of a boundary or of its parent (a district)",
            examples=["110106000000"],
        ),
    ] = None,
    level: Annotated[BoundaryLevel, Query(description="boundary level analysed")] = (
        BoundaryLevel.SUBDISTRICT
    ),
    vintage: Annotated[str | None, Query(description="boundary edition, if several")] = None,
    kind: Annotated[list[StationKind] | None, Query(description="station kinds counted")] = None,
    status: Annotated[
        list[StationStatus] | None, Query(description="statuses counted (default open)")
    ] = None,
    at: Annotated[
        datetime | None,
        Query(
            description="only stations open then (no zone = Beijing)", examples=["2026-11-29T05:00"]
        ),
    ] = None,
    walk_min: Annotated[float, Query(gt=0, le=60, description="walking minutes")] = WALK_MIN,
    radius_m: Annotated[float, Query(gt=0, le=10_000, description="straight radius")] = RADIUS_M,
    resolution: Annotated[int, Query(ge=7, le=10, description="H3 resolution")] = 9,
    workers: Annotated[bool, Query(description="count enterprises' outdoor workers")] = True,
    f: Annotated[
        Format,
        Query(description="geojson, json; csv or xlsx (the table); html or png (the report map)"),
    ] = "geojson",
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    scope = Scope(boundary=boundary or [], level=level, vintage=vintage, kind=kind,
                  status=status, at=at, walk_min=walk_min, radius_m=radius_m,
                  resolution=resolution, workers=workers)  # fmt: skip
    inputs = await read_inputs(services, conn, scope)
    run = await today(services, inputs)
    if f in ("geojson", "json"):
        return _respond(run.result, inputs.rows, f, coords)
    return await _file(run, inputs, f, title=_title(inputs), stations=inputs.stations)


class WhatIfRequest(BaseModel):
    """A scope and the changes to try on it, in the order made."""

    model_config = ConfigDict(extra="forbid")

    scope: Scope = Field(default_factory=Scope)
    changes: list[dict[str, str | float | int | None]] = Field(
        min_length=1, max_length=MAX_CHANGES,
        description="as the rows of a what-if file: action (add, move, open, close), id, name, "
        "kind, lon, lat, opening_hours",
        examples=[[{"action": "add", "lon": 116.2187, "lat": 39.8512, "name": "卢沟桥新站"}]],
    )  # fmt: skip


@router.post(
    "/coverage/what-if",
    summary="Coverage before and after adding, moving, opening or closing stations",
    responses={200: answer(WhatIf, files=("text/csv", XLSX, "text/html", "image/png"))},
)  # fmt: skip
async def what_if(
    services: ServicesDep,
    conn: ReadConnectionDep,
    request: Annotated[WhatIfRequest, Body()],
    f: Annotated[
        Literal["json", "changes.csv", "csv", "xlsx", "html", "png"],
        Query(
            description="json (before, after, change); changes.csv (the what-if file); "
            "csv, xlsx, html, png: the plan's coverage as files"
        ),
    ] = "json",
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    """The changes are checked as ``nuanxin coverage --what-if`` checks a file (every bad one
    named, nothing half-applied); coordinates are in ``coords`` and answered in it."""
    changes = parse_changes(request.changes, coords)
    if f == "changes.csv":
        return Response(changes_csv(changes).encode(), media_type="text/csv; charset=utf-8",
                        headers=_attachment("what-if.csv"))  # fmt: skip
    inputs = await read_inputs(services, conn, request.scope)
    check_inside(changes, inputs.boundaries)
    plan = apply_changes(inputs.stations, changes)  # unknown ids are refused here
    after = await anyio.to_thread.run_sync(
        lambda: run_coverage(inputs.query, inputs.boundaries, plan, workers=inputs.workers)
    )
    if f != "json":  # the plan's map: stations as changed, additions drawn as planned
        kept, added = plan.iloc[: len(inputs.stations)], plan.iloc[len(inputs.stations) :]
        return await _file(after, inputs, f, title=_title(inputs) + "（方案）", stations=kept,
                           planned=added)  # fmt: skip
    before = await today(services, inputs)  # the plan's files do not need it
    comparison = compare(before.result.per_boundary, after.result.per_boundary)
    body = {
        **_meta(after.result),
        "before": _records(before.result.per_boundary),
        "after": _records(after.result.per_boundary),
        "comparison": _records(comparison),
        "newly_within_walk": newly_within(comparison),
        "stations_counted": {"before": len(before.supply.stations),
                             "after": len(after.supply.stations)},
    }  # fmt: skip
    return Response(json.dumps(body, ensure_ascii=False).encode(), media_type="application/json")


def _title(inputs: Inputs) -> str:
    title = "工会驿站步行可达覆盖"
    if inputs.query.at is not None:
        title += f"（{inputs.query.at:%Y-%m-%d %H:%M} 开放的站点）"
    return title


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


async def _file(run: CoverageRun, inputs: Inputs, f: str, *, title: str,
                stations: geopandas.GeoDataFrame,
                planned: geopandas.GeoDataFrame | None = None) -> Response:  # fmt: skip
    """The table (CSV, XLSX) or the report map (HTML, PNG) of ``run``, as the CLI writes them."""
    result = run.result
    if f == "csv":
        return Response(coverage_csv(result).encode(), media_type="text/csv; charset=utf-8",
                        headers=_attachment("coverage.csv"))  # fmt: skip
    if f == "xlsx":
        data = await anyio.to_thread.run_sync(lambda: _xlsx(finite_figures(result)))
        return Response(data, media_type=XLSX, headers=_attachment("coverage.xlsx"))
    if f == "html":

        def render() -> str:
            figure = coverage_map(result, inputs.boundaries, stations, title=title,
                                  planned=planned, inline=True)  # fmt: skip
            return report_html(figure)

        page = await anyio.to_thread.run_sync(render)
        return Response(page.encode(), media_type="text/html; charset=utf-8",
                        headers=_attachment("coverage.html"))  # fmt: skip
    data = await anyio.to_thread.run_sync(lambda: _png(run, inputs))
    return Response(data, media_type="image/png", headers=_attachment("coverage.png"))


def _xlsx(table: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    table.to_excel(out, index=False, sheet_name="coverage", engine="openpyxl")
    return out.getvalue()


def _png(run: CoverageRun, inputs: Inputs) -> bytes:
    with tempfile.TemporaryDirectory(prefix="nuanxin-png-") as folder:
        path = write_png(run.result, inputs.boundaries, run.supply.stations,
                         Path(folder) / "coverage.png")  # fmt: skip
        return path.read_bytes()


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    table = table.drop(columns=["largest_pocket"], errors="ignore")
    return [{k: json_scalar(v, 6) for k, v in row.items()} for row in table.to_dict("records")]


def _meta(result: CoverageResult) -> dict[str, Any]:
    return {
        "method": result.method,
        "parameters": {
            "radius_m": result.params.radius_m,
            "walk_min": result.params.walk_min,
            "walk_speed_m_per_min": result.params.walk_speed_m_per_min,
            "detour_factor": result.params.detour_factor,
            "h3_resolution": result.params.h3_resolution,
        },
    }


def _respond(result: CoverageResult, rows: list[Any], f: str, coords: CoordSystem) -> Response:
    records, meta = _records(result.per_boundary), _meta(result)
    if f == "json":
        body = {**meta, "boundaries": records}
        return Response(
            json.dumps(body, ensure_ascii=False).encode(), media_type="application/json"
        )
    shapes = {r["code"]: json.loads(r["shape"]) for r in rows}
    features = [
        {"type": "Feature", "id": rec["code"], "geometry": shapes[rec["code"]], "properties": rec}
        for rec in records
    ]
    gaps = shift_geojson(_gap_features(result), coords)
    document = shift_geojson({"type": "FeatureCollection", "features": features, **meta}, coords)
    document["gaps"] = gaps  # a member of its own: GeoJSON readers see only the boundaries
    return Response(json.dumps(document, ensure_ascii=False).encode(), media_type=GEOJSON)


def _gap_features(result: CoverageResult) -> dict[str, Any]:
    """The areas beyond a walk (dissolved demand cells, to about a metre), for the page to
    hatch."""
    features: list[dict[str, Any]] = []
    if result.gaps is not None:
        for row in result.gaps.itertuples():
            shape = shapely.set_precision(row.geometry, 1e-5)
            features.append({"type": "Feature", "id": row.code,
                             "geometry": json.loads(shapely.to_geojson(shape)),
                             "properties": {"code": row.code,
                                            "gap_km2": json_scalar(row.gap_km2, 4)}})  # fmt: skip
    return {"type": "FeatureCollection", "features": features}
