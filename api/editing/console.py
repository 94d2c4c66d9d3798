"""What the staff console (``/console``) reads besides the write API: the editor's places with
the console's filters, one place's history, a live check and 7-day preview of opening hours, and
the admins' list of editors (add, revoke, last use).

Every route answers for the caller's district only (admins: all), so the page never lists a place
the write API would refuse to change. Writes stay on the audited routes (``PATCH /stations/{id}``,
``/imports``, ``/reports``, ``/audit/{id}/revert``); this module adds none but the editors' tokens.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.coords import CoordsQuery, shift_point
from api.deps import ConnectionDep, SettingsDep
from api.editing.auth import AdminDep, PrincipalDep
from api.editing.console_schemas import (
    ConsolePlaces,
    EditorToken,
    HistoryEntry,
    HoursPreview,
    NewEditor,
    RevokedEditor,
)
from api.editing.routes import check_district, station_image
from api.locator.route import CALENDAR
from api.schemas import answer, json_answer
from geo.crs import CoordSystem
from geo.errors import InvalidInputError, NotFoundError
from geo.hours import MAX_LENGTH, week_schedule
from geo.standards import BEIJING
from geo.store.tokens import Role, check_role, name_taken, new_secret, secret_hash, token_text
from geo.vocab import StationKind, StationStatus

router = APIRouter(tags=["console"])
STALE_DAYS = 180  # the "not verified for 180 days"
MAX_PLACES = 2000

_PLACES = """
SELECT s.id, s.kind, s.name, s.address, s.phone, s.host_type, s.host_name, s.status,
       s.opened_on, s.closed_on, s.amenities, s.services, s.opening_hours, s.access,
       s.access_condition, s.floor_area_m2,
       s.seats, s.last_verified_at, s.contact_name, s.contact_phone, s.internal_notes,
       ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, b.code AS boundary_code,
       b.name AS boundary_name, coalesce(p.waiting, 0) AS reports_waiting,
       (s.last_verified_at IS NULL
        OR s.last_verified_at <= now() - make_interval(days => $9)) AS stale
  FROM stations AS s
  LEFT JOIN boundaries AS b ON b.id = s.boundary_id
  LEFT JOIN (SELECT station_id, count(*) AS waiting FROM reports WHERE status = 'pending'
              GROUP BY station_id) AS p ON p.station_id = s.id
 WHERE s.deleted_at IS NULL
   AND ($1::text IS NULL OR EXISTS (
        SELECT 1 FROM boundaries AS d
         WHERE d.code = $1 AND d.valid_to IS NULL AND ST_Covers(d.geom, s.geom)))
   AND ($2::text[] IS NULL OR s.kind = ANY($2))
   AND ($3::text[] IS NULL OR s.status = ANY($3))
   AND ($4::text IS NULL OR EXISTS (
        SELECT 1 FROM boundaries AS a
         WHERE a.code = $4 AND a.valid_to IS NULL AND ST_Covers(a.geom, s.geom)))
   AND ($5::text IS NULL OR strpos(lower(s.name), lower($5)) > 0
        OR strpos(lower(coalesce(s.address, '')), lower($5)) > 0)
   AND (NOT $6 OR s.last_verified_at IS NULL
        OR s.last_verified_at <= now() - make_interval(days => $9))
   AND (NOT $7 OR p.waiting > 0)
 ORDER BY p.waiting DESC NULLS LAST, s.name, s.id
 LIMIT $8
"""

_AREAS = """
SELECT DISTINCT ON (b.code) b.code, b.name
  FROM boundaries AS b
 WHERE b.level = 'subdistrict' AND b.valid_to IS NULL
   AND ($1::text IS NULL OR left(b.code, 6) = left($1, 6))
 ORDER BY b.code, b.vintage DESC
"""

_HISTORY = """
SELECT id, at, actor, action, before::text, after::text, reverted_by
  FROM audit_log WHERE table_name = 'stations' AND row_id = $1 ORDER BY id DESC LIMIT $2
"""

_EDITORS = """
SELECT id, name, role, district_code, created_at, last_used_at, revoked_at
  FROM api_tokens ORDER BY revoked_at IS NOT NULL, name
"""


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _place(row: Any, coords: CoordSystem) -> dict[str, Any]:
    place = dict(row)
    place["lon"], place["lat"] = shift_point(row["lon"], row["lat"], coords)
    for key in ("opened_on", "closed_on", "last_verified_at"):
        place[key] = _iso(row[key])
    return place


@router.get("/console/places", summary="The editor's places, with the console's filters",
            responses={200: answer(ConsolePlaces)})  # fmt: skip
async def console_places(
    conn: ConnectionDep,
    who: PrincipalDep,
    q: Annotated[str | None, Query(max_length=50, description="in the name or address")] = None,
    kind: Annotated[list[StationKind] | None, Query()] = None,
    status: Annotated[list[StationStatus] | None, Query()] = None,
    boundary: Annotated[
        str | None, Query(pattern=r"^[0-9]{12}$", description="only within this area")
    ] = None,
    stale: Annotated[bool, Query(description=f"not verified for {STALE_DAYS} days")] = False,
    reports: Annotated[bool, Query(description="with reports waiting")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PLACES)] = 500,
    coords: CoordsQuery = CoordSystem.WGS84,
) -> Response:
    """Places with reports waiting first; every field, private ones included (editors only)."""
    if q is not None and "\x00" in q:
        raise InvalidInputError("q may not contain NUL", field="q")
    district = None if who.role is Role.ADMIN else who.district_code
    rows = await conn.fetch(
        _PLACES, district, [k.value for k in kind] if kind else None,
        [s.value for s in status] if status else None, boundary, (q or "").strip() or None,
        stale, reports, limit, STALE_DAYS,
    )  # fmt: skip
    areas = await conn.fetch(_AREAS, district)
    return json_answer({"places": [_place(r, coords) for r in rows], "stale_days": STALE_DAYS,
                        "areas": [dict(a) for a in areas], "coords": coords.value})  # fmt: skip


@router.get("/console/places/{station_id}/history", summary="One place's audit history",
            responses={200: answer(HistoryEntry, list_of=True)})  # fmt: skip
async def place_history(
    conn: ConnectionDep,
    who: PrincipalDep,
    station_id: Annotated[int, Path(ge=1, le=2**62)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Who changed what and when, newest first: before and after of each field that changed."""
    image = await station_image(conn, station_id)
    await check_district(conn, who, image["lon"], image["lat"])
    out = []
    for r in await conn.fetch(_HISTORY, station_id, limit):
        before = json.loads(r["before"]) if r["before"] else {}
        after = json.loads(r["after"]) if r["after"] else {}
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        out.append({
            "id": r["id"], "at": r["at"].isoformat(), "actor": r["actor"], "action": r["action"],
            "reverted_by": r["reverted_by"],
            "changes": [{"field": k, "before": before.get(k), "after": after.get(k)}
                        for k in changed if k not in ("updated_at", "boundary_id")],
        })  # fmt: skip
    return json_answer(out)


class HoursCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opening_hours: str = Field(max_length=MAX_LENGTH, examples=["Mo-Fr 08:00-18:00; PH off"])
    start: date | None = Field(None, description="first day shown; today in Beijing by default")
    days: int = Field(7, ge=1, le=31)


@router.post("/console/hours", summary="Check opening hours and preview days under the calendar",
             responses={200: answer(HoursPreview)})  # fmt: skip
async def check_hours(body: Annotated[HoursCheck, Body()]) -> Response:
    """``valid`` with each day's type (holiday, 调休 make-up workday) and open stretches, or
    ``valid: false`` with the reason: the console checks as the editor types."""
    start = body.start or datetime.now(BEIJING).date()
    try:
        days = week_schedule(body.opening_hours, start, CALENDAR, body.days)
    except ValueError as exc:
        return json_answer({"valid": False, "error": str(exc), "days": []})
    return json_answer({"valid": True, "error": None, "days": [
        {"date": d.day.isoformat(), "weekday": d.day.isoweekday(), "day_type": d.day_type,
         "holiday": d.holiday, "calendar_known": d.calendar_known,
         "open": [list(pair) for pair in d.open]} for d in days]})  # fmt: skip


class EditorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$",
                      examples=["fengtai-union"])  # fmt: skip
    role: Role = Role.DISTRICT_EDITOR
    district_code: str | None = Field(None, pattern=r"^[0-9]{12}$", examples=["110106000000"])


@router.get("/console/editors", summary="Editors' tokens: who, which district, last used (admins)",
            responses={200: answer(EditorToken, list_of=True)})  # fmt: skip
async def list_editors(conn: ConnectionDep, who: AdminDep) -> Response:
    dates = ("created_at", "last_used_at", "revoked_at")
    rows = await conn.fetch(_EDITORS)
    return json_answer([{**dict(r), **{k: _iso(r[k]) for k in dates}} for r in rows])


@router.post("/console/editors", status_code=201, summary="Add an editor (admins)",
             responses={201: answer(NewEditor)})  # fmt: skip
async def add_editor(
    conn: ConnectionDep, settings: SettingsDep, who: AdminDep, body: Annotated[EditorIn, Body()]
) -> Response:
    """The token is in this answer only; the database keeps its keyed hash."""
    check_role(body.role, body.district_code)
    if await conn.fetchval("SELECT 1 FROM api_tokens WHERE name = $1", body.name):
        raise name_taken(body.name)
    secret = new_secret()
    token_id = await conn.fetchval(
        "INSERT INTO api_tokens (name, role, district_code, secret_hash) "
        "VALUES ($1, $2, $3, $4) RETURNING id",
        body.name, body.role.value, body.district_code,
        secret_hash(secret, settings.token_secret.get_secret_value()),
    )  # fmt: skip
    return json_answer({"id": token_id, "name": body.name, "role": body.role.value,
                        "district_code": body.district_code,
                        "token": token_text(token_id, secret)}, status_code=201)  # fmt: skip


@router.delete("/console/editors/{token_id}", summary="Revoke an editor's token (admins)",
               responses={200: answer(RevokedEditor)})  # fmt: skip
async def revoke_editor(
    conn: ConnectionDep, who: AdminDep, token_id: Annotated[int, Path(ge=1, le=2**62)]
) -> Response:
    """Their open console sessions end with it (a session is only as good as its token)."""
    if token_id == who.token_id:
        raise InvalidInputError("you cannot revoke your own token here", field="token_id")
    row = await conn.fetchrow(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL "
        "RETURNING id, name, revoked_at",
        token_id,
    )
    if row is None:
        raise NotFoundError(f"no active token {token_id}")
    return json_answer({"id": row["id"], "name": row["name"],
                        "revoked_at": row["revoked_at"].isoformat()})  # fmt: skip
