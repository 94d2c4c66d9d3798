"""``/stations``: every kind of station and rest point as GeoJSON, filterable."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.coords import CoordsQuery, shift_geojson
from api.deps import ReadConnectionDep, SettingsDep
from api.schemas import GeoJSONResponse, Link, StationsPublic, answer
from geo.crs import CoordSystem
from geo.errors import InvalidInputError
from geo.vocab import Amenity, StationKind, StationStatus, walk_in_sql

router = APIRouter(tags=["stations"])
GEOJSON = "application/geo+json"

# The GeoJSON is assembled by PostGIS: one round trip, no per-feature Python objects.
_FEATURES_SQL = """
SELECT count(*) AS n,
       coalesce(json_agg(f.feature ORDER BY f.id), '[]'::json)::text AS features
  FROM (
    SELECT s.id, json_build_object(
             'type', 'Feature', 'id', s.id,
             'geometry', ST_AsGeoJSON(s.geom, 6)::json,
             'properties', json_build_object(
                'kind', s.kind, 'name', s.name, 'address', s.address, 'phone', s.phone,
                'host_type', s.host_type, 'host_name', s.host_name, 'status', s.status,
                'opened_on', s.opened_on, 'closed_on', s.closed_on,
                'amenities', s.amenities, 'services', s.services,
                'opening_hours', s.opening_hours, 'access', s.access,
                'access_condition', s.access_condition,
                'walk_in', CASE WHEN s.access = '{}' THEN NULL ELSE {walk_in} END,
                'floor_area_m2', s.floor_area_m2,
                'seats', s.seats, 'last_verified_at', s.last_verified_at,
                'boundary_code', b.code, 'boundary_name', b.name)) AS feature
      FROM stations AS s
      LEFT JOIN boundaries AS b ON b.id = s.boundary_id
     WHERE s.deleted_at IS NULL
       AND ($1::text[] IS NULL OR s.kind = ANY($1))
       AND ($2::text[] IS NULL OR s.status = ANY($2))
       AND ($3::text[] IS NULL OR s.amenities @> $3)
       AND ($4::float8 IS NULL OR s.geom && ST_MakeEnvelope($4, $5, $6, $7, 4326))
       AND (NOT $10::boolean OR {walk_in})
     ORDER BY s.id
     LIMIT $8 OFFSET $9
  ) AS f
""".replace("{walk_in}", walk_in_sql("s"))


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in WGS-84, checked for order and range."""
    if text is None:
        return None
    try:
        minx, miny, maxx, maxy = (float(part) for part in text.split(","))
    except ValueError as exc:
        raise InvalidInputError("bbox must be minlon,minlat,maxlon,maxlat", field="bbox") from exc
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise InvalidInputError(
            "bbox must have min < max within lon -180..180 and lat -90..90", field="bbox"
        )
    return minx, miny, maxx, maxy


@router.get(
    "/stations",
    summary="Stations and rest points as GeoJSON",
    response_model=StationsPublic,
    response_class=GeoJSONResponse,
    responses={200: answer(StationsPublic)},
)
async def list_stations(
    request: Request,
    conn: ReadConnectionDep,
    settings: SettingsDep,
    kind: Annotated[list[StationKind] | None, Query(description="any of these kinds")] = None,
    status: Annotated[list[StationStatus] | None, Query(description="any of these")] = None,
    amenity: Annotated[list[Amenity] | None, Query(description="all of these")] = None,
    walk_in: Annotated[
        bool,
        Query(description="only places anyone may walk into: no registration, member code or card"),
    ] = False,
    bbox: Annotated[str | None, Query(examples=["116.2,39.8,116.5,40.0"])] = None,
    limit: Annotated[int | None, Query(ge=1, description="page size (capped)")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    box = parse_bbox(bbox)
    page = limit or settings.api.default_features
    if page > settings.api.max_features:
        raise InvalidInputError(f"limit may be at most {settings.api.max_features}", field="limit")
    row = await conn.fetchrow(
        _FEATURES_SQL,
        [k.value for k in kind] if kind else None,
        [s.value for s in status] if status else None,
        [a.value for a in amenity] if amenity else None,
        *(box or (None, None, None, None)),
        page,
        offset,
        walk_in,
    )
    links = [Link(href=str(request.url), rel="self", type=GEOJSON)]
    if row["n"] == page:
        next_url = request.url.include_query_params(offset=offset + page, limit=page)
        links.append(Link(href=str(next_url), rel="next", type=GEOJSON))
    head = StationsPublic.model_construct(type="FeatureCollection", numberReturned=row["n"],
                                          links=links, features=[])  # fmt: skip
    prefix = head.model_dump_json(include={"type", "numberReturned", "links"})[:-1]
    features = row["features"]
    if coords is not CoordSystem.WGS84:
        document = {"type": "FeatureCollection", "features": json.loads(features)}
        features = json.dumps(shift_geojson(document, coords)["features"], ensure_ascii=False)
    body = f'{prefix},"features":{features}}}'
    return Response(body.encode(), media_type=GEOJSON)
