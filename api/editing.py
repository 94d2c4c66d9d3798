"""Editors' write API for stations: create, update, close, delete (soft); audit and revert.

Every write needs a token (``api/auth.py``). A district editor may write only where their
district's current boundary covers the station, before and after the change. Every write goes
to ``audit_log`` with the row before and after, in the same transaction as the write, and sets
``nuanxin.actor`` so the row-history trigger records who did it too. An admin can list the log
and revert an entry.

Values are validated by the same :class:`geo.records.StationRecord` as imports.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import AdminDep, PrincipalDep
from api.coords import to_wgs84
from api.deps import ConnectionDep
from geo.crs import CoordSystem
from geo.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from geo.hours import SHANGHAI
from geo.importers.upsert import FINEST_BOUNDARY_SQL
from geo.records import StationRecord
from geo.tokens import Principal, Role

router = APIRouter(tags=["editing"])

PUBLIC_COLUMNS = (
    "kind",
    "name",
    "address",
    "phone",
    "host_type",
    "host_name",
    "status",
    "opened_on",
    "closed_on",
    "amenities",
    "services",
    "opening_hours",
    "floor_area_m2",
    "seats",
    "last_verified_at",
)
PRIVATE_COLUMNS = ("contact_name", "contact_phone", "internal_notes")
EDITABLE = PUBLIC_COLUMNS + PRIVATE_COLUMNS
StationId = Annotated[int, Path(ge=1, le=2**62, description="the station's id")]

_IMAGE = """
SELECT (to_jsonb(s) - 'geom') || jsonb_build_object('lon', ST_X(s.geom), 'lat', ST_Y(s.geom))
  FROM stations AS s WHERE s.id = $1
"""
# The importers' rule, so a station written here lands in the same boundary as if imported.
_FINEST_BOUNDARY = f"({FINEST_BOUNDARY_SQL.format(point='ST_SetSRID(ST_MakePoint($1, $2), 4326)')})"
_SETS = ", ".join(f"{c} = r.{c}" for c in EDITABLE)
_UPDATE = f"""
UPDATE stations AS s
   SET {_SETS}, deleted_at = r.deleted_at,
       geom = ST_SetSRID(ST_MakePoint($1, $2), 4326), boundary_id = {_FINEST_BOUNDARY}
  FROM jsonb_populate_record(NULL::stations, $4::jsonb) AS r
 WHERE s.id = $3
"""  # noqa: S608 - composed from module constants; values are bound
_INSERT = f"""
INSERT INTO stations (source, external_id, {", ".join(EDITABLE)}, geom, boundary_id)
SELECT 'api', $3, {", ".join(f"r.{c}" for c in EDITABLE)},
       ST_SetSRID(ST_MakePoint($1, $2), 4326), {_FINEST_BOUNDARY}
  FROM jsonb_populate_record(NULL::stations, $4::jsonb) AS r
RETURNING id
"""  # noqa: S608 - composed from module constants; values are bound
_AUDIT = """
INSERT INTO audit_log (actor, action, table_name, row_id, before, after)
VALUES ($1, $2, 'stations', $3, $4::jsonb, $5::jsonb) RETURNING id
"""


class StationWrite(BaseModel):
    """A station as an editor sends it. On update every member is optional (a patch)."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(None, examples=["rest_point"])
    name: str | None = Field(None, examples=["卢沟桥南暖心驿站"])
    lon: float | None = Field(None, ge=-180, le=180, examples=[116.2135])
    lat: float | None = Field(None, ge=-90, le=90, examples=[39.8496])
    coords: CoordSystem = Field(CoordSystem.WGS84, description="system of lon/lat given")
    address: str | None = None
    phone: str | None = None
    host_type: str | None = None
    host_name: str | None = None
    status: str | None = None
    opened_on: str | None = None
    closed_on: str | None = None
    amenities: list[str] | None = None
    services: list[str] | None = None
    opening_hours: str | None = Field(None, examples=["Mo-Su 07:00-19:00"])
    floor_area_m2: float | None = None
    seats: int | None = None
    last_verified_at: str | None = None
    contact_name: str | None = Field(None, max_length=200, description="private")
    contact_phone: str | None = Field(None, max_length=50, description="private")
    internal_notes: str | None = Field(None, max_length=4000, description="private")


def _validated(image: dict[str, Any]) -> dict[str, Any]:
    """The merged row, checked by the importers' record; returns values ready for SQL."""
    public = {k: image.get(k) for k in PUBLIC_COLUMNS if image.get(k) is not None}
    try:
        record = StationRecord(
            source="api",
            external_id=str(image.get("external_id") or "new"),
            lon=image["lon"],
            lat=image["lat"],
            **public,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "station"
        raise InvalidInputError(f"{where}: {first['msg']}", field=where) from exc
    row = record.model_dump(mode="json", include=set(PUBLIC_COLUMNS))
    row |= {k: image.get(k) for k in PRIVATE_COLUMNS}
    row["deleted_at"] = image.get("deleted_at")
    return {"lon": record.lon, "lat": record.lat, "row": row}


async def station_image(conn: ConnectionDep, station_id: int) -> dict[str, Any]:
    text = await conn.fetchval(_IMAGE, station_id)
    if text is None:
        raise NotFoundError(f"no station {station_id}")
    image: dict[str, Any] = json.loads(text)
    return image


async def check_district(conn: ConnectionDep, who: Principal, lon: float, lat: float) -> None:
    if who.role is Role.ADMIN:
        return
    covered = await conn.fetchval(
        "SELECT ST_Covers(geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) FROM boundaries "
        "WHERE code = $1 AND valid_to IS NULL LIMIT 1",
        who.district_code,
        lon,
        lat,
    )
    if covered is None:
        raise ForbiddenError(f"your district {who.district_code} has no current boundary loaded")
    if not covered:
        raise ForbiddenError(f"this station lies outside your district {who.district_code}")


async def _audit(
    conn: ConnectionDep,
    who: Principal,
    action: str,
    row_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> int:
    await conn.execute("SELECT set_config('nuanxin.actor', $1, true)", f"api:{who.name}")
    entry: int = await conn.fetchval(
        _AUDIT,
        who.name,
        action,
        row_id,
        json.dumps(before) if before else None,
        json.dumps(after) if after else None,
    )
    return entry


@router.post("/stations", status_code=201, summary="Create a station (editors)")
async def create_station(
    conn: ConnectionDep, who: PrincipalDep, body: Annotated[StationWrite, Body()]
) -> JSONResponse:
    given = body.model_dump(exclude_unset=True, exclude={"coords"})
    if given.get("lon") is None or given.get("lat") is None:
        raise InvalidInputError("lon and lat are required", field="lon")
    lon, lat = to_wgs84(given["lon"], given["lat"], body.coords)
    checked = _validated({**given, "lon": lon, "lat": lat})
    await check_district(conn, who, checked["lon"], checked["lat"])
    async with conn.transaction():
        new_id = await conn.fetchval(
            _INSERT,
            checked["lon"],
            checked["lat"],
            f"api-{uuid.uuid4().hex[:12]}",
            json.dumps(checked["row"]),
        )
        after = await station_image(conn, new_id)
        await _audit(conn, who, "create", new_id, None, after)
    return JSONResponse(
        after, status_code=201, headers={"Location": f"/ogc/collections/stations/items/{new_id}"}
    )


@router.patch("/stations/{station_id}", summary="Change a station (editors)")
async def update_station(
    conn: ConnectionDep,
    who: PrincipalDep,
    station_id: StationId,
    body: Annotated[StationWrite, Body()],
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude={"coords"})
    if not changes:
        raise InvalidInputError("nothing to change", field="body")
    return await write_station(conn, who, station_id, "update", changes, body.coords)


@router.post("/stations/{station_id}/close", summary="Close a station (editors)")
async def close_station(
    conn: ConnectionDep, who: PrincipalDep, station_id: StationId
) -> dict[str, Any]:
    today = datetime.now(SHANGHAI).date().isoformat()
    return await write_station(
        conn, who, station_id, "close", {"status": "closed", "closed_on": today}
    )


@router.delete("/stations/{station_id}", summary="Delete a station (soft; admins can revert)")
async def delete_station(conn: ConnectionDep, who: PrincipalDep, station_id: StationId) -> Response:
    await write_station(
        conn, who, station_id, "delete", {"deleted_at": datetime.now(SHANGHAI).isoformat()}
    )
    return Response(status_code=204)


async def write_station(
    conn: ConnectionDep,
    who: Principal,
    station_id: int,
    action: str,
    changes: dict[str, Any],
    coords: CoordSystem = CoordSystem.WGS84,
) -> dict[str, Any]:
    async with conn.transaction():
        before = await station_image(conn, station_id)
        if before.get("deleted_at") and action != "revert":
            raise NotFoundError(f"no station {station_id}")
        await check_district(conn, who, before["lon"], before["lat"])
        merged = {**before, **changes}
        if "lon" in changes or "lat" in changes:
            merged["lon"], merged["lat"] = to_wgs84(merged["lon"], merged["lat"], coords)
        checked = _validated(merged)
        await check_district(conn, who, checked["lon"], checked["lat"])
        await conn.execute(
            _UPDATE, checked["lon"], checked["lat"], station_id, json.dumps(checked["row"])
        )
        after = await station_image(conn, station_id)
        await _audit(conn, who, action, station_id, before, after)
    return after


@router.get("/audit", summary="The audit log (admins)")
async def audit_log(
    conn: ConnectionDep,
    who: AdminDep,
    row_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT id, at, actor, action, table_name, row_id, before::text, after::text, "
        "reverted_by FROM audit_log WHERE ($1::bigint IS NULL OR row_id = $1) "
        "ORDER BY id DESC LIMIT $2",
        row_id,
        limit,
    )
    return [
        {
            "id": r["id"],
            "at": r["at"].isoformat(),
            "actor": r["actor"],
            "action": r["action"],
            "table": r["table_name"],
            "row_id": r["row_id"],
            "before": json.loads(r["before"]) if r["before"] else None,
            "after": json.loads(r["after"]) if r["after"] else None,
            "reverted_by": r["reverted_by"],
        }
        for r in rows
    ]


@router.post("/audit/{entry_id}/revert", summary="Undo one write (admins)")
async def revert(
    conn: ConnectionDep, who: AdminDep, entry_id: Annotated[int, Path(ge=1, le=2**62)]
) -> dict[str, Any]:
    entry = await conn.fetchrow(
        "SELECT action, row_id, before::text, after::text, reverted_by FROM audit_log "
        "WHERE id = $1",
        entry_id,
    )
    if entry is None:
        raise NotFoundError(f"no audit entry {entry_id}")
    if entry["reverted_by"] is not None:
        raise ConflictError(f"entry {entry_id} was already reverted by {entry['reverted_by']}")
    if entry["action"] == "revert":
        raise ConflictError("a revert cannot itself be reverted; make a new change instead")
    async with conn.transaction():
        if entry["action"] == "create":  # undo a creation: the row goes (softly)
            target: dict[str, Any] = {"deleted_at": datetime.now(SHANGHAI).isoformat()}
        else:  # put back only what this entry changed; later changes to other fields stay
            before, after = json.loads(entry["before"]), json.loads(entry["after"])
            fields = (*EDITABLE, "lon", "lat", "deleted_at")
            target = {k: before.get(k) for k in fields if before.get(k) != after.get(k)}
        result = await write_station(conn, who, entry["row_id"], "revert", target)
        revert_id = await conn.fetchval(
            "SELECT max(id) FROM audit_log WHERE row_id = $1 AND action = 'revert'", entry["row_id"]
        )
        await conn.execute(
            "UPDATE audit_log SET reverted_by = $2 WHERE id = $1", entry_id, revert_id
        )
    return result
