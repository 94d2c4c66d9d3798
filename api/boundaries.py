"""``/boundaries``: administrative areas as GeoJSON, simplified for display."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.coords import CoordsQuery, shift_geojson
from api.deps import ReadConnectionDep
from api.schemas import BoundariesPublic, GeoJSONResponse, answer
from geo.crs import CoordSystem
from geo.vocab import BoundaryLevel

router = APIRouter(tags=["boundaries"])
GEOJSON = "application/geo+json"
MAX_SIMPLIFY_M = 500.0

# Current boundaries only (valid_to IS NULL); simplified in metres-ish degrees for the map.
_SQL = """
SELECT coalesce(json_agg(json_build_object(
         'type', 'Feature', 'id', b.id,
         'geometry', ST_AsGeoJSON(
             ST_Multi(ST_SimplifyPreserveTopology(b.geom, $2 / 111320.0)), 5)::json,
         'properties', json_build_object(
            'code', b.code, 'name', b.name, 'level', b.level, 'parent_code', b.parent_code,
            'vintage', b.vintage, 'area_km2', round(b.area_km2::numeric, 3),
            'population', b.population, 'population_year', b.population_year,
            'population_source', b.population_source, 'communities', b.communities))
         ORDER BY b.code), '[]'::json)::text
  FROM boundaries AS b
 WHERE b.valid_to IS NULL AND ($1::text[] IS NULL OR b.level = ANY($1))
   AND ($3::text IS NULL OR b.code = $3 OR b.parent_code = $3)
"""


@router.get(
    "/boundaries",
    summary="Current administrative boundaries as GeoJSON",
    response_model=BoundariesPublic,
    response_class=GeoJSONResponse,
    responses={200: answer(BoundariesPublic)},
)
async def list_boundaries(
    conn: ReadConnectionDep,
    level: Annotated[list[BoundaryLevel] | None, Query(description="any of these")] = None,
    within: Annotated[
        str | None,
        Query(pattern=r"^[0-9]{12}$", description="a code: that area and its children"),
    ] = None,
    simplify_m: Annotated[
        float, Query(ge=0, le=MAX_SIMPLIFY_M, description="display tolerance, metres")
    ] = 20.0,
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    features = await conn.fetchval(
        _SQL, [lv.value for lv in level] if level else None, simplify_m, within
    )
    if coords is not CoordSystem.WGS84:
        document = {"type": "FeatureCollection", "features": json.loads(features)}
        features = json.dumps(shift_geojson(document, coords)["features"], ensure_ascii=False)
    body = f'{{"type":"FeatureCollection","features":{features}}}'
    return Response(body.encode(), media_type=GEOJSON)
