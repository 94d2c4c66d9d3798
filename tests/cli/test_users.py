"""``nuanxin users``: tokens are shown once, stored only as a keyed hash, and can be revoked."""

from __future__ import annotations

import psycopg
from typer.testing import CliRunner

from cli.main import app
from geo.config import DEV_TOKEN_SECRET, get_settings
from geo.store.tokens import matches, parse_token
from tests.cli.test_main import run


def test_add_list_revoke(scratch_database_url, monkeypatch):
    url = scratch_database_url
    run("db", "upgrade", url=url)
    added = run("users", "add", "fengtai-union", "--district", "110106000000", url=url)
    token = added.stdout.strip().splitlines()[-1]
    parsed = parse_token(token)
    assert parsed is not None
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT secret_hash, role, district_code FROM api_tokens "
                              "WHERE name = 'fengtai-union'").fetchone()  # fmt: skip
    assert parsed[1] not in stored[0]  # the secret itself is not stored
    assert matches(parsed[1], stored[0], DEV_TOKEN_SECRET)
    assert stored[1:] == ("district_editor", "110106000000")

    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(app, ["users", "list"])
        assert "fengtai-union\tdistrict_editor\t110106000000" in listed.output
        assert "active" in listed.output and parsed[1] not in listed.output
        for args, message in [
            (["users", "add", "fengtai-union", "--district", "110106000000"], "exists"),
            (["users", "add", "nobody"], "needs --district"),
            (["users", "add", "boss", "--role", "admin", "--district", "110106000000"],
             "not limited to a district"),
            (["users", "add", "boss", "--role", "king"], "admin or district_editor"),
            (["users", "revoke", "ghost"], "no active token named 'ghost'"),
        ]:  # fmt: skip
            result = runner.invoke(app, args)
            assert result.exit_code == 1 and message in result.stderr, (args, result.output)
        assert runner.invoke(app, ["users", "revoke", "fengtai-union"]).exit_code == 0
        assert "revoked" in runner.invoke(app, ["users", "list"]).output
    finally:
        get_settings.cache_clear()
