"""OGC API – Tiles on the bundled data: tilings, tilesets, limits, tiles, and GDAL reading them.

Tile positions are computed here from the tiling definitions' own arithmetic (Web Mercator and
the CRS84 quad), not with the library the server uses, so a wrong row order, zoom shift or
limit shows as a station outside its tile.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import psycopg
import pyogrio
import pytest

from api.app import create_app
from geo.config import Settings
from tests.api.ogc.test_tiles import decode
from tests.browser import serve_process
from tests.conftest import app_client

pytestmark = pytest.mark.anyio

MVT = "application/vnd.mapbox-vector-tile"
TILED = "/ogc/collections/stations/tiles"


@pytest.fixture
async def client(bundled_database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(environment="test", database_url=bundled_database_url)
    conn = await asyncpg.connect(bundled_database_url)
    try:
        async with app_client(create_app(settings), conn) as http:
            yield http
    finally:
        await conn.close()


@pytest.fixture
async def stations(bundled_database_url: str) -> dict[int, tuple[float, float]]:
    conn = await asyncpg.connect(bundled_database_url)
    try:
        rows = await conn.fetch("SELECT id, ST_X(geom) AS x, ST_Y(geom) AS y FROM stations "
                                "WHERE deleted_at IS NULL")  # fmt: skip
    finally:
        await conn.close()
    return {r["id"]: (r["x"], r["y"]) for r in rows}


def mercator_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """(col, row) on WebMercatorQuad: the slippy-map formula."""
    n, phi = 2**z, math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(phi)) / math.pi) / 2 * n)


def crs84_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """(col, row) on WorldCRS84Quad: 2 × 1 tiles of 180° at zoom 0."""
    size = 180 / 2**z
    return int((lon + 180) / size), int((90 - lat) / size)


async def test_tilings_are_listed_and_defined(client):
    listing = (await client.get("/ogc/tileMatrixSets")).json()
    assert [t["id"] for t in listing["tileMatrixSets"]] == ["WebMercatorQuad", "WorldCRS84Quad"]
    for entry in listing["tileMatrixSets"]:
        assert (await client.get(entry["links"][0]["href"])).status_code == 200
    mercator = (await client.get("/ogc/tileMatrixSets/WebMercatorQuad")).json()
    assert mercator["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    z14 = next(m for m in mercator["tileMatrices"] if m["id"] == "14")
    assert z14["matrixWidth"] == z14["matrixHeight"] == 2**14 and z14["tileWidth"] == 256
    assert z14["pointOfOrigin"] == pytest.approx([-20037508.3427892, 20037508.3427892])
    quad = (await client.get("/ogc/tileMatrixSets/WorldCRS84Quad")).json()
    z0 = next(m for m in quad["tileMatrices"] if m["id"] == "0")
    assert (z0["matrixWidth"], z0["matrixHeight"]) == (2, 1)
    assert "CRS84" in quad["crs"]
    missing = await client.get("/ogc/tileMatrixSets/GoogleCRS84Quad")
    assert missing.status_code == 404 and "WorldCRS84Quad" in missing.json()["detail"]


async def test_collections_link_their_tilesets_and_the_landing_page_the_tilings(client):
    rel = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
    for cid, tiled in (("stations", True), ("boundaries", True), ("enterprises", False),
                       ("stations-rest_point", False)):  # fmt: skip
        links = (await client.get(f"/ogc/collections/{cid}")).json()["links"]
        assert any(x["rel"] == rel for x in links) is tiled, cid
    landing = (await client.get("/ogc")).json()["links"]
    schemes = next(
        x for x in landing if x["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"
    )
    assert (await client.get(schemes["href"])).status_code == 200  # fmt: skip
    conformance = (await client.get("/ogc/conformance")).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance


@pytest.mark.parametrize(("tms", "tile_of"), [("WebMercatorQuad", mercator_tile),
                                              ("WorldCRS84Quad", crs84_tile)])  # fmt: skip
async def test_tileset_limits_hold_every_station_and_its_tile_holds_it(client, stations, tms,
                                                                        tile_of):  # fmt: skip
    listing = (await client.get(TILED)).json()
    chosen = next(t for t in listing["tilesets"] if t["tileMatrixSetURI"].endswith(tms))
    self_link = next(x["href"] for x in chosen["links"] if x["rel"] == "self")
    tileset = (await client.get(self_link)).json()
    item = next(x for x in tileset["links"] if x["rel"] == "item")
    assert item["type"] == MVT and item["templated"] is True
    assert item["href"].endswith("/{tileMatrix}/{tileRow}/{tileCol}")
    limits = {int(x["tileMatrix"]): x for x in tileset["tileMatrixSetLimits"]}
    assert tileset["layers"][0]["id"] == "stations" and tileset["dataType"] == "vector"
    for z, limit in limits.items():
        for lon, lat in stations.values():
            col, row = tile_of(lon, lat, z)
            assert limit["minTileCol"] <= col <= limit["maxTileCol"], (z, lon)
            assert limit["minTileRow"] <= row <= limit["maxTileRow"], (z, lat)
    z = min(limits) + 5
    some_id, (lon, lat) = next(iter(stations.items()))
    col, row = tile_of(lon, lat, z)
    url = (item["href"].replace("{tileMatrix}", str(z)).replace("{tileRow}", str(row))
           .replace("{tileCol}", str(col)))  # fmt: skip
    response = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200 and response.headers["content-type"] == MVT
    assert some_id in {f["id"] for f in decode(response.content)["stations"]["features"]}


async def test_a_mercator_tile_is_the_same_tile_as_on_tiles(client, stations):
    lon, lat = next(iter(stations.values()))
    col, row = mercator_tile(lon, lat, 14)
    ogc = await client.get(f"{TILED}/WebMercatorQuad/14/{row}/{col}")
    plain = await client.get(f"/tiles/stations/14/{col}/{row}.mvt")
    assert ogc.status_code == plain.status_code == 200
    assert ogc.content == plain.content and ogc.headers["etag"] == plain.headers["etag"]
    again = await client.get(f"{TILED}/WebMercatorQuad/14/{row}/{col}",
                             headers={"If-None-Match": ogc.headers["etag"]})  # fmt: skip
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/ogc/collections/enterprises/tiles", 404, "has no tiles; tiled: stations, boundaries"),
        (f"{TILED}/GoogleCRS84Quad", 404, "offered: WebMercatorQuad, WorldCRS84Quad"),
        (f"{TILED}/WebMercatorQuad/3/0/0", 404, "tile matrices 8..18, not 3"),
        (f"{TILED}/WorldCRS84Quad/18/0/0", 404, "tile matrices 7..17, not 18"),
        (f"{TILED}/WebMercatorQuad/8/256/0", 400, "tileRow must lie within 0..255"),
        (f"{TILED}/WorldCRS84Quad/7/128/0", 400, "tileRow must lie within 0..127"),
        (f"{TILED}/WorldCRS84Quad/7/0/256", 400, "tileCol must lie within 0..255"),
        (f"{TILED}?f=png", 400, "f must be json"),
    ],
)
async def test_bad_tile_requests_say_why(client, path, status, words):
    response = await client.get(path)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


async def test_an_empty_tile_is_204(client):
    response = await client.get(f"{TILED}/WorldCRS84Quad/7/0/0")  # the Arctic, off Greenland
    assert response.status_code == 204 and not response.content


# ---- the dataset's tilesets (/ogc/tiles): both layers in one tile -----------------------------


@pytest.mark.parametrize(("tms", "zooms"), [("WebMercatorQuad", (6, 18)),
                                            ("WorldCRS84Quad", (5, 17))])  # fmt: skip
async def test_dataset_tileset_has_both_layers_and_limits_holding_every_station(
    client, stations, tms, zooms
):
    listing = (await client.get("/ogc/tiles")).json()
    assert [t["links"][0]["href"] for t in listing["tilesets"]] == [
        f"http://test/ogc/tiles/{t}" for t in ("WebMercatorQuad", "WorldCRS84Quad")
    ]
    doc = (await client.get(f"/ogc/tiles/{tms}")).json()
    layers = {layer["id"]: layer for layer in doc["layers"]}
    assert set(layers) == {"stations", "boundaries"}
    assert [layers["stations"]["minTileMatrix"], layers["boundaries"]["minTileMatrix"]] == [
        str(zooms[0] + 2),
        str(zooms[0]),
    ]
    limits = {int(lim["tileMatrix"]): lim for lim in doc["tileMatrixSetLimits"]}
    assert sorted(limits) == list(range(zooms[0], zooms[1] + 1))
    place = mercator_tile if tms == "WebMercatorQuad" else crs84_tile
    for z, lim in limits.items():
        for lon, lat in stations.values():
            col, row = place(lon, lat, z)
            assert lim["minTileCol"] <= col <= lim["maxTileCol"], (z, lon)
            assert lim["minTileRow"] <= row <= lim["maxTileRow"], (z, lat)
    geodata = [ln["href"] for ln in doc["links"] if ln["rel"].endswith("/geodata")]
    assert geodata == ["http://test/ogc/collections/stations",
                       "http://test/ogc/collections/boundaries"]  # fmt: skip


@pytest.mark.parametrize(("z", "expected"), [(7, {"boundaries"}), (12, {"stations", "boundaries"}),
                                             (17, {"stations"})])  # fmt: skip
async def test_a_dataset_tile_is_the_collections_tiles_of_its_zoom_together(
    client, stations, z, expected
):
    lon, lat = next(iter(stations.values()))
    col, row = mercator_tile(lon, lat, z)
    dataset = await client.get(f"/ogc/tiles/WebMercatorQuad/{z}/{row}/{col}")
    assert dataset.status_code == 200 and dataset.headers["content-type"] == MVT
    layers = decode(dataset.content)
    assert set(layers) == expected
    for name in expected:
        alone = await client.get(f"/tiles/{name}/{z}/{col}/{row}.mvt")
        assert layers[name] == decode(alone.content)[name]
    assert dataset.headers["etag"] != alone.headers["etag"]
    again = await client.get(f"/ogc/tiles/WebMercatorQuad/{z}/{row}/{col}",
                             headers={"If-None-Match": dataset.headers["etag"]})  # fmt: skip
    assert again.status_code == 304


async def test_a_crs84_dataset_tile_holds_its_station_and_refusals_say_why(client, stations):
    sid, (lon, lat) = next(iter(stations.items()))
    col, row = crs84_tile(lon, lat, 11)
    path = f"/ogc/tiles/WorldCRS84Quad/11/{row}/{col}"
    before = await client.get(path)
    assert sid in {f["id"] for f in decode(before.content)["stations"]["features"]}
    for bad, status, words in (
        ("/ogc/tiles/WebMercatorQuad/5/0/0", 404, "tile matrices 6..18, not 5"),
        ("/ogc/tiles/WorldCRS84Quad/18/0/0", 404, "tile matrices 5..17, not 18"),
        ("/ogc/tiles/GoogleCRS84Quad", 404, "offered: WebMercatorQuad, WorldCRS84Quad"),
        ("/ogc/tiles/WebMercatorQuad/8/256/0", 400, "tileRow must lie within 0..255"),
        ("/ogc/tiles?limit=2", 400, "unknown query parameter limit"),
    ):
        refused = await client.get(bad)
        assert refused.status_code == status and words in refused.json()["detail"], bad
    assert (await client.get("/ogc/tiles/WorldCRS84Quad/7/0/0")).status_code == 204


# ---- GDAL's OGCAPI driver, against a real server process ------------------------------------


@pytest.fixture(scope="module")
def server(bundled_database_url: str) -> Iterator[str]:
    with serve_process(bundled_database_url) as (_, base):
        yield base


def test_gdal_reads_every_station_from_the_tiles_where_it_is(server, bundled_database_url):
    with psycopg.connect(bundled_database_url) as conn:
        rows = conn.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM stations "
                            "WHERE deleted_at IS NULL").fetchall()  # fmt: skip
    truth = {r[0]: (r[1], r[2]) for r in rows}
    source = f"OGCAPI:{server}/ogc/collections/stations"
    layers = [name for name, _ in pyogrio.list_layers(source)]
    assert layers[0] == "Zoom level 7" and layers[-1] == "Zoom level 17"
    for layer, zoom in (("Zoom level 7", 7), ("Zoom level 12", 12)):
        frame = pyogrio.read_dataframe(source, layer=layer)
        assert frame.crs is not None and frame.crs.to_string() == "OGC:CRS84"
        assert sorted(frame["id"]) == sorted(truth), layer  # none dropped, none twice
        precision = 180 / 2**zoom / 4096  # one tile unit, in degrees
        for sid, point in zip(frame["id"], frame.geometry, strict=True):
            lon, lat = truth[sid]
            assert abs(point.x - lon) <= precision and abs(point.y - lat) <= precision


def test_gdal_reads_the_boundaries_tiles(server, bundled_database_url):
    with psycopg.connect(bundled_database_url) as conn:
        codes = {r[0] for r in conn.execute("SELECT code FROM boundaries WHERE valid_to IS NULL")}
    frame = pyogrio.read_dataframe(f"OGCAPI:{server}/ogc/collections/boundaries",
                                   layer="Zoom level 8")  # fmt: skip
    assert set(frame["code"]) == codes  # a boundary cut by tile edges comes in pieces
    assert set(frame.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
