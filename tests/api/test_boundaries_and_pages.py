"""``/boundaries`` GeoJSON and the overview page with its vendored Leaflet."""

from __future__ import annotations

import pytest

from api.schemas import BoundariesPublic

pytestmark = pytest.mark.anyio


async def test_boundaries_filter_by_level_and_code(client):
    body = BoundariesPublic.model_validate((await client.get("/boundaries")).json())
    assert {f.properties.name for f in body.features} == {"测试区", "西街道", "东街道"}

    subs = (await client.get("/boundaries?level=subdistrict")).json()
    assert {f["properties"]["code"] for f in subs["features"]} == {"110106017000", "110106001000"}
    west = next(f for f in subs["features"] if f["properties"]["code"] == "110106017000")
    assert west["properties"]["area_km2"] == pytest.approx(47.5, rel=0.01)
    assert west["geometry"]["type"] == "MultiPolygon"

    within = (await client.get("/boundaries?within=110106000000")).json()
    assert len(within["features"]) == 3


async def test_boundaries_refuse_bad_parameters(client):
    for query in ("level=planet", "within=1101", "simplify_m=-1", "simplify_m=10000"):
        response = await client.get(f"/boundaries?{query}")
        assert response.status_code == 422, query
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/", "/map", "/embed"])
async def test_pages_use_vendored_leaflet_and_no_remote_assets(client, path):
    """The locator (/), the overview (/map) and the widget work offline: no CDN, no tiles."""
    page = await client.get(path)
    assert page.status_code == 200
    html = page.text
    assert '<script src="/static/vendor/leaflet-1.9.4/leaflet.js">' in html
    assert "https://" not in html and "http://" not in html  # works offline, no CDN
    assert '"rest_point": "暖心驿站"' in html  # labels come from geo.vocab
    script = await client.get("/static/vendor/leaflet-1.9.4/leaflet.js")
    assert script.status_code == 200
    assert "Leaflet" in script.text[:500]
