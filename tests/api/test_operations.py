"""Request ids, body caps, timeouts, load shedding, metrics and JSON logs."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from api.app import create_app
from api.deps import get_connection, get_read_connection
from api.middleware import REQUEST_ID, JsonFormatter
from geo.config import ApiSettings, Settings

pytestmark = pytest.mark.anyio


def _client(api: ApiSettings, provider=None) -> httpx.AsyncClient:
    app = create_app(Settings(environment="test", database_url="postgresql://x@127.0.0.1:1/x",
                              api=api))  # fmt: skip
    if provider:
        app.dependency_overrides[get_connection] = provider
        app.dependency_overrides[get_read_connection] = provider
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


class Slow:
    """A connection whose every query takes ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def fetchrow(self, *args, **kwargs):
        await asyncio.sleep(self.seconds)
        return {"n": 0, "features": "[]"}


def _slow(seconds: float):
    async def provider():
        yield Slow(seconds)

    return provider


async def test_request_ids_are_kept_or_made_and_echoed(client):
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id; drop table"})
    assert made.headers["x-request-id"] != "bad id; drop table"
    assert len(made.headers["x-request-id"]) == 32
    error = await client.get("/no/such/page")
    assert error.status_code == 404 and error.headers["x-request-id"]
    for response in (given, error):  # security headers on every answer, errors included
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_bodies_over_the_cap_get_413_declared_or_streamed():
    async with _client(ApiSettings(max_body_bytes=1024)) as http:
        declared = await http.post("/jobs/siting", content=b"x" * 5000,
                                   headers={"content-type": "application/json"})  # fmt: skip
        assert declared.status_code == 413
        assert declared.headers["content-type"] == "application/problem+json"
        assert "at most 1,024 bytes" in declared.json()["detail"]

        async def chunks():
            for _ in range(10):
                yield b"y" * 500

        streamed = await http.post("/jobs/siting", content=chunks(),
                                   headers={"content-type": "application/json"})  # fmt: skip
        assert streamed.status_code == 413


async def test_a_slow_request_times_out_with_a_problem():
    async with _client(ApiSettings(request_timeout_s=0.2), _slow(2)) as http:
        response = await http.get("/stations")
    assert response.status_code == 503
    assert response.json()["code"] == "timeout"
    assert response.headers["retry-after"] == "5"


async def test_the_timeout_ends_only_the_slow_request_and_counts_it(caplog):
    async with _client(ApiSettings(request_timeout_s=0.3), _slow(0.2)) as http:
        fine = await asyncio.gather(*(http.get("/stations") for _ in range(3)))
        assert [r.status_code for r in fine] == [200, 200, 200]  # under the limit: no timeout
        while_slow = asyncio.create_task(http.get("/stations"))
        await asyncio.sleep(0.05)
        in_flight = (await http.get("/metrics")).text
        assert (await while_slow).status_code == 200
        metrics = (await http.get("/metrics")).text
    assert "nuanxin_http_requests_in_flight 2.0" in in_flight  # the slow one and /metrics
    assert "nuanxin_http_requests_in_flight 1.0" in metrics  # only /metrics itself
    assert 'route="/stations",status="200"} 4.0' in metrics
    assert "timed out" not in caplog.text


async def test_overload_is_shed_at_once_not_queued():
    async with _client(ApiSettings(max_concurrent_requests=2), _slow(0.5)) as http:
        started = asyncio.get_running_loop().time()
        responses = await asyncio.gather(*(http.get("/stations") for _ in range(5)))
        elapsed = asyncio.get_running_loop().time() - started
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 200, 503, 503, 503]
        shed = next(r for r in responses if r.status_code == 503)
        assert shed.json()["code"] == "overloaded" and shed.headers["retry-after"] == "1"
        assert elapsed < 2  # nobody waited in a queue for the slow ones
        metrics = (await http.get("/metrics")).text
    assert "nuanxin_http_requests_shed_total 3.0" in metrics


async def test_metrics_count_requests_by_route_template(client):
    await client.get("/stations?kind=rest_point")
    await client.get("/ogc/collections/stations/items/1")
    text = (await client.get("/metrics")).text
    assert (
        'nuanxin_http_request_duration_seconds_count{method="GET",route="/stations",status="200"}'
        in text
    )
    assert 'route="/ogc/collections/{collectionId}/items/{featureId}"' in text
    assert "nuanxin_http_requests_in_flight" in text


def test_json_log_lines_carry_the_request_id():
    token = REQUEST_ID.set("req-42")
    try:
        record = logging.LogRecord("nuanxin.api", logging.WARNING, __file__, 1, "database %s",
                                   ("down",), None)  # fmt: skip
        record.route = "/stations"
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "req-42"
    assert line["message"] == "database down" and line["level"] == "WARNING"
    assert line["route"] == "/stations"


async def test_cors_lets_allowed_sites_make_every_editor_call_and_no_other_site():
    partner, stranger = "https://partner.example", "https://evil.example"
    async with _client(ApiSettings(cors_origins=[partner])) as http:
        for method in ("GET", "POST", "PATCH", "DELETE"):
            preflight = await http.options("/stations/1", headers={
                "Origin": partner, "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization, content-type"})  # fmt: skip
            assert preflight.status_code == 200, (method, preflight.text)
            assert method in preflight.headers["access-control-allow-methods"]
        refused = await http.options("/stations/1", headers={
            "Origin": stranger, "Access-Control-Request-Method": "PATCH"})  # fmt: skip
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
