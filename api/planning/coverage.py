"""``/coverage``: per-boundary coverage figures and the underserved ranking, as GeoJSON or JSON.

The analysis is :func:`geo.coverage.analysis.analyse` (CPU-bound: run in a worker thread).
Results are
cached by their parameters and the data versions (stations, boundaries and enterprises bump
theirs on every change, migrations 0003 and 0007), so a repeated request is free and an edit is
seen at once. Requests are bounded: boundaries, grid resolution and demand cells.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from typing import Annotated, Any

import anyio
import geopandas
import pandas as pd
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.coords import CoordsQuery, shift_geojson
from api.deps import ConnectionDep
from geo.coverage.analysis import CoverageParams, CoverageResult, analyse, worker_points
from geo.coverage.supply import DEFAULT_STATUSES, select_supply
from geo.crs import CoordSystem
from geo.errors import InvalidInputError, NotFoundError
from geo.hours import beijing_time
from geo.jsonsafe import json_scalar
from geo.standards import RADIUS_M, WALK_MIN, boundary_code
from geo.vocab import BoundaryLevel, StationKind, StationStatus

router = APIRouter(tags=["coverage"])
GEOJSON = "application/geo+json"
MAX_BOUNDARIES = 400
MAX_CELLS = 400_000  # about all of Beijing at resolution 9; resolution 10 only for a district
H3_CELL_KM2 = {7: 5.16, 8: 0.737, 9: 0.105, 10: 0.015}  # average hexagon areas
CACHE_ENTRIES = 32

_BOUNDARIES_SQL = """
SELECT code, name, parent_code, vintage, population, population_year, population_source,
       area_km2, ST_AsBinary(geom) AS wkb,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.0002), 6) AS shape
  FROM boundaries
 WHERE valid_to IS NULL AND level = $1
   AND ($2::text IS NULL OR vintage = $2)
   AND (cardinality($3::text[]) = 0 OR code = ANY($3) OR parent_code = ANY($3))
 ORDER BY code
"""
_STATIONS_SQL = """
SELECT external_id, kind, name, status, opening_hours, ST_X(geom) AS lon, ST_Y(geom) AS lat
  FROM stations
 WHERE deleted_at IS NULL
"""
_ENTERPRISES_SQL = (
    "SELECT employees, outdoor_workers, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM enterprises "
    "WHERE deleted_at IS NULL"
)
_VERSIONS_SQL = """
SELECT coalesce(json_object_agg(layer, version ORDER BY layer), '{}'::json)::text
  FROM layer_versions
"""


def _cache(request: Request) -> OrderedDict[tuple[Any, ...], CoverageResult]:
    cache: OrderedDict[tuple[Any, ...], CoverageResult] | None = getattr(
        request.app.state, "coverage_cache", None
    )
    if cache is None:
        cache = request.app.state.coverage_cache = OrderedDict()
    return cache


def _frame(rows: list[Any], columns: list[str]) -> geopandas.GeoDataFrame:
    table = pd.DataFrame([dict(r) for r in rows], columns=columns)
    points = geopandas.points_from_xy(table.pop("lon"), table.pop("lat"))
    return geopandas.GeoDataFrame(table, geometry=points, crs=4326)


@router.get(
    "/coverage",
    summary="Coverage per boundary and the underserved ranking",
    responses={200: {"content": {GEOJSON: {}, "application/json": {}}}},
)
async def coverage(
    request: Request,
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
    for code in codes:
        boundary_code(code)
    params = CoverageParams(radius_m=radius_m, walk_min=walk_min, h3_resolution=resolution)
    moment = beijing_time(at) if at else None
    versions = await conn.fetchval(_VERSIONS_SQL)
    key = (
        tuple(sorted(codes)),
        level,
        vintage,
        tuple(sorted(kind or [])),
        tuple(sorted(status or [])),
        moment,
        params,
        workers,
        versions,
    )
    cache = _cache(request)
    result = cache.get(key)
    rows = await conn.fetch(_BOUNDARIES_SQL, level.value, vintage, codes)
    if not rows:
        raise NotFoundError(
            f"no current {level.value} boundaries match {', '.join(codes) or 'any'}"
        )
    if len(rows) > MAX_BOUNDARIES:
        raise InvalidInputError(
            f"{len(rows)} boundaries: at most {MAX_BOUNDARIES} per request", field="boundary"
        )
    found = {r["code"] for r in rows} | {r["parent_code"] for r in rows}
    missing = sorted(set(codes) - found)
    if missing:
        raise NotFoundError(
            f"no current {level.value} boundary with code or parent {', '.join(missing)}"
        )
    vintages = sorted({r["vintage"] for r in rows})
    if len(vintages) > 1:
        raise InvalidInputError(
            f"boundaries of several vintages ({', '.join(vintages)}); choose one with vintage=",
            field="vintage",
        )
    cells = sum(r["area_km2"] for r in rows) / H3_CELL_KM2[resolution]
    if cells > MAX_CELLS:
        raise InvalidInputError(
            f"about {cells:,.0f} demand cells: at most {MAX_CELLS:,} per "
            "request; choose fewer boundaries or a lower resolution",
            field="resolution",
        )
    if result is None:
        boundaries = geopandas.GeoDataFrame(
            [{k: r[k] for k in ("code", "name", "population")} for r in rows],
            geometry=shapely.from_wkb([bytes(r["wkb"]) for r in rows]),
            crs=4326,
        )
        stations = _frame(
            await conn.fetch(_STATIONS_SQL),
            ["external_id", "kind", "name", "status", "opening_hours", "lon", "lat"],
        )
        enterprises = (
            _frame(
                await conn.fetch(_ENTERPRISES_SQL), ["employees", "outdoor_workers", "lon", "lat"]
            )
            if workers
            else None
        )
        supply = select_supply(
            stations,
            kinds=[k.value for k in kind] if kind else None,
            statuses=[s.value for s in status] if status else DEFAULT_STATUSES,
            at=moment,
        )
        demand = worker_points(enterprises) if enterprises is not None else None
        result = await anyio.to_thread.run_sync(
            lambda: analyse(
                boundaries, supply.stations, params, workers=demand, supply=supply.description
            )
        )
        cache[key] = result
        while len(cache) > CACHE_ENTRIES:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
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
