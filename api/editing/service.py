"""What a district can be held to, published: ``/districts/service`` (public) and the editor's
list of places due for a check, ``/stations/due``.

Per district (current district boundaries; a place belongs to the district that covers it):

* **reports**: those of the last ``days``, how many were answered, how many within the promise
  (``report_response_hours``, 48 h) and ``share_in_time`` = answered in time ÷ reports whose
  deadline has passed or that were answered (``null`` while none is due);
* **verified**: the share of its open places checked in the last ``verified_days`` (30): a visit
  or a staff check written as ``last_verified_at``, or an accepted worker confirmation, which
  writes the same. Networks like this one report weekly the share of stations really on the
  map; this is ours, a number a district can be held to.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.coords import CoordsQuery, shift_point
from api.deps import ConnectionDep
from api.editing.auth import PrincipalDep
from api.editing.schemas import DistrictService, DuePlace
from api.runtime.services import services_of
from api.schemas import answer, json_answer
from geo.crs import CoordSystem
from geo.store.tokens import Role

router = APIRouter(tags=["reports"])
MAX_DAYS = 366
VERIFIED_DAYS = 30

_REPORTS = """
WITH promised AS (
  SELECT d.code, r.status, r.moderated_at, r.created_at + make_interval(secs => $1) AS due_at
    FROM reports AS r
    JOIN stations AS s ON s.id = r.station_id
    JOIN boundaries AS d ON d.level = 'district' AND d.valid_to IS NULL
                        AND ST_Covers(d.geom, s.geom)
   WHERE r.created_at > now() - make_interval(days => $2)
)
SELECT d.code,
       count(p.code) AS received,
       count(p.code) FILTER (WHERE p.status <> 'pending') AS answered,
       count(p.code) FILTER (WHERE p.status <> 'pending' AND p.moderated_at <= p.due_at)
         AS answered_in_time,
       count(p.code) FILTER (WHERE p.status <> 'pending' OR p.due_at <= now()) AS due,
       count(p.code) FILTER (WHERE p.status = 'pending' AND p.due_at <= now()) AS overdue
  FROM boundaries AS d LEFT JOIN promised AS p ON p.code = d.code
 WHERE d.level = 'district' AND d.valid_to IS NULL
 GROUP BY d.code
"""

_VERIFIED = """
SELECT d.code, d.name,
       count(s.id) AS places,
       count(s.id) FILTER (WHERE s.last_verified_at > now() - make_interval(days => $1))
         AS verified
  FROM boundaries AS d
  LEFT JOIN stations AS s ON s.deleted_at IS NULL AND s.status = 'open'
                         AND ST_Covers(d.geom, s.geom)
 WHERE d.level = 'district' AND d.valid_to IS NULL
 GROUP BY d.code, d.name
 ORDER BY d.code
"""

_DUE = """
SELECT s.id, s.name, s.kind, s.last_verified_at, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
  FROM stations AS s
 WHERE s.deleted_at IS NULL AND s.status = 'open'
   AND (s.last_verified_at IS NULL OR s.last_verified_at <= now() - make_interval(days => $1))
   AND ($2::text IS NULL OR EXISTS (
        SELECT 1 FROM boundaries AS b
         WHERE b.code = $2 AND b.valid_to IS NULL AND ST_Covers(b.geom, s.geom)))
 ORDER BY s.last_verified_at NULLS FIRST, s.id
 LIMIT $3
"""


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@router.get("/districts/service", summary="Per district: reports answered in time, places verified",
            responses={200: answer(DistrictService)})  # fmt: skip
async def district_service(
    request: Request,
    conn: ConnectionDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="the reports of these days")] = 90,
    verified_days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="verified within these days")
    ] = VERIFIED_DAYS,
) -> Response:
    """Public: see the module for what each figure counts."""
    hours = services_of(request.app).settings.api.report_response_hours
    reports = {r["code"]: dict(r) for r in await conn.fetch(_REPORTS, hours * 3600, days)}
    districts = []
    for row in await conn.fetch(_VERIFIED, verified_days):
        figures = reports[row["code"]]
        figures.pop("code")
        figures["share_in_time"] = _share(figures["answered_in_time"], figures["due"])
        districts.append({
            "code": row["code"], "name": row["name"], "reports": figures,
            "verified": {"places": row["places"], "verified": row["verified"],
                         "share": _share(row["verified"], row["places"])},
        })  # fmt: skip
    return json_answer({"days": days, "response_hours": hours, "verified_days": verified_days,
                        "districts": districts})  # fmt: skip


@router.get("/stations/due", summary="Open places due for a check (editors: their district)",
            responses={200: answer(DuePlace, list_of=True)})  # fmt: skip
async def places_due(
    conn: ConnectionDep,
    who: PrincipalDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="not verified within")] = (
        VERIFIED_DAYS
    ),
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    """Never checked first, then the longest unchecked; each where ``coords`` draws it."""
    district = None if who.role is Role.ADMIN else who.district_code
    rows = await conn.fetch(_DUE, days, district, limit)
    out = []
    for r in rows:
        lon, lat = shift_point(r["lon"], r["lat"], coords)
        verified = r["last_verified_at"]
        out.append({**dict(r), "lon": lon, "lat": lat,
                    "last_verified_at": verified.isoformat() if verified else None})  # fmt: skip
    return json_answer(out)
