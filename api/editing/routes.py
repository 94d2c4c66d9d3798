"""Editors' write API for stations and enterprises: create, update, delete (soft); audit, revert.

Stations can also be closed. Every write needs a token (``api/editing/auth.py``). A district editor
may write only where their district's current boundary covers the place, before and after the
change. Every write goes to ``audit_log`` with the row before and after, in the same transaction
as the write, and sets ``nuanxin.actor`` so the row-history trigger records who did it too. An
admin can list the log and revert an entry.

Values are validated by the same records as imports (:mod:`api.editing.tables`).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.coords import to_wgs84
from api.deps import ConnectionDep
from api.editing.auth import AdminDep, PrincipalDep
from api.editing.schemas import AuditEntry, EnterpriseRow, RevertedRow, StationRow
from api.editing.tables import ENTERPRISES, STATIONS, TABLES, EditableTable
from api.schemas import answer, json_answer
from geo.crs import CoordSystem
from geo.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from geo.importers.audited import DISTRICT_SQL
from geo.standards import BEIJING
from geo.store.tokens import Principal, Role

router = APIRouter(tags=["editing"])

StationId = Annotated[int, Path(ge=1, le=2**62, description="the station's id")]
EnterpriseId = Annotated[int, Path(ge=1, le=2**62, description="the enterprise's id")]
_IN_DISTRICT = (
    "SELECT ST_Covers(d.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) "  # noqa: S608
    f"FROM ({DISTRICT_SQL.format(code='$1')}) AS d"
)
_AUDIT = """
INSERT INTO audit_log (actor, action, table_name, row_id, before, after)
VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb) RETURNING id
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
    access: list[str] | None = Field(
        None, examples=[["open_door", "ring"]], description="how a worker gets in"
    )
    access_condition: str | None = Field(
        None, examples=["仅限已登记的外卖骑手"], description="who may enter, if not everyone"
    )
    floor_area_m2: float | None = None
    seats: int | None = None
    last_verified_at: str | None = None
    contact_name: str | None = Field(None, max_length=200, description="private")
    contact_phone: str | None = Field(None, max_length=50, description="private")
    internal_notes: str | None = Field(None, max_length=4000, description="private")


class EnterpriseWrite(BaseModel):
    """An enterprise as an editor sends it. On update every member is optional (a patch)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, examples=["北京某某物流有限公司"])
    lon: float | None = Field(None, ge=-180, le=180, examples=[116.2135])
    lat: float | None = Field(None, ge=-90, le=90, examples=[39.8496])
    coords: CoordSystem = Field(CoordSystem.WGS84, description="system of lon/lat given")
    address: str | None = None
    employees: int | None = None
    outdoor_workers: int | None = None
    union_status: str | None = Field(None, examples=["unionised"])
    industry: str | None = None
    registration_code: str | None = Field(None, examples=["110106017000"])


def _validated(table: EditableTable, image: dict[str, Any]) -> dict[str, Any]:
    """The merged row, checked by the importers' record; returns values ready for SQL."""
    public = {k: image.get(k) for k in table.public if image.get(k) is not None}
    try:
        record = table.record(
            source="api",
            external_id=str(image.get("external_id") or "new"),
            lon=image["lon"],
            lat=image["lat"],
            **public,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or table.name
        raise InvalidInputError(f"{where}: {first['msg']}", field=where) from exc
    row = record.model_dump(mode="json", include=set(table.public))
    row |= {k: image.get(k) for k in table.private}
    row["deleted_at"] = image.get("deleted_at")
    return {"lon": record.lon, "lat": record.lat, "row": row}


async def row_image(
    conn: ConnectionDep, table: EditableTable, row_id: int, *, lock: bool = False
) -> dict[str, Any]:
    text = await conn.fetchval(table.locked_image_sql if lock else table.image_sql, row_id)
    if text is None:
        raise NotFoundError(f"no {table.name[:-1]} {row_id}")
    image: dict[str, Any] = json.loads(text)
    return image


async def station_image(conn: ConnectionDep, station_id: int) -> dict[str, Any]:
    return await row_image(conn, STATIONS, station_id)


async def check_district(conn: ConnectionDep, who: Principal, lon: float, lat: float) -> None:
    if who.role is Role.ADMIN:
        return
    covered = await conn.fetchval(_IN_DISTRICT, who.district_code, lon, lat)
    if covered is None:
        raise ForbiddenError(f"your district {who.district_code} has no current boundary loaded")
    if not covered:
        raise ForbiddenError(f"this place lies outside your district {who.district_code}")


async def _audit(
    conn: ConnectionDep,
    who: Principal,
    action: str,
    table: EditableTable,
    row_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> int:
    await conn.execute("SELECT set_config('nuanxin.actor', $1, true)", f"api:{who.name}")
    entry: int = await conn.fetchval(
        _AUDIT,
        who.name,
        action,
        table.name,
        row_id,
        json.dumps(before) if before else None,
        json.dumps(after) if after else None,
    )
    return entry


async def create_row(
    conn: ConnectionDep, who: Principal, table: EditableTable, body: StationWrite | EnterpriseWrite
) -> JSONResponse:
    given = body.model_dump(exclude_unset=True, exclude={"coords"})
    if given.get("lon") is None or given.get("lat") is None:
        raise InvalidInputError("lon and lat are required", field="lon")
    lon, lat = to_wgs84(given["lon"], given["lat"], body.coords)
    checked = _validated(table, {**given, "lon": lon, "lat": lat})
    await check_district(conn, who, checked["lon"], checked["lat"])
    async with conn.transaction():
        new_id = await conn.fetchval(
            table.insert_sql,
            checked["lon"],
            checked["lat"],
            f"api-{uuid.uuid4().hex[:12]}",
            json.dumps(checked["row"]),
        )
        after = await row_image(conn, table, new_id)
        await _audit(conn, who, "create", table, new_id, None, after)
    location = table.item_path.format(id=new_id)
    return JSONResponse(after, status_code=201, headers={"Location": location})


async def write_row(
    conn: ConnectionDep,
    who: Principal,
    table: EditableTable,
    row_id: int,
    action: str,
    changes: dict[str, Any],
    coords: CoordSystem = CoordSystem.WGS84,
) -> dict[str, Any]:
    """Apply ``changes`` to one row in a transaction, within the editor's district, audited."""
    async with conn.transaction():
        before = await row_image(conn, table, row_id, lock=True)
        if before.get("deleted_at") and action != "revert":
            raise NotFoundError(f"no {table.name[:-1]} {row_id}")
        await check_district(conn, who, before["lon"], before["lat"])
        merged = {**before, **changes}
        if "lon" in changes or "lat" in changes:
            merged["lon"], merged["lat"] = to_wgs84(merged["lon"], merged["lat"], coords)
        checked = _validated(table, merged)
        await check_district(conn, who, checked["lon"], checked["lat"])
        await conn.execute(
            table.update_sql, checked["lon"], checked["lat"], row_id, json.dumps(checked["row"])
        )
        after = await row_image(conn, table, row_id)
        await _audit(conn, who, action, table, row_id, before, after)
    return after


async def write_station(
    conn: ConnectionDep,
    who: Principal,
    station_id: int,
    action: str,
    changes: dict[str, Any],
    coords: CoordSystem = CoordSystem.WGS84,
) -> dict[str, Any]:
    return await write_row(conn, who, STATIONS, station_id, action, changes, coords)


def _patch(body: BaseModel) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude={"coords"})
    if not changes:
        raise InvalidInputError("nothing to change", field="body")
    return changes


def _now() -> str:
    return datetime.now(BEIJING).isoformat()


@router.post("/stations", status_code=201, summary="Create a station (editors)",
             responses={201: answer(StationRow)})  # fmt: skip
async def create_station(
    conn: ConnectionDep, who: PrincipalDep, body: Annotated[StationWrite, Body()]
) -> JSONResponse:
    return await create_row(conn, who, STATIONS, body)


@router.patch("/stations/{station_id}", summary="Change a station (editors)",
              responses={200: answer(StationRow)})  # fmt: skip
async def update_station(
    conn: ConnectionDep,
    who: PrincipalDep,
    station_id: StationId,
    body: Annotated[StationWrite, Body()],
) -> Response:
    return json_answer(
        await write_station(conn, who, station_id, "update", _patch(body), body.coords)
    )


@router.post("/stations/{station_id}/close", summary="Close a station (editors)",
             responses={200: answer(StationRow)})  # fmt: skip
async def close_station(conn: ConnectionDep, who: PrincipalDep, station_id: StationId) -> Response:
    today = datetime.now(BEIJING).date().isoformat()
    closed = {"status": "closed", "closed_on": today}
    return json_answer(await write_station(conn, who, station_id, "close", closed))


@router.delete("/stations/{station_id}", status_code=204,
               summary="Delete a station (soft; admins can revert)")  # fmt: skip
async def delete_station(conn: ConnectionDep, who: PrincipalDep, station_id: StationId) -> Response:
    await write_station(conn, who, station_id, "delete", {"deleted_at": _now()})
    return Response(status_code=204)


@router.post("/enterprises", status_code=201, summary="Create an enterprise (editors)",
             responses={201: answer(EnterpriseRow)})  # fmt: skip
async def create_enterprise(
    conn: ConnectionDep, who: PrincipalDep, body: Annotated[EnterpriseWrite, Body()]
) -> JSONResponse:
    return await create_row(conn, who, ENTERPRISES, body)


@router.patch("/enterprises/{enterprise_id}", summary="Change an enterprise (editors)",
              responses={200: answer(EnterpriseRow)})  # fmt: skip
async def update_enterprise(
    conn: ConnectionDep,
    who: PrincipalDep,
    enterprise_id: EnterpriseId,
    body: Annotated[EnterpriseWrite, Body()],
) -> Response:
    return json_answer(
        await write_row(conn, who, ENTERPRISES, enterprise_id, "update", _patch(body), body.coords)
    )


@router.delete(
    "/enterprises/{enterprise_id}",
    status_code=204,
    summary="Delete an enterprise (soft; admins can revert)",
)
async def delete_enterprise(
    conn: ConnectionDep, who: PrincipalDep, enterprise_id: EnterpriseId
) -> Response:
    await write_row(conn, who, ENTERPRISES, enterprise_id, "delete", {"deleted_at": _now()})
    return Response(status_code=204)


@router.get("/audit", summary="The audit log (admins)",
            responses={200: answer(AuditEntry, list_of=True)})  # fmt: skip
async def audit_log(
    conn: ConnectionDep,
    who: AdminDep,
    row_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    table: Annotated[
        Literal["stations", "enterprises"] | None, Query(description="only this table")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    rows = await conn.fetch(
        "SELECT id, at, actor, action, table_name, row_id, before::text, after::text, "
        "reverted_by FROM audit_log WHERE ($1::bigint IS NULL OR row_id = $1) "
        "AND ($2::text IS NULL OR table_name = $2) ORDER BY id DESC LIMIT $3",
        row_id,
        table,
        limit,
    )
    return json_answer([
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
    ])  # fmt: skip


@router.post("/audit/{entry_id}/revert", summary="Undo one write (admins)",
             responses={200: answer(RevertedRow)})  # fmt: skip
async def revert(
    conn: ConnectionDep, who: AdminDep, entry_id: Annotated[int, Path(ge=1, le=2**62)]
) -> Response:
    async with conn.transaction():
        entry = await conn.fetchrow(  # locked: two admins cannot revert one entry twice
            "SELECT action, table_name, row_id, before::text, after::text, reverted_by "
            "FROM audit_log WHERE id = $1 FOR UPDATE",
            entry_id,
        )
        if entry is None:
            raise NotFoundError(f"no audit entry {entry_id}")
        if entry["reverted_by"] is not None:
            raise ConflictError(f"entry {entry_id} was already reverted by {entry['reverted_by']}")
        if entry["action"] == "revert":
            raise ConflictError("a revert cannot itself be reverted; make a new change instead")
        table = TABLES[entry["table_name"]]
        if entry["before"] is None:  # undo a creation (edit or upload): the row goes (softly)
            target: dict[str, Any] = {"deleted_at": _now()}
        else:  # put back only what this entry changed; later changes to other fields stay
            before, after = json.loads(entry["before"]), json.loads(entry["after"])
            fields = (*table.editable, "lon", "lat", "deleted_at")
            target = {k: before.get(k) for k in fields if before.get(k) != after.get(k)}
        result = await write_row(conn, who, table, entry["row_id"], "revert", target)
        revert_id = await conn.fetchval(
            "SELECT max(id) FROM audit_log WHERE table_name = $1 AND row_id = $2 "
            "AND action = 'revert'",
            table.name,
            entry["row_id"],
        )
        await conn.execute(
            "UPDATE audit_log SET reverted_by = $2 WHERE id = $1", entry_id, revert_id
        )
    return json_answer(result)
