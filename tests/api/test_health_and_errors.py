"""Health checks and the one error shape; 5xx bodies never leak internals."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from api.app import create_app
from api.deps import get_connection, get_read_connection
from api.schemas import Health
from geo.config import Settings
from geo.store import migrate

pytestmark = pytest.mark.anyio


async def test_readyz_reports_postgis_and_schema_and_healthz_needs_no_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    health = Health.model_validate(response.json())
    assert health.postgis.startswith("3.")
    assert health.schema_revision == migrate.head_revision()
    live = await client.get("/healthz")
    assert live.status_code == 200 and live.json()["status"] == "ok"


async def test_unknown_route_is_a_problem(client):
    response = await client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "http_404"


def _app_with_connection(provider) -> httpx.AsyncClient:
    app = create_app(Settings(environment="test", database_url="postgresql://x@127.0.0.1:1/x"))
    app.dependency_overrides[get_connection] = provider
    app.dependency_overrides[get_read_connection] = provider  # public reads, e.g. /stations
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_database_down_gives_503_with_retry_after():
    async def unreachable():
        await asyncpg.connect("postgresql://nobody@127.0.0.1:1/none", timeout=1)
        yield None  # pragma: no cover - never reached

    async with _app_with_connection(unreachable) as http:
        assert (await http.get("/healthz")).status_code == 200  # alive, just not ready
        for path in ("/readyz", "/stations"):
            response = await http.get(path)
            assert response.status_code == 503, path
            assert response.headers["retry-after"].isdigit()
            assert response.json()["code"] == "database_unavailable"


async def test_unexpected_error_is_a_bare_500_without_internals():
    class Exploding:
        async def fetchrow(self, *args, **kwargs):
            raise RuntimeError("secret table name and /path/to/code.py line 42")

    async def exploding():
        yield Exploding()

    async with _app_with_connection(exploding) as http:
        response = await http.get("/stations")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "/problems/internal_error",
        "title": "Internal error",
        "status": 500,
        "detail": "Something went wrong on our side.",
        "code": "internal_error",
    }
    assert "secret" not in response.text
    assert "Traceback" not in response.text


async def test_unmigrated_database_is_reported_as_unavailable(scratch_database_url):
    async def empty_database():
        connection = await asyncpg.connect(scratch_database_url)
        try:
            yield connection
        finally:
            await connection.close()

    async with _app_with_connection(empty_database) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert "not migrated" in response.json()["detail"]


async def test_a_value_postgres_refuses_is_a_400_not_a_500(client):
    """Found by the contract fuzzer: a NUL byte in a free-text parameter."""
    response = await client.get("/coverage?vintage=a%00b")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert "NUL" in response.json()["detail"] and "asyncpg" not in response.text
