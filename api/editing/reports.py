"""Worker reports and their moderation.

``POST /stations/{id}/reports`` is public: a worker says a place was closed, found locked or
shut within its hours, full, had no hot water or no toilet, keeps shorter hours than it says,
turned them away, is in the wrong place, or confirms it is open (the complaints workers make
most about such networks: locked doors, no toilet, short hours). Guards: a per-client rate
limit (5 per 10 minutes, one per place and kind per hour) kept in the database so every worker
process enforces the same budget; notes short and without links; a honeypot field bots fill in.
The client is stored only as an HMAC of its address and the day, never the address itself.

Editors see and moderate the reports of their district; accepting an "open" confirmation sets
the station's ``last_verified_at`` (through the audited write path). Each report carries a
promise: an answer within ``report_response_hours`` (48 h by default). The queue shows each
report's deadline and whether it is overdue; :mod:`api.editing.service` publishes, per
district, the share answered in time.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.coords import CoordsQuery, shift_point
from api.deps import ConnectionDep
from api.editing.auth import PrincipalDep, client_hash
from api.editing.routes import check_district, station_image, write_station
from api.editing.schemas import Moderation, QueuedReport, ReportKind, ReportReceipt, ReportStatus
from api.runtime.services import services_of
from api.schemas import answer, json_answer
from geo.crs import CoordSystem
from geo.errors import ConflictError, InvalidInputError, LimitExceededError, NotFoundError
from geo.store.tokens import Role

router = APIRouter(tags=["reports"])
PER_CLIENT = 5
WINDOW_MIN = 10
SAME_PLACE_KIND_MIN = 60
LINK = re.compile(r"(https?://|www\.|\.com\b|\.cn\b)", re.IGNORECASE)


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReportKind
    note: str | None = Field(None, max_length=500, examples=["门锁着，电话没人接"])
    website: str | None = Field(None, description="leave empty (a trap for bots)")


# This client's reports in the window and of this place and kind, and in how many seconds the
# oldest of each leaves its window (the 429's Retry-After).
_BUDGET = """
SELECT count(*) FILTER (WHERE created_at > now() - make_interval(mins => $2)),
       count(*) FILTER (WHERE station_id = $3 AND kind = $4
                          AND created_at > now() - make_interval(mins => $5)),
       coalesce(extract(epoch FROM min(created_at) FILTER (
                  WHERE created_at > now() - make_interval(mins => $2))
                + make_interval(mins => $2) - now()), 0)::float8,
       coalesce(extract(epoch FROM max(created_at) FILTER (
                  WHERE station_id = $3 AND kind = $4)
                + make_interval(mins => $5) - now()), 0)::float8
  FROM reports WHERE client_hash = $1
"""


@router.post(
    "/stations/{station_id}/reports",
    status_code=202,
    summary="Report a problem with a place, or confirm it is open (public)",
    responses={202: answer(ReportReceipt)},
)
async def create_report(
    request: Request,
    conn: ConnectionDep,
    station_id: Annotated[int, Path(ge=1, le=2**62)],
    body: Annotated[ReportIn, Body()],
) -> JSONResponse:
    if body.website:
        raise InvalidInputError("this report looks automated", field="website")
    note = (body.note or "").strip() or None
    if note and LINK.search(note):
        raise InvalidInputError("notes may not contain links", field="note")
    live = await conn.fetchval("SELECT deleted_at IS NULL FROM stations WHERE id = $1", station_id)
    if not live:
        raise NotFoundError(f"no station {station_id}")
    client = client_hash(request)
    recent, same, window_frees, same_frees = await conn.fetchrow(
        _BUDGET,
        client,
        WINDOW_MIN,
        station_id,
        body.kind,
        SAME_PLACE_KIND_MIN,
    )
    if same:
        raise LimitExceededError(
            f"you reported this already; one report per place and kind "
            f"per {SAME_PLACE_KIND_MIN} minutes",
            retry_after_s=math.ceil(same_frees),
        )
    if recent >= PER_CLIENT:
        raise LimitExceededError(
            f"at most {PER_CLIENT} reports per {WINDOW_MIN} minutes; thank you, please try later",
            retry_after_s=math.ceil(window_frees),
        )
    report_id = await conn.fetchval(
        "INSERT INTO reports (station_id, kind, note, client_hash) VALUES ($1, $2, $3, $4) "
        "RETURNING id",
        station_id,
        body.kind,
        note,
        client,
    )
    return JSONResponse({"id": report_id, "status": "pending"}, status_code=202)


_LIST = """
SELECT r.id, r.station_id, s.name AS station_name, r.kind, r.note, r.created_at, r.status,
       ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
       r.moderated_by, r.moderated_at
  FROM reports AS r JOIN stations AS s ON s.id = r.station_id
 WHERE r.status = $1
   AND ($2::text IS NULL OR EXISTS (
        SELECT 1 FROM boundaries AS b
         WHERE b.code = $2 AND b.valid_to IS NULL AND ST_Covers(b.geom, s.geom)))
 ORDER BY r.created_at DESC
 LIMIT $3
"""


@router.get("/reports", summary="The moderation queue (editors: their district; admins: all)",
            responses={200: answer(QueuedReport, list_of=True)})  # fmt: skip
async def list_reports(
    request: Request,
    conn: ConnectionDep,
    who: PrincipalDep,
    status: ReportStatus = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    """Newest first, each with its deadline: ``overdue`` when it is still pending after it,
    or was answered after it."""
    district = None if who.role is Role.ADMIN else who.district_code
    rows = await conn.fetch(_LIST, status, district, limit)
    promise = timedelta(hours=services_of(request.app).settings.api.report_response_hours)
    now = datetime.now(UTC)
    out = []
    for r in rows:
        due = r["created_at"] + promise
        answered = r["moderated_at"]
        lon, lat = shift_point(r["lon"], r["lat"], coords)
        out.append({
            **dict(r), "lon": lon, "lat": lat,
            "created_at": r["created_at"].isoformat(),
            "moderated_at": answered.isoformat() if answered else None,
            "due_at": due.isoformat(),
            "age_hours": round(((answered or now) - r["created_at"]).total_seconds() / 3600, 1),
            "overdue": (answered or now) > due,
        })  # fmt: skip
    return json_answer(out)


@router.post("/reports/{report_id}/{decision}", summary="Accept or reject a report (editors)",
             responses={200: answer(Moderation)})  # fmt: skip
async def moderate(
    conn: ConnectionDep,
    who: PrincipalDep,
    report_id: Annotated[int, Path(ge=1, le=2**62)],
    decision: Literal["accept", "reject"],
) -> Response:
    report = await conn.fetchrow(
        "SELECT station_id, kind, status, created_at FROM reports WHERE id = $1", report_id
    )
    if report is None:
        raise NotFoundError(f"no report {report_id}")
    if report["status"] != "pending":
        raise ConflictError(f"report {report_id} was already {report['status']}")
    station = await station_image(conn, report["station_id"])
    await check_district(conn, who, station["lon"], station["lat"])
    status = "accepted" if decision == "accept" else "rejected"
    async with conn.transaction():
        await conn.execute(
            "UPDATE reports SET status = $2, moderated_by = $3, moderated_at = now() WHERE id = $1",
            report_id,
            status,
            who.name,
        )
        if status == "accepted" and report["kind"] == "confirmed_open":
            verified = report["created_at"].isoformat()
            station = await write_station(
                conn, who, report["station_id"], "update", {"last_verified_at": verified}
            )
    return json_answer({
        "id": report_id,
        "status": status,
        "station_last_verified_at": station.get("last_verified_at"),
    })  # fmt: skip
