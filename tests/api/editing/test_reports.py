"""Worker reports: public, throttled, spam-guarded, moderated in the editor's district."""

from __future__ import annotations

import pytest

from api.coords import shift_point
from geo.crs import CoordSystem
from tests.api.editing.test_routes import _station_id, _token

pytestmark = pytest.mark.anyio


async def test_a_confirmation_accepted_by_an_editor_verifies_the_station(client, api_conn):
    s2 = await _station_id(api_conn, "s2")
    sent = await client.post(f"/stations/{s2}/reports", json={"kind": "confirmed_open"})
    assert sent.status_code == 202 and sent.json()["status"] == "pending"
    problem = await client.post(f"/stations/{s2}/reports",
                                json={"kind": "no_hot_water", "note": "热水器坏了"})  # fmt: skip
    assert problem.status_code == 202
    stored = await api_conn.fetchrow("SELECT client_hash FROM reports WHERE id = $1",
                                     sent.json()["id"])  # fmt: skip
    assert "127.0.0.1" not in stored["client_hash"] and len(stored["client_hash"]) == 64

    editor = await _token(api_conn, "fengtai-editor")
    west = await _token(api_conn, "west-editor", district="110106017000")
    queue = (await client.get("/reports", headers=editor)).json()
    assert {r["kind"] for r in queue} == {"confirmed_open", "no_hot_water"}
    assert (await client.get("/reports", headers=west)).json() == []  # s2 is in 东街道
    assert (await client.get("/reports")).status_code == 401
    outside = await client.post(f"/reports/{sent.json()['id']}/accept", headers=west)
    assert outside.status_code == 403

    accepted = await client.post(f"/reports/{sent.json()['id']}/accept", headers=editor)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["station_last_verified_at"] is not None
    verified = await api_conn.fetchval("SELECT last_verified_at FROM stations WHERE id = $1", s2)
    assert verified is not None
    audit = await api_conn.fetchval("SELECT action FROM audit_log WHERE row_id = $1", s2)
    assert audit == "update"  # the verification went through the audited write path
    again = await client.post(f"/reports/{sent.json()['id']}/reject", headers=editor)
    assert again.status_code == 409
    rejected = await client.post(f"/reports/{problem.json()['id']}/reject", headers=editor)
    assert rejected.json()["status"] == "rejected"
    located = (await client.get("/locate?lon=116.27&lat=39.86&open=any&k=1")).json()
    assert located["results"][0]["stale"] is False


async def test_flooding_is_throttled_and_spam_refused(client, api_conn):
    s1, s2 = await _station_id(api_conn, "s1"), await _station_id(api_conn, "s2")
    assert (await client.post(f"/stations/{s1}/reports", json={"kind": "full"})).status_code == 202
    duplicate = await client.post(f"/stations/{s1}/reports", json={"kind": "full"})
    assert duplicate.status_code == 429 and "reported this already" in duplicate.json()["detail"]
    kinds = ["closed", "turned_away", "wrong_location", "no_hot_water"]
    statuses = [(await client.post(f"/stations/{s2}/reports", json={"kind": k})).status_code
                for k in kinds]  # fmt: skip
    assert statuses == [202, 202, 202, 202]  # 5 in 10 minutes: the budget
    flood = await client.post(f"/stations/{s2}/reports", json={"kind": "full"})
    assert flood.status_code == 429 and "at most 5 reports per 10 minutes" in flood.json()["detail"]
    assert await api_conn.fetchval("SELECT count(*) FROM reports") == 5

    for body, status in [({"kind": "closed", "note": "see http://spam.example"}, 400),
                         ({"kind": "closed", "website": "http://bot"}, 400),
                         ({"kind": "closed", "note": "x" * 501}, 422),
                         ({"kind": "bombed"}, 422),
                         ({"kind": "closed", "extra": 1}, 422)]:  # fmt: skip
        response = await client.post(f"/stations/{s1}/reports", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    missing = await client.post("/stations/999999/reports", json={"kind": "closed"})
    assert missing.status_code == 404


async def test_workers_can_say_locked_no_toilet_short_hours(client, api_conn):
    s1 = await _station_id(api_conn, "s1")
    for kind in ("locked", "no_toilet", "short_hours"):
        sent = await client.post(f"/stations/{s1}/reports", json={"kind": kind})
        assert sent.status_code == 202, (kind, sent.text)
    unknown = await client.post(f"/stations/{s1}/reports", json={"kind": "too_cold"})
    assert unknown.status_code == 422


async def test_the_promise_overdue_reports_stand_out_and_districts_are_held_to_it(client, api_conn):
    s2 = await _station_id(api_conn, "s2")
    # Ages and answers, in hours: pending 50 (overdue), pending 1 (not due), answered after 10
    # (in time), answered after 60 (late). The promise is 48 h.
    for age, answered_after in ((50, None), (1, None), (70, 10), (90, 60)):
        await api_conn.execute(
            "INSERT INTO reports (station_id, kind, client_hash, created_at, status, "
            "moderated_by, moderated_at) VALUES ($1, 'locked', 'x', "
            "now() - make_interval(hours => $2), $3, $4, "
            "now() - make_interval(hours => $2) + make_interval(hours => $5))",
            s2, age, "pending" if answered_after is None else "accepted",
            None if answered_after is None else "editor", answered_after,  # None: unanswered
        )  # fmt: skip
    public = await client.get("/districts/service")  # no token: published
    assert public.status_code == 200
    body = public.json()
    assert body["response_hours"] == 48 and body["days"] == 90
    fengtai = next(d for d in body["districts"] if d["code"] == "110106000000")["reports"]
    assert (fengtai["received"], fengtai["answered"], fengtai["answered_in_time"],
            fengtai["due"], fengtai["overdue"]) == (4, 2, 1, 3, 1)  # fmt: skip
    assert fengtai["share_in_time"] == pytest.approx(1 / 3, abs=1e-4)
    recent = (await client.get("/districts/service?days=2")).json()["districts"]
    assert recent[0]["code"] == "110106000000" and recent[0]["reports"]["received"] == 1
    assert (await client.get("/districts/service?days=0")).status_code == 422

    editor = await _token(api_conn, "promise-editor")
    queue = (await client.get("/reports", headers=editor)).json()
    overdue = {round(r["age_hours"]): r["overdue"] for r in queue}
    assert overdue == {50: True, 1: False}
    answered = (await client.get("/reports?status=accepted", headers=editor)).json()
    assert sorted(r["overdue"] for r in answered) == [False, True]
    # An answered report's age is how long it waited, not a clock that keeps running.
    assert sorted(round(r["age_hours"]) for r in answered) == [10, 60]


async def test_the_share_verified_in_30_days_and_the_places_due(client, api_conn):
    """s1 checked 3 days ago, s2 40 days ago; s3 is only planned (not a public place)."""
    await api_conn.execute("UPDATE stations SET last_verified_at = now() - interval '3 days' "
                           "WHERE external_id = 's1'")  # fmt: skip
    await api_conn.execute("UPDATE stations SET last_verified_at = now() - interval '40 days' "
                           "WHERE external_id = 's2'")  # fmt: skip
    body = (await client.get("/districts/service")).json()
    assert body["verified_days"] == 30
    verified = next(d for d in body["districts"] if d["code"] == "110106000000")["verified"]
    assert verified == {"places": 2, "verified": 1, "share": 0.5}
    longer = (await client.get("/districts/service?verified_days=60")).json()["districts"][0]
    assert longer["verified"]["share"] == 1.0
    assert (await client.get("/stations/due")).status_code == 401  # the list is the editors'
    editor = await _token(api_conn, "due-editor")
    due = (await client.get("/stations/due", headers=editor)).json()
    assert [d["id"] for d in due] == [await _station_id(api_conn, "s2")]
    # A GCJ-02 client (a Chinese map) gets the places where its map draws them.
    shifted = (await client.get("/stations/due?coords=gcj02", headers=editor)).json()
    assert (shifted[0]["lon"], shifted[0]["lat"]) == shift_point(due[0]["lon"], due[0]["lat"],
                                                                 CoordSystem.GCJ02)  # fmt: skip
    assert shifted[0]["lon"] != due[0]["lon"]  # ~500 m apart in Beijing
    assert (await client.get("/stations/due?coords=mars", headers=editor)).status_code == 422
    west = await _token(api_conn, "due-west", district="110106017000")
    assert (await client.get("/stations/due", headers=west)).json() == []  # s2 is in 东街道
    # An accepted worker confirmation counts as a check.
    s2 = await _station_id(api_conn, "s2")
    sent = await client.post(f"/stations/{s2}/reports", json={"kind": "confirmed_open"})
    await client.post(f"/reports/{sent.json()['id']}/accept", headers=editor)
    again = (await client.get("/districts/service")).json()["districts"][0]["verified"]
    assert again["share"] == 1.0
    assert (await client.get("/stations/due", headers=editor)).json() == []
