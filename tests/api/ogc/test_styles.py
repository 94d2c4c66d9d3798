"""``/styles/nuanxin.json``: a MapLibre style whose sources lead to our TileJSON and tiles, in
the kind colours every other map uses. (MapLibre itself reads it in tests/maps/test_vector_page.)"""

from __future__ import annotations

import math

import httpx
import pytest

from geo.vocab import StationKind, StationStatus
from maps.pages import KIND_COLOURS
from maps.style import STATION_LAYERS, vector_style


@pytest.fixture(scope="module")
def style(bundled_server) -> dict:
    answer = httpx.get(f"{bundled_server}/styles/nuanxin.json", timeout=20)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert "max-age" in answer.headers["cache-control"]
    return answer.json()


def test_sources_lead_to_tilejson_and_to_tiles_with_data(bundled_server, style):
    assert style["version"] == 8
    assert set(style["sources"]) == {"stations", "boundaries"}
    for name, source in style["sources"].items():
        assert source["type"] == "vector"
        assert source["url"] == f"{bundled_server}/tiles/{name}.json"
        tilejson = httpx.get(source["url"], timeout=20).json()
        assert [layer["id"] for layer in tilejson["vector_layers"]] == [name]
        # the style's layers read only the source layers the tiles have
        used = {lyr["source-layer"] for lyr in style["layers"] if lyr.get("source") == name}
        assert used == {name}
        z = tilejson["minzoom"] + 4
        lon, lat = tilejson["center"][:2]
        x, y = _tile(lon, lat, z)
        url = tilejson["tiles"][0].format(z=z, x=x, y=y)
        assert httpx.get(url, timeout=20).status_code == 200  # the middle of the data has data
    west, south, east, north = httpx.get(style["sources"]["stations"]["url"]).json()["bounds"]
    lon, lat = style["center"]
    assert west <= lon <= east and south <= lat <= north


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2
    return int((lon + 180) / 360 * n), int(y * n)


def test_stations_are_coloured_by_kind_and_split_by_status(style):
    layers = {layer["id"]: layer for layer in style["layers"]}
    assert set(STATION_LAYERS) <= set(layers)
    for layer_id in STATION_LAYERS:
        match = layers[layer_id]["paint"]["circle-color"]
        assert match[:2] == ["match", ["get", "kind"]]
        pairs = dict(zip(match[2:-1:2], match[3:-1:2], strict=True))
        assert pairs == {str(k): KIND_COLOURS[k] for k in StationKind}
    open_filter = ["==", ["get", "status"], str(StationStatus.OPEN)]
    assert layers["stations-open"]["filter"] == open_filter
    assert layers["stations-not-open"]["filter"] == ["!", open_filter]
    assert style["metadata"]["nuanxin:station-layers"] == list(STATION_LAYERS)


def test_a_style_without_data_opens_on_beijing_and_unknown_parameters_are_refused(bundled_server):
    empty = vector_style(lambda layer: f"/tiles/{layer}.json")
    assert 116 < empty["center"][0] < 117 and 39.5 < empty["center"][1] < 40.5
    answer = httpx.get(f"{bundled_server}/styles/nuanxin.json?theme=dark", timeout=20)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert "theme" in answer.json()["detail"]
