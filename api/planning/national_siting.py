"""``/siting/national``: a stored national or provincial siting run's proposed sites.

Runs are computed by ``nuanxin site --scope national|province --store`` and read here: the
latest unless ``siting`` names one, optionally one province's sites. The collection's
``nuanxin`` member carries the run's parameters and method, with the residents the sites add,
the bound no ``p`` candidates can beat and the proven gap; ``f=csv`` the sites alone.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.coords import CoordsQuery, shift_point
from api.deps import ReadConnectionDep
from api.planning.national import NationalFormat
from api.planning.schemas import NationalSiting
from api.schemas import GeoJSONResponse, answer
from geo.crs import CoordSystem
from geo.errors import NotFoundError

router = APIRouter(tags=["siting"])

_RUN = """
SELECT id, scope, created_at, params, method FROM national_sitings
 WHERE ($1::int IS NULL OR id = $1) ORDER BY id DESC LIMIT 1
"""
_SITES = """
SELECT rank, h3, code, county, province, gain, gain_alone, ST_X(geom) AS lon, ST_Y(geom) AS lat
  FROM national_sites
 WHERE siting_id = $1 AND ($2::text IS NULL OR province = $2)
 ORDER BY rank
"""
COLUMNS = ("rank", "h3", "code", "county", "province", "gain", "gain_alone", "lon", "lat")


@router.get(
    "/siting/national",
    summary="A stored national siting run's proposed sites, in rank order",
    response_class=GeoJSONResponse,
    responses={
        200: answer(NationalSiting, files=("text/csv",)),
        404: {"description": "no stored siting run (or not that one)"},
    },
)
async def national_sites(
    conn: ReadConnectionDep,
    province: Annotated[
        str | None, Query(pattern=r"^\d{2}$", description="only this province's sites, e.g. 11")
    ] = None,
    siting: Annotated[int | None, Query(ge=1, description="a run's id; default the latest")] = None,
    f: Annotated[NationalFormat, Query(description="geojson or csv")] = NationalFormat.GEOJSON,
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    found = await conn.fetchrow(_RUN, siting)
    if found is None:
        raise NotFoundError(
            "no national siting run is stored: run `nuanxin site --scope national "
            "--census FILE --p N --store`"
            if siting is None
            else f"no national siting run {siting}"
        )
    rows = [_site(row, coords) for row in await conn.fetch(_SITES, found["id"], province)]
    if f is NationalFormat.CSV:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    meta = {
        "siting": found["id"],
        "scope": found["scope"],
        "created_at": found["created_at"].isoformat(),
        "coords": coords.value,
        "params": json.loads(found["params"]),
        "method": json.loads(found["method"]),
    }
    features = [{"type": "Feature", "id": row["rank"],
                 "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                 "properties": {k: row[k] for k in COLUMNS if k not in ("lon", "lat")}}
                for row in rows]  # fmt: skip
    body = {"type": "FeatureCollection", "nuanxin": meta, "features": features}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/geo+json")


def _site(row: Any, coords: CoordSystem) -> dict[str, Any]:
    lon, lat = shift_point(row["lon"], row["lat"], coords)
    return {k: row[k] for k in COLUMNS if k not in ("lon", "lat")} | {"lon": lon, "lat": lat}
