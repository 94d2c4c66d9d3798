"""``nuanxin export tiles FILE.pmtiles``: the server's tiles, pre-built in one PMTiles archive.

Read back with the PMTiles project's own reader and decoded with the tests' MVT reader: every
station is in the archive at every zoom, each tile is the server's own tile for both layers, and
bad requests leave no half-written file.
"""

from __future__ import annotations

import asyncio
import gzip

import httpx
import psycopg
import pytest
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

import api.ogc.archive as archive
from api.ogc.archive import tile_of, write_archive
from geo.config import Settings
from geo.errors import InvalidInputError
from tests.api.ogc.test_tiles import decode
from tests.browser import served
from tests.cli.test_main import run


def _open(path):
    handle = path.open("rb")
    return handle, Reader(MmapSource(handle))


def _stations(url: str) -> dict[int, tuple[float, float]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM stations "
                            "WHERE deleted_at IS NULL").fetchall()  # fmt: skip
    return {r[0]: (r[1], r[2]) for r in rows}


def test_every_station_is_in_the_archive_at_every_zoom_and_tiles_are_the_servers(
    engine, database_url, tmp_path
):
    path = tmp_path / "nuanxin.pmtiles"
    report = asyncio.run(write_archive(database_url, path, max_zoom=18))
    stations = _stations(database_url)
    assert report.stations == len(stations) and report.zooms == (6, 18)

    handle, reader = _open(path)
    with handle:
        header, meta = reader.header(), reader.metadata()
        assert header["tile_type"] == TileType.MVT
        assert header["tile_compression"] == Compression.GZIP
        assert {layer["id"] for layer in meta["vector_layers"]} == {"stations", "boundaries"}
        tiles = {(z, x, y): gzip.decompress(data)
                 for (z, x, y), data in all_tiles(MmapSource(handle))}  # fmt: skip
    assert len(tiles) == report.tiles
    for z in range(8, 19):  # the stations layer's zooms
        seen = {f["id"] for (tz, _, _), tile in tiles.items() if tz == z
                for f in decode(tile).get("stations", {}).get("features", [])}  # fmt: skip
        assert seen == set(stations), f"zoom {z}: {set(stations) - seen} dropped"
    for z in range(6, 17):  # boundaries at every one of theirs
        assert any("boundaries" in decode(t) for (tz, _, _), t in tiles.items() if tz == z), z
    assert not any("stations" in decode(t) for (tz, _, _), t in tiles.items() if tz < 8)

    # each tile is the server's, layer by layer
    lon, lat = next(iter(stations.values()))
    with served(Settings(environment="test", database_url=database_url)) as base:
        for z in (8, 12, 16):
            x, y = tile_of(lon, lat, z)
            ours = decode(tiles[(z, x, y)])
            for layer in ("stations", "boundaries"):
                served_tile = httpx.get(f"{base}/tiles/{layer}/{z}/{x}/{y}.mvt", timeout=20)
                assert ours[layer] == decode(served_tile.content)[layer], (layer, z)


def test_bad_requests_are_refused_and_leave_no_file(engine, database_url, tmp_path, monkeypatch):
    with pytest.raises(InvalidInputError, match=r"\.pmtiles"):
        asyncio.run(write_archive(database_url, tmp_path / "tiles.mbtiles"))
    for zoom in (25, 3):  # past every layer, or before any
        with pytest.raises(InvalidInputError, match=r"max_zoom must be 6\.\.18"):
            asyncio.run(write_archive(database_url, tmp_path / "deep.pmtiles", max_zoom=zoom))
    with pytest.raises(InvalidInputError, match="nothing to draw there"):  # mid-ocean
        asyncio.run(write_archive(database_url, tmp_path / "sea.pmtiles", max_zoom=10,
                                  box=(-150.0, -40.0, -149.9, -39.9)))  # fmt: skip
    kept = tmp_path / "kept.pmtiles"
    kept.write_bytes(b"the previous archive")
    monkeypatch.setattr(archive, "MAX_TILES", 10)
    with pytest.raises(InvalidInputError, match="at most 10; lower --max-zoom or narrow --bbox"):
        asyncio.run(write_archive(database_url, kept, max_zoom=16))
    assert kept.read_bytes() == b"the previous archive"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.pmtiles"]


def test_the_cli_writes_an_archive_and_says_what_is_in_it(engine, database_url, tmp_path):
    path = tmp_path / "cdn.pmtiles"
    result = run("export", "tiles", str(path), "--max-zoom", "12", url=database_url)
    assert "tiles (zoom 6-12, 3 stations) written to" in result.stdout
    handle, reader = _open(path)
    with handle:
        assert reader.header()["max_zoom"] == 12
    bad = run("export", "tiles", str(tmp_path / "x.pmtiles"), "--bbox", "1,2,3", url=database_url,
              check=False)  # fmt: skip
    assert bad.returncode != 0 and "bbox must be" in bad.stderr and "Traceback" not in bad.stderr
