"""Editors' writes: tokens, district limits, audit and revert, soft deletes, private fields."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from geo.config import DEV_TOKEN_SECRET, Settings
from geo.store.tokens import secret_hash

pytestmark = pytest.mark.anyio
SECRET_MARK = "SECRET-CONTACT-13800000000"


async def _token(conn, name: str, role: str = "district_editor",
                 district: str | None = "110106000000", revoked: bool = False) -> dict:  # fmt: skip
    secret = f"{name}-secret-0123456789abcdef"
    token_id = await conn.fetchval(
        "INSERT INTO api_tokens (name, role, district_code, secret_hash, revoked_at) "
        "VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END) RETURNING id",
        name, role, district, secret_hash(secret, DEV_TOKEN_SECRET), revoked,
    )  # fmt: skip
    return {"Authorization": f"Bearer nx_{token_id}_{secret}"}


async def _station_id(conn, external_id: str) -> int:
    return await conn.fetchval("SELECT id FROM stations WHERE external_id = $1", external_id)


NEW = {"kind": "rest_point", "name": "测试新驿站", "lon": 116.24, "lat": 39.87,
       "amenities": ["热水", "microwave"], "opening_hours": "24/7", "contact_name": "王经理",
       "contact_phone": SECRET_MARK, "internal_notes": SECRET_MARK}  # fmt: skip


FIRM = {"name": "测试快递站", "lon": 116.22, "lat": 39.86, "employees": 12, "outdoor_workers": 10,
        "union_status": "未建会", "industry": "物流快递"}  # fmt: skip


async def test_writes_without_a_valid_token_get_401(client, api_conn):
    s1 = await _station_id(api_conn, "s1")
    revoked = await _token(api_conn, "old", revoked=True)
    calls = [("POST", "/stations", NEW), ("PATCH", f"/stations/{s1}", {"name": "x"}),
             ("POST", f"/stations/{s1}/close", None), ("DELETE", f"/stations/{s1}", None),
             ("GET", "/audit", None), ("POST", "/audit/1/revert", None),
             ("POST", "/enterprises", FIRM), ("PATCH", "/enterprises/1", {"name": "x"}),
             ("DELETE", "/enterprises/1", None), ("POST", "/imports/stations", None)]  # fmt: skip
    for headers in ({}, {"Authorization": "Bearer nx_1_wrongwrongwrongwrongwrong"},
                    {"Authorization": "Basic abc"}, revoked):  # fmt: skip
        for method, url, body in calls:
            response = await client.request(method, url, json=body, headers=headers)
            assert response.status_code == 401, (method, url, headers, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.headers["content-type"] == "application/problem+json"
    assert await api_conn.fetchval("SELECT count(*) FROM audit_log") == 0
    assert (
        await api_conn.fetchval("SELECT name FROM stations WHERE id = $1", s1) == "西街道工会服务站"
    )


async def test_a_district_editor_writes_only_inside_their_district(client, api_conn):
    west = await _token(api_conn, "west-editor", district="110106017000")  # 西街道 only
    s1, s2 = await _station_id(api_conn, "s1"), await _station_id(api_conn, "s2")  # west, east
    ok = await client.patch(
        f"/stations/{s1}", json={"name": "西街道工会服务站（新）"}, headers=west
    )
    assert ok.status_code == 200, ok.text
    outside = await client.patch(f"/stations/{s2}", json={"name": "x"}, headers=west)
    assert outside.status_code == 403 and "outside your district" in outside.json()["detail"]
    moving_out = await client.patch(f"/stations/{s1}", json={"lon": 116.27}, headers=west)
    assert moving_out.status_code == 403
    new_outside = await client.post("/stations", json={**NEW, "lon": 116.28}, headers=west)
    assert new_outside.status_code == 403
    nowhere = await _token(api_conn, "no-boundary", district="110199000000")
    refused = await client.patch(f"/stations/{s1}", json={"name": "x"}, headers=nowhere)
    assert refused.status_code == 403 and "no current boundary" in refused.json()["detail"]
    assert (await client.get("/audit", headers=west)).status_code == 403  # admins only
    names = await api_conn.fetch("SELECT id, name FROM stations WHERE id = ANY($1)", [s1, s2])
    assert dict(names) == {s1: "西街道工会服务站（新）", s2: "烤鸭店暖心驿站"}


async def test_every_write_is_audited_and_each_can_be_reverted(client, api_conn):
    editor = await _token(api_conn, "fengtai-editor")
    admin = await _token(api_conn, "admin", role="admin", district=None)
    created = await client.post("/stations", json=NEW, headers=editor)
    assert created.status_code == 201, created.text
    station = created.json()
    assert station["amenities"] == ["hot_water", "microwave"]  # the importers' vocabulary
    assert station["contact_phone"] == SECRET_MARK  # editors see private fields
    sid = station["id"]
    assert created.headers["location"].endswith(f"/items/{sid}")

    renamed = await client.patch(f"/stations/{sid}", json={"name": "改名驿站", "seats": 6},
                                 headers=editor)  # fmt: skip
    assert renamed.json()["name"] == "改名驿站"
    closed = await client.post(f"/stations/{sid}/close", headers=editor)
    assert closed.json()["status"] == "closed" and closed.json()["closed_on"]
    assert (await client.delete(f"/stations/{sid}", headers=editor)).status_code == 204
    assert (await client.patch(f"/stations/{sid}", json={"name": "x"},
                               headers=editor)).status_code == 404  # fmt: skip

    log = (await client.get(f"/audit?row_id={sid}", headers=admin)).json()
    assert [e["action"] for e in log] == ["delete", "close", "update", "create"]
    assert all(e["actor"] == "fengtai-editor" for e in log)
    update = log[2]
    assert (update["before"]["name"], update["after"]["name"]) == ("测试新驿站", "改名驿站")
    history = await api_conn.fetchval(
        "SELECT changed_by FROM row_history WHERE row_id = $1 ORDER BY id LIMIT 1", sid
    )
    assert history == "api:fengtai-editor"  # the row-history trigger knows who, too

    # Revert the delete: the station is back, closed, with its new name.
    back = await client.post(f"/audit/{log[0]['id']}/revert", headers=admin)
    assert back.status_code == 200, back.text
    assert back.json()["deleted_at"] is None and back.json()["status"] == "closed"
    again = await client.post(f"/audit/{log[0]['id']}/revert", headers=admin)
    assert again.status_code == 409
    # Revert the rename: the old name returns, the close stays.
    await client.post(f"/audit/{update['id']}/revert", headers=admin)
    row = await api_conn.fetchrow("SELECT name, status, seats FROM stations WHERE id = $1", sid)
    assert (row["name"], row["status"], row["seats"]) == ("测试新驿站", "closed", None)


async def test_deleted_stations_and_private_fields_never_reach_public_output(client, api_conn):
    editor = await _token(api_conn, "fengtai-editor")
    s2 = await _station_id(api_conn, "s2")
    private = {"contact_phone": SECRET_MARK, "internal_notes": SECRET_MARK}
    await client.patch(f"/stations/{s2}", json=private, headers=editor)
    public = ["/stations", "/stations?coords=gcj02", "/ogc/collections/stations/items",
              f"/ogc/collections/stations/items/{s2}", "/ogc/collections/stations-rest_point/items",
              "/locate?lon=116.27&lat=39.86&open=any", "/coverage?boundary=110106000000&f=json",
              "/tiles/stations/14/13480/6208.mvt", "/boundaries", "/ogc/collections"]  # fmt: skip
    for url in public:
        response = await client.get(url)
        assert response.status_code in (200, 204), (url, response.text)
        assert SECRET_MARK.encode() not in response.content, url
        assert b"internal_notes" not in response.content and b"contact_" not in response.content
    listed = (await client.get("/stations")).json()
    assert "烤鸭店暖心驿站" in {f["properties"]["name"] for f in listed["features"]}

    assert (await client.delete(f"/stations/{s2}", headers=editor)).status_code == 204
    for url in ["/stations", "/ogc/collections/stations/items",
                "/locate?lon=116.27&lat=39.86&open=any"]:  # fmt: skip
        assert "烤鸭店暖心驿站" not in (await client.get(url)).text, url
    assert (await client.get(f"/ogc/collections/stations/items/{s2}")).status_code == 404


@pytest.mark.parametrize("attack", ["1; DROP TABLE stations; --", "' OR '1'='1",
                                    "1)) UNION SELECT secret_hash FROM api_tokens --"])  # fmt: skip
async def test_sql_injection_strings_change_nothing(client, api_conn, attack):
    editor = await _token(api_conn, "fengtai-editor")
    before = await api_conn.fetchval(
        "SELECT md5(string_agg(s::text, '' ORDER BY id)) FROM stations s"
    )
    for url in [f"/stations?kind={attack}", f"/stations?bbox={attack}",
                f"/ogc/collections/stations/items?boundary={attack}",
                f"/locate?lon={attack}&lat=39.9", f"/coverage?boundary={attack}",
                f"/ogc/collections/{attack}/items", f"/jobs/{attack}",
                f"/audit?row_id={attack}", f"/audit?table={attack}"]:  # fmt: skip
        response = await client.get(url, headers=editor)
        assert 400 <= response.status_code < 500, (url, response.status_code)
    for body in [{"kind": attack}, {"status": attack}, {"lon": attack}, {"amenities": [attack]},
                 {"opening_hours": attack}]:  # fmt: skip
        response = await client.post("/stations", json={**NEW, **body}, headers=editor)
        assert response.status_code in (400, 422), (body, response.text)
    for body in [{"union_status": attack}, {"employees": attack}, {"registration_code": attack}]:
        response = await client.post("/enterprises", json={**FIRM, **body}, headers=editor)
        assert response.status_code in (400, 422), (body, response.text)
    firms = await api_conn.fetchval("SELECT count(*) FROM enterprises")
    assert (await client.post(f"/imports/{attack}", headers=editor)).status_code == 422
    assert (await client.patch(f"/stations/{attack}", json={"name": "x"},
                               headers=editor)).status_code == 422  # fmt: skip
    after = await api_conn.fetchval(
        "SELECT md5(string_agg(s::text, '' ORDER BY id)) FROM stations s"
    )
    assert after == before
    assert await api_conn.fetchval("SELECT count(*) FROM enterprises") == firms
    # Free text is stored as text, verbatim: the attack is just a name.
    named = await client.post("/stations", json={**NEW, "name": attack}, headers=editor)
    assert named.status_code == 201 and named.json()["name"] == attack
    assert await api_conn.fetchval("SELECT count(*) FROM api_tokens") >= 1


async def test_enterprises_are_written_audited_reverted_and_kept_to_the_district(client, api_conn):
    west = await _token(api_conn, "west-editor", district="110106017000")
    admin = await _token(api_conn, "admin", role="admin", district=None)
    created = await client.post("/enterprises", json=FIRM, headers=west)
    assert created.status_code == 201, created.text
    firm = created.json()
    assert firm["union_status"] == "not_unionised"  # the importers' vocabulary
    assert created.headers["location"] == f"/ogc/collections/enterprises/items/{firm['id']}"
    too_many = await client.patch(f"/enterprises/{firm['id']}", json={"outdoor_workers": 50},
                                  headers=west)  # fmt: skip
    assert too_many.status_code == 400 and "outdoor_workers" in too_many.json()["detail"]
    unionised = await client.patch(f"/enterprises/{firm['id']}",
                                   json={"union_status": "已建会"}, headers=west)  # fmt: skip
    assert unionised.json()["union_status"] == "unionised"
    e2 = await api_conn.fetchval("SELECT id FROM enterprises WHERE external_id = 'e2'")  # east
    outside = await client.patch(f"/enterprises/{e2}", json={"name": "x"}, headers=west)
    assert outside.status_code == 403
    assert (await client.post("/enterprises", json={**FIRM, "lon": 116.28},
                              headers=west)).status_code == 403  # fmt: skip

    assert (await client.delete(f"/enterprises/{firm['id']}", headers=west)).status_code == 204
    items = await client.get("/ogc/collections/enterprises/items")
    assert "测试快递站" not in items.text
    gone = await client.get(f"/ogc/collections/enterprises/items/{firm['id']}")
    assert gone.status_code == 404
    log = (await client.get("/audit?table=enterprises", headers=admin)).json()
    ours = [e for e in log if e["row_id"] == firm["id"]]
    assert [e["action"] for e in ours] == ["delete", "update", "create"]
    assert all(e["table"] == "enterprises" and e["actor"] == "west-editor" for e in ours)
    back = await client.post(f"/audit/{ours[0]['id']}/revert", headers=admin)
    assert back.status_code == 200 and back.json()["deleted_at"] is None
    assert "测试快递站" in (await client.get("/ogc/collections/enterprises/items")).text
    await client.post(f"/audit/{ours[1]['id']}/revert", headers=admin)
    status = await api_conn.fetchval("SELECT union_status FROM enterprises WHERE id = $1",
                                     firm["id"])  # fmt: skip
    assert status == "not_unionised"


def test_production_refuses_the_default_token_secret():
    with pytest.raises(ValidationError, match="NUANXIN_TOKEN_SECRET"):
        Settings(_env_file=None, environment="production")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(_env_file=None, environment="production", token_secret="short")
    fine = Settings(_env_file=None, environment="production", token_secret="x" * 40)
    assert json.dumps(fine.environment) == '"production"'


async def test_with_two_current_vintages_of_a_district_the_newest_decides(client, api_conn):
    """The same rule as uploads (geo.importers.audited.DISTRICT_SQL): the newest vintage."""
    await api_conn.execute(
        "INSERT INTO boundaries (code, name, level, vintage, geom) VALUES ('110106017000', "
        "'西街道（新界）', 'subdistrict', 'zz-newer', ST_Multi(ST_MakeEnvelope(116.25, 39.8, "
        "116.3, 39.9, 4326)))"
    )  # the newer 西街道 lies where 东街道 was
    west = await _token(api_conn, "west-editor", district="110106017000")
    s1, s2 = await _station_id(api_conn, "s1"), await _station_id(api_conn, "s2")  # west, east
    assert (
        await client.patch(f"/stations/{s1}", json={"seats": 3}, headers=west)
    ).status_code == 403
    assert (
        await client.patch(f"/stations/{s2}", json={"seats": 3}, headers=west)
    ).status_code == 200
