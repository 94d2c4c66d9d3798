"""What the planner's page (``/plan``) needs besides the analysis itself.

* ``/plan/areas``: the districts and subdistricts to pick, with their editions, and the
  calendar's range. Names and codes only (no outlines: ``/coverage`` draws the picked ones), so
  the page can search all 343 of Beijing's subdistricts as one types, and offer each vintage on
  its own: two editions are never mixed in one analysis.
* ``/plan/stations``: the stations exactly as the analysis reads them, keyed by the external id
  a what-if file names (the public ``/stations`` pages and leaves that id out).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.coords import CoordsQuery, shift_geojson
from api.deps import ConnectionDep
from api.planning.schemas import PlanAreas, PlanStations
from api.runtime.database import fetch
from api.schemas import GeoJSONResponse, answer, json_answer
from geo.crs import CoordSystem
from geo.hours import ChinaCalendar
from geo.store.frames import STATIONS_QUERY

router = APIRouter(tags=["coverage"])
_CALENDAR = ChinaCalendar()

_SQL = """
SELECT b.code, b.name, b.level, b.parent_code, b.vintage, b.valid_to IS NULL AS current,
       b.population IS NOT NULL AS has_population
  FROM boundaries AS b
 WHERE b.level IN ('district', 'subdistrict')
   AND (b.valid_to IS NULL OR $1::boolean)
 ORDER BY b.level, b.code, b.vintage
"""


@router.get("/plan/areas", summary="Districts and subdistricts to analyse, with their vintages",
            responses={200: answer(PlanAreas)})  # fmt: skip
async def plan_areas(
    conn: ConnectionDep,
    superseded: Annotated[bool, Query(description="also editions no longer current")] = False,
) -> Response:
    rows = await conn.fetch(_SQL, superseded)
    districts = {r["code"]: r["name"] for r in rows if r["level"] == "district" and r["current"]}
    areas = [dict(r) | {"district": districts.get(r["parent_code"] or "")} for r in rows]
    vintages: dict[str, int] = {}
    for area in areas:
        if area["level"] == "subdistrict":
            vintages[area["vintage"]] = vintages.get(area["vintage"], 0) + 1
    calendar = _CALENDAR
    return json_answer({
        "areas": areas,
        "vintages": [{"vintage": v, "subdistricts": n} for v, n in sorted(vintages.items())],
        "calendar": {"known_from": calendar.known_from.isoformat(),
                     "known_until": calendar.known_until.isoformat(),
                     "holiday": _a_holiday(calendar, date.today()).isoformat()},
    })  # fmt: skip


def _a_holiday(calendar: ChinaCalendar, today: date) -> date:
    """The next public holiday the calendar knows, else the last one: the page's preset."""
    day = max(today, calendar.known_from)
    while day <= calendar.known_until:
        if calendar.day_type(day) == "holiday":
            return day
        day += timedelta(days=1)
    day = calendar.known_until
    while calendar.day_type(day) != "holiday" and day > calendar.known_from:
        day -= timedelta(days=1)
    return day


@router.get(
    "/plan/stations",
    summary="Stations as the coverage analysis reads them (GeoJSON)",
    response_class=GeoJSONResponse,
    responses={200: answer(PlanStations)},
)
async def plan_stations(conn: ConnectionDep, coords: CoordsQuery = CoordSystem.WGS84) -> Response:
    rows = await fetch(conn, STATIONS_QUERY)
    features = [{"type": "Feature", "id": f"{r['source']}:{r['external_id']}",
                 "geometry": {"type": "Point", "coordinates": [round(r["lon"], 7),
                                                               round(r["lat"], 7)]},
                 "properties": {"id": r["external_id"], "source": r["source"], "kind": r["kind"],
                                "name": r["name"], "status": r["status"],
                                "opening_hours": r["opening_hours"]}}
                for r in rows]  # fmt: skip
    document = shift_geojson({"type": "FeatureCollection", "features": features}, coords)
    body = json.dumps(document, ensure_ascii=False)
    return Response(body.encode(), media_type="application/geo+json")
