"""Private fields never leave through a public route: every GET route of the app is called.

The routes are read from the app itself, so a route added later without a sample here fails
this test until it is added (and checked). Private values carry a marker that must appear in
no answer, whatever the status.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from api.app import create_app
from api.editing.tables import STATIONS
from geo.config import Settings

pytestmark = pytest.mark.anyio
SECRET = "SECRET-13800000000"
# Routes that need a token, answered 401 here: the marker must not appear in that either.
EDITORS_ONLY = {
    "/audit",
    "/reports",
    "/stations/due",
    "/console/session",
    "/console/places",
    "/console/places/{station_id}/history",
    "/console/editors",
}


def _get_routes(settings: Settings) -> set[str]:
    found: set[str] = set()

    def walk(routes, prefix: str = "") -> None:
        for route in routes:
            # FastAPI keeps an included router as a wrapper holding the original router
            inner = getattr(route, "routes", None) or getattr(
                getattr(route, "original_router", None), "routes", None
            )
            if inner is not None and not hasattr(route, "methods"):
                walk(inner, prefix + getattr(route, "path", ""))
            elif "GET" in (getattr(route, "methods", None) or set()):
                found.add(prefix + route.path)

    walk(create_app(settings).routes)
    return found


def _samples(s1: int, e1: int) -> dict[str, list[str]]:
    embed = quote("http://test/embed?kinds=rest_point", safe="")
    return {
        "/openapi.json": ["/openapi.json"], "/docs": ["/docs"], "/redoc": ["/redoc"],
        "/docs/oauth2-redirect": ["/docs/oauth2-redirect"],
        "/healthz": ["/healthz"], "/readyz": ["/readyz"], "/metrics": ["/metrics"],
        "/stations": ["/stations", "/stations?coords=gcj02&status=closed"],
        "/boundaries": ["/boundaries"],
        "/ogc": ["/ogc"], "/ogc/api": ["/ogc/api"], "/ogc/conformance": ["/ogc/conformance"],
        "/ogc/collections": ["/ogc/collections"],
        "/ogc/collections/{collectionId}": ["/ogc/collections/stations",
                                            "/ogc/collections/enterprises"],
        "/ogc/collections/{collectionId}/items": [
            "/ogc/collections/stations/items", "/ogc/collections/stations-rest_point/items",
            "/ogc/collections/enterprises/items", "/ogc/collections/stations/items?f=html",
            "/ogc/collections/stations/items?coords=bd09",
            "/ogc/collections/enterprises/items?sortby=-employees&filter=employees%20%3E%200",
            "/ogc/collections/stations/items?crs=EPSG:4326&properties=name,phone"],
        "/ogc/collections/{collectionId}/queryables": ["/ogc/collections/stations/queryables",
                                                       "/ogc/collections/enterprises/queryables"],
        "/ogc/tileMatrixSets": ["/ogc/tileMatrixSets"],
        "/ogc/tileMatrixSets/{tileMatrixSetId}": ["/ogc/tileMatrixSets/WorldCRS84Quad"],
        "/ogc/collections/{collectionId}/tiles": ["/ogc/collections/stations/tiles"],
        "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}": [
            "/ogc/collections/stations/tiles/WebMercatorQuad",
            "/ogc/collections/boundaries/tiles/WorldCRS84Quad"],
        "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/"
        "{tileCol}": [
            "/ogc/collections/stations/tiles/WebMercatorQuad/12/1552/3370",
            "/ogc/collections/stations/tiles/WorldCRS84Quad/11/291/3370"],
        "/ogc/collections/{collectionId}/items/{featureId}": [
            f"/ogc/collections/stations/items/{s1}", f"/ogc/collections/enterprises/items/{e1}",
            f"/ogc/collections/stations/items/{s1}?f=html"],
        "/locate": ["/locate?lon=116.22&lat=39.85&open=any&k=20",
                    "/locate?lon=116.22&lat=39.85&coords=gcj02&open=any"],
        "/coverage": ["/coverage?boundary=110106000000&f=json",
                      "/coverage?boundary=110106000000",
                      "/coverage?boundary=110106000000&f=csv"],
        "/coverage/national": ["/coverage/national", "/coverage/national?level=province&f=csv"],
        "/coverage/national/runs": ["/coverage/national/runs"],
        "/siting/national": ["/siting/national", "/siting/national?province=11&f=csv"],
        "/plan/national": ["/plan/national", "/plan/national?lang=en"],
        "/plan/areas": ["/plan/areas", "/plan/areas?superseded=true"],
        "/plan/stations": ["/plan/stations"], "/plan": ["/plan", "/plan?lang=en"],
        "/jobs/{job_id}": ["/jobs/00000000-0000-0000-0000-000000000000"],
        "/jobs/{job_id}/result": ["/jobs/00000000-0000-0000-0000-000000000000/result"],
        "/audit": ["/audit"], "/reports": ["/reports"],
        "/districts/service": ["/districts/service", "/districts/service?days=7"],
        "/stations/due": ["/stations/due"], "/console/session": ["/console/session"],
        "/console/places": ["/console/places"], "/console/editors": ["/console/editors"],
        "/console/places/{station_id}/history": [f"/console/places/{s1}/history"],
        "/console": ["/console", "/console?lang=en"],
        "/": ["/", "/?lang=en"], "/map": ["/map"], "/embed": ["/embed?nearest=1"],
        "/embed.js": ["/embed.js"], "/embed/snippet": ["/embed/snippet?kinds=rest_point"],
        "/oembed": [f"/oembed?url={embed}"],
        "/locator/search": ["/locator/search?q=%E9%A9%BF%E7%AB%99", "/locator/search?q=西"],
        "/locator/shift": ["/locator/shift?lon=116.22&lat=39.85&coords=gcj02"],
        "/tiles/{layer}/{z}/{x}/{y}.mvt": ["/tiles/stations/14/13480/6208.mvt",
                                            "/tiles/stations/10/842/388.mvt",
                                            "/tiles/boundaries/10/842/388.mvt"],
        "/tiles/{layer}.json": ["/tiles/stations.json", "/tiles/boundaries.json"],
        "/styles/nuanxin.json": ["/styles/nuanxin.json"],
        "/ogc/tiles": ["/ogc/tiles"],
        "/ogc/tiles/{tileMatrixSetId}": ["/ogc/tiles/WebMercatorQuad"],
        "/ogc/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": [
            "/ogc/tiles/WebMercatorQuad/14/6208/13480", "/ogc/tiles/WorldCRS84Quad/9/93/842"],
        "/map/vector": ["/map/vector", "/map/vector?lang=en"],
    }  # fmt: skip


async def test_no_get_route_answers_with_a_private_field(client, api_conn, settings):
    private = ", ".join(f"{column} = $1" for column in STATIONS.private)  # every private one
    await api_conn.execute(f"UPDATE stations SET {private}", SECRET)
    s1 = await api_conn.fetchval("SELECT id FROM stations WHERE external_id = 's1'")
    e1 = await api_conn.fetchval("SELECT id FROM enterprises WHERE external_id = 'e1'")
    run = await api_conn.fetchval(  # a stored national run, so /coverage/national answers
        "INSERT INTO national_runs (scope, params, method) VALUES ('test', '{}', '{}') RETURNING id"
    )
    await api_conn.execute(
        "INSERT INTO national_figures (run_id, level, code, name, province, rank, figures, geom) "
        "VALUES ($1, 'province', '11', '北京市', '11', 1, '{\"residents\": 1}', "
        "ST_Multi(ST_MakeEnvelope(116, 39, 117, 40, 4326)))", run)  # fmt: skip
    siting = await api_conn.fetchval(  # and a stored siting, so /siting/national answers
        "INSERT INTO national_sitings (scope, params, method) VALUES ('test', '{}', '{}') "
        "RETURNING id"
    )
    await api_conn.execute(
        "INSERT INTO national_sites (siting_id, rank, h3, code, county, province, gain, "
        "gain_alone, geom) VALUES ($1, 1, '8831aa5', '110106', '丰台区', '11', 1, 1, "
        "ST_SetSRID(ST_MakePoint(116.3, 39.8), 4326))", siting)  # fmt: skip
    samples = _samples(s1, e1)
    routes = _get_routes(settings)
    assert routes - samples.keys() == set(), "add a sample for each new GET route"
    answered = []
    for route in sorted(routes):
        for url in samples[route]:
            response = await client.get(url)
            if response.status_code < 400:
                answered.append(url)
            assert response.status_code < 500, (url, response.status_code, response.text[:200])
            if route in EDITORS_ONLY:
                assert response.status_code == 401, url
            assert SECRET.encode() not in response.content, url
            # only the API's description and the console's empty form (its values come from
            # the editors' routes) may name the column
            named = route in ("/openapi.json", "/ogc/api", "/console")
            assert b"internal_notes" not in response.content or named, url
    # Not a vacuous pass: every sample but the unknown job's two and the editors' routes
    # answered.
    every = [u for urls in samples.values() for u in urls]
    assert len(answered) == len(every) - 9, sorted(set(every) - set(answered))
