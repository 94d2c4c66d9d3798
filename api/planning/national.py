"""``/coverage/national``: a stored national or provincial run, by county or province.

Runs are computed by ``nuanxin coverage --scope national --store`` (minutes on a cluster, not
per request) and read here: the latest run unless ``run`` names one. GeoJSON features carry
every figure and the simplified outline; ``f=csv`` the table alone, ranked.
``/coverage/national/runs`` lists the stored coverage and siting runs, newest first, for the
national planner's page to offer.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.coords import CoordsQuery, shift_geojson
from api.deps import ReadConnectionDep
from api.planning.schemas import NationalCoverage, NationalRuns
from api.schemas import GeoJSONResponse, answer, json_answer
from geo.crs import CoordSystem
from geo.errors import NotFoundError

router = APIRouter(tags=["coverage"])


class Level(StrEnum):
    COUNTY = "county"
    PROVINCE = "province"


class NationalFormat(StrEnum):
    GEOJSON = "geojson"
    CSV = "csv"


_RUN = """
SELECT id, scope, created_at, params, method FROM national_runs
 WHERE ($1::int IS NULL OR id = $1) ORDER BY id DESC LIMIT 1
"""
_FIGURES = """
SELECT code, name, province, rank, figures::text AS figures,
       CASE WHEN $4 THEN ST_AsGeoJSON(geom, 6) END AS geometry
  FROM national_figures
 WHERE run_id = $1 AND level = $2 AND ($3::text IS NULL OR province = $3)
 ORDER BY rank NULLS LAST, code
"""


@router.get(
    "/coverage/national",
    summary="A stored national coverage run, per county or province, ranked",
    response_class=GeoJSONResponse,
    responses={
        200: answer(NationalCoverage, files=("text/csv",)),
        404: {"description": "no stored run (or not that one)"},
    },
)
async def national_coverage(
    conn: ReadConnectionDep,
    level: Annotated[Level, Query(description="county or province")] = Level.COUNTY,
    province: Annotated[
        str | None, Query(pattern=r"^\d{2}$", description="only this province's counties, e.g. 11")
    ] = None,
    run: Annotated[int | None, Query(ge=1, description="a run's id; default the latest")] = None,
    f: Annotated[NationalFormat, Query(description="geojson or csv")] = NationalFormat.GEOJSON,
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    found = await conn.fetchrow(_RUN, run)
    if found is None:
        raise NotFoundError(
            "no national coverage run is stored: run `nuanxin coverage "
            "--scope national --census FILE --store`"
            if run is None
            else f"no national coverage run {run}"
        )
    rows = await conn.fetch(
        _FIGURES, found["id"], level.value, province, f is NationalFormat.GEOJSON
    )
    if f is NationalFormat.CSV:
        return Response(_csv(rows), media_type="text/csv; charset=utf-8")
    meta = {
        "run": found["id"],
        "scope": found["scope"],
        "created_at": found["created_at"].isoformat(),
        "level": level.value,
        "coords": coords.value,
        "params": json.loads(found["params"]),
        "method": json.loads(found["method"]),
    }
    features = ",".join(
        f'{{"type":"Feature","geometry":{row["geometry"]},"properties":{_properties(row)}}}'
        for row in rows
    )
    meta_json = json.dumps(meta, ensure_ascii=False)
    body = f'{{"type":"FeatureCollection","nuanxin":{meta_json},"features":[{features}]}}'
    if coords is not CoordSystem.WGS84:  # outlines for a GCJ-02 or BD-09 basemap
        shifted = shift_geojson(json.loads(body), coords)
        body = json.dumps(shifted, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/geo+json")


_RUNS = """
SELECT r.id, r.scope, r.created_at, r.params, r.method,
       count(*) FILTER (WHERE f.level = 'county') AS counties,
       count(*) FILTER (WHERE f.level = 'province') AS provinces
  FROM national_runs AS r LEFT JOIN national_figures AS f ON f.run_id = r.id
 GROUP BY r.id ORDER BY r.id DESC LIMIT $1
"""
_SITINGS = """
SELECT s.id, s.scope, s.created_at, s.params, s.method, count(t.rank) AS sites
  FROM national_sitings AS s LEFT JOIN national_sites AS t ON t.siting_id = s.id
 GROUP BY s.id ORDER BY s.id DESC LIMIT $1
"""


@router.get("/coverage/national/runs",
            summary="Stored national coverage and siting runs, newest first",
            responses={200: answer(NationalRuns)})  # fmt: skip
async def national_runs(
    conn: ReadConnectionDep,
    limit: Annotated[int, Query(ge=1, le=200, description="runs of each kind")] = 50,
) -> Response:
    def run(row: Any, counts: tuple[str, ...]) -> dict[str, Any]:
        return {"id": row["id"], "scope": row["scope"],
                "created_at": row["created_at"].isoformat(),
                "params": json.loads(row["params"]), "method": json.loads(row["method"]),
                **{name: row[name] for name in counts}}  # fmt: skip

    coverage = [run(r, ("counties", "provinces")) for r in await conn.fetch(_RUNS, limit)]
    siting = [run(r, ("sites",)) for r in await conn.fetch(_SITINGS, limit)]
    return json_answer({"coverage": coverage, "siting": siting})


def _properties(row: Any) -> str:
    head = {"code": row["code"], "name": row["name"], "province": row["province"],
            "rank": row["rank"]}  # fmt: skip
    return json.dumps(head | json.loads(row["figures"]), ensure_ascii=False)


def _csv(rows: list[Any]) -> str:
    out = io.StringIO()
    if not rows:
        return ""
    figures = [json.loads(row["figures"]) for row in rows]
    columns = ["code", "name", "province", "rank", *figures[0].keys()]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row, values in zip(rows, figures, strict=True):
        writer.writerow(
            {
                "code": row["code"],
                "name": row["name"],
                "province": row["province"],
                "rank": row["rank"],
                **values,
            }
        )
    return out.getvalue()
