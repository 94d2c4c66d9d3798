"""``/tiles``: decoded tiles hold the right features where they belong; ETags, 304s, TileJSON,
limits; the cache is invalidated by any committed edit and by nothing else.

Tiles are decoded by the small protobuf reader below (the MVT 2.1 schema), so a test sees
what a map client would: layer names, feature ids, properties and tile-unit positions.

Longer than ~400 lines: the tests share the MVT decoder below and the live cache fixtures.
"""

from __future__ import annotations

import gzip
import math
from typing import Any

import asyncpg
import httpx
import pytest

from api.app import create_app
from api.deps import get_connection, get_read_connection
from api.ogc.tiles import EXTENT, TileCache
from geo.config import Settings
from geo.store import migrate
from geo.store.db import make_engine

pytestmark = pytest.mark.anyio
MVT = "application/vnd.mapbox-vector-tile"
# Tiles over the fixture stations (lon, lat): s1 西街道工会服务站 (116.22, 39.85),
# s2 烤鸭店暖心驿站 (116.27, 39.86), s3 西街道第三工会服务站 (116.205, 39.85).
ALL_THREE = "/tiles/stations/12/3370/1552.mvt"
ONLY_S1 = "/tiles/stations/14/13481/6211.mvt"
NOWHERE = "/tiles/stations/12/0/0.mvt"
BOUNDARIES = "/tiles/boundaries/10/842/388.mvt"


# --- a minimal MVT reader -------------------------------------------------------------------
def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf: bytes):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            length, i = _varint(buf, i)
            value, i = buf[i : i + length], i + length
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, value


def _packed(buf: bytes) -> list[int]:
    out, i = [], 0
    while i < len(buf):
        value, i = _varint(buf, i)
        out.append(value)
    return out


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(buf: bytes) -> Any:
    for number, value in _fields(buf):
        if number == 1:
            return value.decode()
        if number in {4, 5}:
            return value
        if number == 6:
            return _zigzag(value)
        if number == 7:
            return bool(value)
    raise ValueError("float values are not used by our layers")


def decode(data: bytes) -> dict[str, dict[str, Any]]:
    """{layer: {"extent": int, "features": [{"id", "type", "properties", "geometry"}]}}."""
    layers = {}
    for number, layer_buf in _fields(data):
        assert number == 3, "a tile holds only layers"
        name, extent, keys, values, raw = None, 4096, [], [], []
        for n, value in _fields(layer_buf):
            if n == 1:
                name = value.decode()
            elif n == 2:
                raw.append(value)
            elif n == 3:
                keys.append(value.decode())
            elif n == 4:
                values.append(_value(value))
            elif n == 5:
                extent = value
        features = []
        for feature_buf in raw:
            feature = {"id": None, "type": None, "properties": {}, "geometry": []}
            for n, value in _fields(feature_buf):
                if n == 1:
                    feature["id"] = value
                elif n == 2:
                    tags = _packed(value)
                    pairs = zip(tags[::2], tags[1::2], strict=True)
                    feature["properties"] = {keys[k]: values[v] for k, v in pairs}
                elif n == 3:
                    feature["type"] = value
                elif n == 4:
                    feature["geometry"] = _packed(value)
            features.append(feature)
        layers[name] = {"extent": extent, "features": features}
    return layers


def point_of(feature: dict[str, Any]) -> tuple[int, int]:
    command, dx, dy = feature["geometry"]
    assert feature["type"] == 1 and command == (1 << 3) | 1  # POINT, one MoveTo
    return _zigzag(dx), _zigzag(dy)


def tile_units(lon: float, lat: float, z: int, x: int, y: int) -> tuple[float, float]:
    """Where (lon, lat) falls inside tile z/x/y, in tile units (Web Mercator, y down)."""
    n = 2**z
    fx = (lon + 180) / 360 * n
    fy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return (fx - x) * EXTENT, (fy - y) * EXTENT


def by_name(tile: bytes, layer: str = "stations") -> dict[str, dict[str, Any]]:
    return {f["properties"]["name"]: f for f in decode(tile)[layer]["features"]}


# --- tiles ----------------------------------------------------------------------------------
async def test_a_tile_holds_the_stations_inside_with_their_properties(client, api_conn):
    response = await client.get(ALL_THREE)
    assert response.status_code == 200
    assert response.headers["content-type"] == MVT
    layers = decode(response.content)
    assert set(layers) == {"stations"}
    assert layers["stations"]["extent"] == EXTENT
    features = by_name(response.content)
    ids = dict(await api_conn.fetch("SELECT name, id FROM stations"))
    assert set(features) == set(ids)

    s1, duck, s3 = (
        features["西街道工会服务站"],
        features["烤鸭店暖心驿站"],
        features["西街道第三工会服务站"],
    )
    assert s1["properties"] == {
        "id": ids["西街道工会服务站"], "kind": "subdistrict_station", "name": "西街道工会服务站",
        "status": "open", "amenities": "hot_water,seating,toilet",
        "opening_hours": "Mo-Fr 09:00-20:00; Sa 09:00-20:00",
    }  # fmt: skip
    assert duck["properties"]["amenities"] == "hot_water,microwave,phone_charging"
    assert duck["properties"]["kind"] == "rest_point"
    assert s3["properties"]["status"] == "planned"
    assert s3["properties"]["amenities"] == ""
    assert all(f["id"] == f["properties"]["id"] for f in features.values())
    # Positions: WGS-84 storage projected to Web Mercator, within rounding to the tile grid.
    for feature, (lon, lat) in [(s1, (116.22, 39.85)), (duck, (116.27, 39.86)),
                                (s3, (116.205, 39.85))]:  # fmt: skip
        px, py = point_of(feature)
        ex, ey = tile_units(lon, lat, 12, 3370, 1552)
        assert abs(px - ex) <= 1 and abs(py - ey) <= 1, (feature["properties"]["name"], px, ex)


async def test_a_small_tile_holds_only_the_station_on_it(client):
    response = await client.get(ONLY_S1)
    assert response.status_code == 200
    assert set(by_name(response.content)) == {"西街道工会服务站"}
    px, py = point_of(by_name(response.content)["西街道工会服务站"])
    assert 0 <= px < EXTENT and 0 <= py < EXTENT


async def test_a_tile_elsewhere_is_empty_204_with_validators(client):
    response = await client.get(NOWHERE)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["etag"].startswith('"stations-')
    again = await client.get(NOWHERE, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_boundaries_tile_holds_current_boundaries_as_polygons(client, api_conn):
    response = await client.get(BOUNDARIES)
    assert response.status_code == 200
    features = decode(response.content)["boundaries"]["features"]
    assert {f["properties"]["code"] for f in features} == {
        "110106000000", "110106017000", "110106001000"}  # fmt: skip
    assert all(f["type"] == 3 for f in features)  # POLYGON
    east = next(f for f in features if f["properties"]["name"] == "东街道")
    assert set(east["properties"]) == {"code", "name", "level"}
    assert east["properties"]["level"] == "subdistrict"

    await api_conn.execute(
        "UPDATE boundaries SET valid_from = '2000-01-01', valid_to = '2021-01-01' "
        "WHERE code = '110106001000'"
    )
    retired = decode((await client.get(BOUNDARIES)).content)["boundaries"]["features"]
    assert {f["properties"]["name"] for f in retired} == {"测试区", "西街道"}


# --- limits and errors ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/tiles/stations/7/105/48.mvt", 404, "8..18"),
        ("/tiles/stations/19/0/0.mvt", 404, "8..18"),
        ("/tiles/boundaries/5/26/12.mvt", 404, "6..16"),
        ("/tiles/boundaries/17/0/0.mvt", 404, "6..16"),
        ("/tiles/stations/8/256/0.mvt", 400, "0..255"),
        ("/tiles/stations/8/0/256.mvt", 400, "0..255"),
        ("/tiles/stations/8/-1/0.mvt", 400, "0..255"),
        ("/tiles/enterprises/8/0/0.mvt", 404, "stations, boundaries"),
        ("/tiles/enterprises.json", 404, "stations, boundaries"),
        ("/tiles/stations/8/a/0.mvt", 422, "x"),
        ("/tiles/stations/12/3370/1552.mvt?v=-1", 422, "v"),
    ],
)
async def test_limits_give_a_problem_that_says_why(client, path, status, says):
    response = await client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert says in body["detail"]


async def test_missing_version_table_is_a_503_problem(client, api_conn):
    await api_conn.execute("DROP TABLE layer_versions CASCADE")  # rolled back after the test
    response = await client.get(ALL_THREE)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "database_unavailable"


async def test_tile_routes_are_documented(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    tile = paths["/tiles/{layer}/{z}/{x}/{y}.mvt"]["get"]
    assert {"200", "204", "304", "400", "404"} <= set(tile["responses"])
    for parameter in tile["parameters"] + paths["/tiles/{layer}.json"]["get"]["parameters"]:
        assert parameter.get("description") and parameter.get("examples"), parameter["name"]


# --- TileJSON -------------------------------------------------------------------------------
async def test_tilejson_describes_the_layer_and_its_urls_work(client, api_conn):
    response = await client.get("/tiles/stations.json")
    assert response.status_code == 200
    doc = response.json()
    version = await api_conn.fetchval("SELECT version FROM layer_versions WHERE layer='stations'")
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == [f"http://test/tiles/stations/{{z}}/{{x}}/{{y}}.mvt?v={version}"]
    assert (doc["minzoom"], doc["maxzoom"], doc["scheme"]) == (8, 18, "xyz")
    assert doc["bounds"] == pytest.approx([116.205, 39.85, 116.27, 39.86])
    assert doc["center"][:2] == pytest.approx([116.2375, 39.855])
    [layer] = doc["vector_layers"]
    assert layer["id"] == "stations"
    assert set(layer["fields"]) == {"id", "kind", "name", "status", "amenities", "opening_hours"}
    url = doc["tiles"][0].format(z=12, x=3370, y=1552)
    assert len(by_name((await client.get(url)).content)) == 3

    boundaries = (await client.get("/tiles/boundaries.json")).json()
    assert boundaries["bounds"] == pytest.approx([116.2, 39.8, 116.3, 39.9])
    assert (boundaries["minzoom"], boundaries["maxzoom"]) == (6, 16)
    assert set(boundaries["vector_layers"][0]["fields"]) == {"id", "code", "name", "level"}


async def test_tilejson_revalidates_and_changes_with_the_data(client, api_conn):
    first = await client.get("/tiles/stations.json")
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    assert (
        await client.get("/tiles/stations.json", headers={"If-None-Match": etag})
    ).status_code == 304
    await api_conn.execute("UPDATE stations SET name = name || '!' WHERE external_id = 's1'")
    second = await client.get("/tiles/stations.json", headers={"If-None-Match": etag})
    assert second.status_code == 200
    assert second.json()["tiles"] != first.json()["tiles"]


# --- validators and encodings ---------------------------------------------------------------
async def test_etag_and_if_none_match(client):
    first = await client.get(ALL_THREE)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "public, max-age=60, must-revalidate"
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get(ALL_THREE, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
    assert (await client.get(ALL_THREE, headers={"If-None-Match": '"other"'})).status_code == 200
    assert (await client.get(ONLY_S1)).headers["etag"] != etag


async def test_gzip_and_identity_are_two_representations_of_one_tile(client):
    zipped = await client.get(ALL_THREE, headers={"Accept-Encoding": "gzip"})
    plain = await client.get(ALL_THREE, headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.content == plain.content  # httpx gunzips on reading
    async with client.stream("GET", ALL_THREE, headers={"Accept-Encoding": "gzip"}) as wire:
        raw = b"".join([chunk async for chunk in wire.aiter_raw()])
    assert gzip.decompress(raw) == plain.content
    assert zipped.headers["etag"] != plain.headers["etag"]
    refused = await client.get(ALL_THREE, headers={"Accept-Encoding": "br, gzip;q=0"})
    assert "content-encoding" not in refused.headers
    assert refused.headers["etag"] == plain.headers["etag"]
    assert zipped.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"


# --- cache and invalidation -----------------------------------------------------------------
async def test_an_edit_invalidates_the_cached_tile_at_once(client, api_conn):
    first = await client.get(ALL_THREE)
    assert first.headers["x-tile-cache"] == "miss"
    again = await client.get(ALL_THREE)
    assert again.headers["x-tile-cache"] == "hit"
    assert again.headers["etag"] == first.headers["etag"]

    await api_conn.execute(
        "UPDATE stations SET name = '西街道工会服务站（新址）' WHERE external_id = 's1'"
    )
    after = await client.get(ALL_THREE, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["x-tile-cache"] == "miss"
    assert after.headers["etag"] != first.headers["etag"]
    assert "西街道工会服务站（新址）" in by_name(after.content)
    assert "西街道工会服务站" not in by_name(after.content)


async def test_moving_a_station_moves_it_between_tiles(client, api_conn):
    assert "西街道工会服务站" in by_name((await client.get(ONLY_S1)).content)
    await api_conn.execute(
        "UPDATE stations SET geom = ST_Point(116.27, 39.86, 4326) WHERE external_id = 's1'"
    )
    assert (await client.get(ONLY_S1)).status_code == 204
    assert "西街道工会服务站" in by_name(
        (await client.get("/tiles/stations/14/13483/6210.mvt")).content
    )


async def test_the_version_is_what_invalidates(client, api_conn):
    """With the triggers off an edit goes unseen: the cache really serves, the version decides."""
    first = await client.get(ALL_THREE)
    await api_conn.execute("ALTER TABLE stations DISABLE TRIGGER USER")
    await api_conn.execute("UPDATE stations SET name = 'unseen' WHERE external_id = 's1'")
    stale = await client.get(ALL_THREE)
    assert stale.headers["x-tile-cache"] == "hit"
    assert "unseen" not in by_name(stale.content)
    assert stale.headers["etag"] == first.headers["etag"]


async def test_statements_that_change_nothing_keep_the_cache(client, api_conn):
    first = await client.get(ALL_THREE)
    await api_conn.execute("UPDATE stations SET name = 'x' WHERE false")
    await api_conn.execute("DELETE FROM stations WHERE false")
    again = await client.get(ALL_THREE)
    assert again.headers["x-tile-cache"] == "hit"
    assert again.headers["etag"] == first.headers["etag"]


async def test_a_boundary_edit_changes_only_the_boundaries_layer(client, api_conn):
    stations, boundaries = await client.get(ALL_THREE), await client.get(BOUNDARIES)
    versions = dict(await api_conn.fetch("SELECT layer, version FROM layer_versions"))
    await api_conn.execute(
        "UPDATE boundaries SET name = '东街道（新）' WHERE code = '110106001000'"
    )
    after = dict(await api_conn.fetch("SELECT layer, version FROM layer_versions"))
    assert after["stations"] == versions["stations"]
    assert after["boundaries"] > versions["boundaries"]

    stations_again = await client.get(ALL_THREE)
    assert stations_again.headers["etag"] == stations.headers["etag"]
    assert stations_again.headers["x-tile-cache"] == "hit"
    boundaries_again = await client.get(BOUNDARIES)
    assert boundaries_again.headers["etag"] != boundaries.headers["etag"]
    names = {
        f["properties"]["name"] for f in decode(boundaries_again.content)["boundaries"]["features"]
    }
    assert "东街道（新）" in names


async def test_insert_delete_and_truncate_bump_the_version(api_conn):
    async def version() -> int:
        return await api_conn.fetchval("SELECT version FROM layer_versions WHERE layer='stations'")

    seen = [await version()]
    await api_conn.execute(
        "INSERT INTO stations (source, external_id, kind, name, geom) "
        "VALUES ('t', 'v1', 'water_point', '饮水点', ST_Point(116.26, 39.83, 4326))"
    )
    seen.append(await version())
    await api_conn.execute("DELETE FROM stations WHERE external_id = 'v1'")
    seen.append(await version())
    await api_conn.execute("TRUNCATE stations CASCADE")
    seen.append(await version())
    assert seen == sorted(set(seen)), seen  # each one new and larger


def test_the_cache_is_an_lru_bounded_by_bytes():
    cache = TileCache(max_bytes=4_000)  # each entry below costs 300 + 200 bytes: 8 fit
    for i in range(3):
        cache.put(("t", i), bytes(300))
    assert cache.get(("t", 0)) is not None  # 0 is now the most recent
    for i in range(3, 9):
        cache.put(("t", i), bytes(300))
    assert (len(cache), cache.size_bytes) == (8, 4_000)
    assert cache.get(("t", 1)) is None  # the least recently used went first
    assert cache.get(("t", 0)) is not None
    cache.put(("huge",), bytes(600))  # more than an eighth of the cache: not kept
    assert cache.get(("huge",)) is None
    assert cache.hits == 2 and cache.misses == 2


# --- across processes, and the migration ----------------------------------------------------
async def test_a_commit_by_another_process_shows_on_the_next_request(scratch_database_url):
    engine = make_engine(scratch_database_url)
    migrate.upgrade(engine)
    pool = await asyncpg.create_pool(scratch_database_url, min_size=1, max_size=2)
    writer = await asyncpg.connect(scratch_database_url)  # stands for an import or another worker
    try:
        app = create_app(Settings(environment="test", database_url=scratch_database_url))

        async def pooled():
            async with pool.acquire() as connection:
                yield connection

        app.dependency_overrides[get_connection] = pooled
        app.dependency_overrides[get_read_connection] = pooled
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get(ONLY_S1)).status_code == 204
            await writer.execute(
                "INSERT INTO stations (source, external_id, kind, name, geom) "
                "VALUES ('t', 'p1', 'rest_point', '甲', ST_Point(116.22, 39.85, 4326))"
            )
            assert set(by_name((await http.get(ONLY_S1)).content)) == {"甲"}
            assert (await http.get(ONLY_S1)).headers["x-tile-cache"] == "hit"
            await writer.execute("UPDATE stations SET name = '乙' WHERE external_id = 'p1'")
            fresh = await http.get(ONLY_S1)
            assert fresh.headers["x-tile-cache"] == "miss"
            assert set(by_name(fresh.content)) == {"乙"}
    finally:
        await writer.close()
        await pool.close()
        migrate.downgrade(engine, "base")
        engine.dispose()


def test_migration_0003_goes_down_and_up(scratch_database_url):
    engine = make_engine(scratch_database_url)

    def state() -> tuple[bool, int, bool, bool]:
        with engine.connect() as conn:
            table = conn.exec_driver_sql("SELECT to_regclass('layer_versions')").scalar()
            triggers = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%%bump_layer_version%%'"
            ).scalar()
            function = conn.exec_driver_sql(
                "SELECT to_regprocedure('nuanxin_bump_layer_version()')"
            ).scalar()
            sequence = conn.exec_driver_sql("SELECT to_regclass('layer_version_seq')").scalar()
        return table is not None, triggers, function is not None, sequence is not None

    try:
        migrate.upgrade(engine)
        assert state() == (True, 12, True, True)  # 4 events x 3 tables (enterprises: 0007)
        with engine.connect() as conn:
            layers = conn.exec_driver_sql("SELECT layer FROM layer_versions ORDER BY 1").all()
        assert [row[0] for row in layers] == ["boundaries", "enterprises", "stations"]

        migrate.downgrade(engine, "0002")
        assert state() == (False, 0, False, False)
        with engine.begin() as conn:  # writes still work without the triggers
            conn.exec_driver_sql(
                "INSERT INTO stations (source, external_id, kind, name, geom) "
                "VALUES ('t', 'd1', 'rest_point', '丙', ST_Point(116.2, 39.8, 4326))"
            )
            conn.exec_driver_sql("DELETE FROM stations")

        migrate.upgrade(engine)
        assert state() == (True, 12, True, True)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        migrate.downgrade(engine, "base")
        engine.dispose()
