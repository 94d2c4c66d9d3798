"""The console's sign-in: a token once, then an HttpOnly session cookie; CSRF on its writes."""

from __future__ import annotations

import logging

import pytest

from api.editing.auth import SESSION_COOKIE
from api.editing.sessions import CSRF_COOKIE, MAX_FAILURES
from tests.api.editing.test_routes import NEW, _token

pytestmark = pytest.mark.anyio


def _bare(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def _sign_in(client, api_conn, name: str = "console-editor", **token_options) -> str:
    token = _bare(await _token(api_conn, name, **token_options))
    signed = await client.post("/console/session", json={"token": token})
    assert signed.status_code == 200, signed.text
    return token


async def test_sign_in_sets_a_strict_httponly_cookie_that_never_holds_the_token(
    client, api_conn, caplog
):
    caplog.set_level(logging.DEBUG)
    token = _bare(await _token(api_conn, "console-editor"))
    signed = await client.post("/console/session", json={"token": token})
    assert signed.status_code == 200
    assert signed.json()["name"] == "console-editor" and signed.json()["idle_minutes"] == 30
    cookies = signed.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    flags = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain HTTP in tests; production sets Secure
    assert any(c.startswith(f"{CSRF_COOKIE}=") for c in cookies)  # the console's CSRF token
    secret = token.rsplit("_", 1)[1]
    assert secret not in session and secret not in signed.text
    assert secret not in caplog.text  # neither in the logs
    stored = await api_conn.fetchval("SELECT id_hash FROM console_sessions")
    assert stored != client.cookies[SESSION_COOKIE] and len(stored) == 64  # only a hash
    who = await client.get("/console/session")
    token_id = await api_conn.fetchval("SELECT id FROM api_tokens WHERE name = 'console-editor'")
    assert who.json() == {"token_id": token_id, "name": "console-editor",
                          "role": "district_editor", "district_code": "110106000000"}  # fmt: skip


async def test_a_write_with_the_session_needs_the_csrf_token(client, api_conn):
    await _sign_in(client, api_conn)
    refused = await client.post("/stations", json=NEW)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "csrf_failed"
    forged = await client.post("/stations", json=NEW, headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 403
    csrf = client.cookies[CSRF_COOKIE]
    written = await client.post("/stations", json=NEW, headers={"X-CSRFToken": csrf})
    assert written.status_code == 201, written.text
    audited = await api_conn.fetchval("SELECT actor FROM audit_log ORDER BY id DESC LIMIT 1")
    assert audited == "console-editor"  # the audited path knows who, by the session


async def test_scripts_with_a_bearer_token_and_the_public_api_are_unaffected(client, api_conn):
    headers = await _token(api_conn, "script-editor")
    assert (await client.post("/stations", json=NEW, headers=headers)).status_code == 201
    public = await client.get("/stations")
    assert public.status_code == 200 and "set-cookie" not in public.headers  # cookie-free


async def test_sign_out_ends_the_session_everywhere(client, api_conn):
    await _sign_in(client, api_conn)
    cookie = client.cookies[SESSION_COOKIE]
    csrf = {"X-CSRFToken": client.cookies[CSRF_COOKIE]}
    assert (await client.delete("/console/session", headers=csrf)).status_code == 204
    assert SESSION_COOKIE not in client.cookies
    client.cookies.set(SESSION_COOKIE, cookie)  # a copy kept (or stolen) does not help
    again = await client.get("/console/session")
    assert again.status_code == 401 and "sign in again" in again.json()["detail"]


@pytest.mark.parametrize("column, hours", [("last_seen_at", 1), ("created_at", 13)])
async def test_an_idle_or_old_session_is_sent_back_to_sign_in(client, api_conn, column, hours):
    await _sign_in(client, api_conn)
    assert (await client.get("/console/session")).status_code == 200
    await api_conn.execute(f"UPDATE console_sessions SET {column} = now() - "
                           f"make_interval(hours => {hours})")  # fmt: skip
    ended = await client.get("/console/session")
    assert ended.status_code == 401 and "sign in again" in ended.json()["detail"]


async def test_revoking_the_token_ends_its_sessions(client, api_conn):
    await _sign_in(client, api_conn, "revoked-soon")
    await api_conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE name = 'revoked-soon'")
    assert (await client.get("/console/session")).status_code == 401


async def test_sign_in_attempts_are_throttled(client, api_conn):
    good = _bare(await _token(api_conn, "patient-editor"))
    for _ in range(MAX_FAILURES):
        wrong = await client.post("/console/session", json={"token": good[:-3] + "xyz"})
        assert wrong.status_code == 401
    throttled = await client.post("/console/session", json={"token": good})
    assert throttled.status_code == 429 and "try again" in throttled.json()["detail"]
    assert SESSION_COOKIE not in client.cookies
