"""The console's read routes: the editor's places and filters, a place's history, the hours
check with its calendar preview, and the admins' editors list."""

from __future__ import annotations

import pytest

from tests.api.editing.test_routes import _station_id, _token

pytestmark = pytest.mark.anyio
OTHER_DISTRICT = "110105000000"


async def test_an_editor_lists_only_their_districts_places(client, api_conn):
    mine = await _token(api_conn, "ft")
    other = await _token(api_conn, "cy", district=OTHER_DISTRICT)
    names = {
        p["name"] for p in (await client.get("/console/places", headers=mine)).json()["places"]
    }
    assert len(names) >= 3
    theirs = (await client.get("/console/places", headers=other)).json()["places"]
    assert theirs == []
    assert (await client.get("/console/places")).status_code == 401


async def test_filters_narrow_the_list(client, api_conn):
    headers = await _token(api_conn, "ft")
    s1 = await _station_id(api_conn, "s1")
    await api_conn.execute("UPDATE stations SET last_verified_at = now() WHERE id = $1", s1)
    await api_conn.execute(
        "INSERT INTO reports (station_id, kind, client_hash) VALUES ($1, 'locked', 'x')", s1
    )
    every = (await client.get("/console/places", headers=headers)).json()["places"]
    stale = (await client.get("/console/places?stale=true", headers=headers)).json()["places"]
    waiting = (await client.get("/console/places?reports=true", headers=headers)).json()
    planned = (await client.get("/console/places?status=planned", headers=headers)).json()
    assert s1 in {p["id"] for p in every} and s1 not in {p["id"] for p in stale}
    assert [p["id"] for p in waiting["places"]] == [s1]
    assert waiting["places"][0]["reports_waiting"] == 1
    assert {p["status"] for p in planned["places"]} == {"planned"}
    assert "contact_name" in every[0]  # editors see private fields
    assert any(a["code"] == "110106017000" for a in waiting["areas"])


async def test_gcj02_output_shifts_positions(client, api_conn):
    headers = await _token(api_conn, "ft")
    wgs = (await client.get("/console/places", headers=headers)).json()["places"][0]
    gcj = (await client.get("/console/places?coords=gcj02", headers=headers)).json()["places"][0]
    assert gcj["lon"] != pytest.approx(wgs["lon"], abs=1e-4)


async def test_history_lists_the_changed_fields(client, api_conn):
    headers = await _token(api_conn, "ft")
    s1 = await _station_id(api_conn, "s1")
    response = await client.patch(f"/stations/{s1}", headers=headers,
                                  json={"opening_hours": "Mo-Su 06:00-22:00"})  # fmt: skip
    assert response.status_code == 200, response.text
    history = (await client.get(f"/console/places/{s1}/history", headers=headers)).json()
    assert history[0]["actor"] == "ft" and history[0]["action"] == "update"
    assert {c["field"] for c in history[0]["changes"]} == {"opening_hours"}
    assert history[0]["changes"][0]["after"] == "Mo-Su 06:00-22:00"
    outsider = await _token(api_conn, "cy", district=OTHER_DISTRICT)
    assert (await client.get(f"/console/places/{s1}/history", headers=outsider)).status_code == 403


async def test_hours_check_previews_the_golden_week(client):
    body = {"opening_hours": "Mo-Fr 08:00-18:00; PH off", "start": "2026-09-30", "days": 3}
    answer = (await client.post("/console/hours", json=body)).json()
    assert answer["valid"] is True
    first, holiday = answer["days"][0], answer["days"][1]
    assert first["open"] == [["08:00", "18:00"]] and first["day_type"] == "workday"
    assert holiday["day_type"] == "holiday" and holiday["holiday"] == "国庆节"
    assert holiday["open"] == []
    bad = (await client.post("/console/hours", json={"opening_hours": "Mo-Fr 8-"})).json()
    assert bad["valid"] is False and "not valid" in bad["error"]


async def test_admins_add_list_and_revoke_editors(client, api_conn):
    admin = await _token(api_conn, "root", role="admin", district=None)
    editor = await _token(api_conn, "ft")
    assert (await client.get("/console/editors", headers=editor)).status_code == 403
    xicheng = {"name": "xc-union", "district_code": "110102000000"}
    made = await client.post("/console/editors", headers=admin, json=xicheng)
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    new = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/console/places", headers=new)).status_code == 200
    listed = {e["name"]: e for e in (await client.get("/console/editors", headers=admin)).json()}
    assert listed["xc-union"]["last_used_at"] is not None
    assert "secret_hash" not in listed["xc-union"]
    again = await client.post("/console/editors", headers=admin, json=xicheng)
    assert again.status_code == 400
    no_district = await client.post("/console/editors", headers=admin, json={"name": "n"})
    assert no_district.status_code == 400
    gone = await client.delete(f"/console/editors/{made.json()['id']}", headers=admin)
    assert gone.status_code == 200
    assert (await client.get("/console/places", headers=new)).status_code == 401
