"""``/coverage``: per-boundary coverage figures and the underserved ranking, as GeoJSON or JSON.

The analysis is :func:`geo.coverage.query.run_coverage` on :mod:`geo.store.frames`'
statements, as in the CLI (CPU-bound: run in a worker thread). Results are cached by their
parameters and the data versions (stations, boundaries and enterprises bump
theirs on every change, migrations 0003 and 0007), so a repeated request is free and an edit is
seen at once. Requests are bounded: boundaries, grid resolution and demand cells.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.coords import CoordsQuery, shift_geojson
from api.deps import ConnectionDep, ServicesDep
from api.runtime.database import fetch
from api.runtime.freshness import versions_now
from geo.coverage.analysis import CoverageParams, CoverageResult
from geo.coverage.demand import worker_points
from geo.coverage.query import CoverageQuery, run_coverage
from geo.coverage.supply import DEFAULT_STATUSES
from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.hours import beijing_time
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

router = APIRouter(tags=["coverage"])
GEOJSON = "application/geo+json"
VERSIONED_LAYERS = ("stations", "boundaries", "enterprises")  # what a result is made from
MAX_BOUNDARIES = 400
MAX_CELLS = 400_000  # about all of Beijing at resolution 9; resolution 10 only for a district
H3_CELL_KM2 = {7: 5.16, 8: 0.737, 9: 0.105, 10: 0.015}  # average hexagon areas
SHAPE_DEG = 0.0002  # outlines drawn in the response, simplified to about 20 m


@router.get(
    "/coverage",
    summary="Coverage per boundary and the underserved ranking",
    responses={200: {"content": {GEOJSON: {}, "application/json": {}}}},
)
async def coverage(
    services: ServicesDep,
    conn: ConnectionDep,
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
    f: Annotated[str, Query(pattern="^(geojson|json)$", description="geojson or json")] = "geojson",
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    codes = boundary or []
    query = CoverageQuery(
        kinds=tuple(sorted(k.value for k in kind)) if kind else None,
        statuses=tuple(sorted(st.value for st in status)) if status else DEFAULT_STATUSES,
        at=beijing_time(at) if at else None,
        params=CoverageParams(radius_m=radius_m, walk_min=walk_min, h3_resolution=resolution),
    )
    statement = boundaries_query(
        level=level.value, vintage=vintage, codes=codes, shape_deg=SHAPE_DEG
    )  # fmt: skip (checks the codes)
    versions = await versions_now(services.versions, conn)
    key = (tuple(sorted(codes)), level, vintage, query, workers,
           tuple(versions.get(layer) for layer in VERSIONED_LAYERS))  # fmt: skip
    rows = await fetch(conn, statement)
    if len(rows) > MAX_BOUNDARIES:
        raise InvalidInputError(
            f"{len(rows)} boundaries: at most {MAX_BOUNDARIES} per request", field="boundary"
        )
    boundaries = check_boundaries(boundaries_frame(rows), level=level.value, codes=codes,
                                  vintage_option="vintage=")  # fmt: skip
    cells = boundaries["area_km2"].sum() / H3_CELL_KM2[resolution]
    if cells > MAX_CELLS:
        raise InvalidInputError(
            f"about {cells:,.0f} demand cells: at most {MAX_CELLS:,} per "
            "request; choose fewer boundaries or a lower resolution",
            field="resolution",
        )
    result = services.coverage_cache.get(key)
    if result is None:
        stations = points_frame(await fetch(conn, STATIONS_QUERY), STATION_COLUMNS)
        enterprises = (
            points_frame(await fetch(conn, ENTERPRISES_QUERY), ENTERPRISE_COLUMNS)
            if workers
            else None
        )
        demand = worker_points(enterprises) if enterprises is not None else None
        run = await anyio.to_thread.run_sync(
            lambda: run_coverage(query, boundaries, stations, workers=demand)
        )
        result = run.result
        services.coverage_cache.put(key, result)
    return _respond(result, rows, f, coords)


def _respond(result: CoverageResult, rows: list[Any], f: str, coords: CoordSystem) -> Response:
    table = result.per_boundary.drop(columns=["largest_pocket"], errors="ignore")
    records = [{k: json_scalar(v, 6) for k, v in row.items()} for row in table.to_dict("records")]
    meta = {
        "method": result.method,
        "parameters": {
            "radius_m": result.params.radius_m,
            "walk_min": result.params.walk_min,
            "walk_speed_m_per_min": result.params.walk_speed_m_per_min,
            "detour_factor": result.params.detour_factor,
            "h3_resolution": result.params.h3_resolution,
        },
    }
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
    document = shift_geojson({"type": "FeatureCollection", "features": features, **meta}, coords)
    return Response(json.dumps(document, ensure_ascii=False).encode(), media_type=GEOJSON)
