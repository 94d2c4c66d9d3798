"""Pre-built tiles: the stations and boundaries layers in one PMTiles archive a CDN can serve.

Every tile is drawn by the very statements ``/tiles`` uses (:data:`api.ogc.tiles.LAYERS`), all
in one repeatable-read transaction, so the archive is one consistent state of the data (its
layer versions are in the metadata). Each tile holds both layers (two MVT messages
concatenated are one message with both layers), gzip-compressed, written in tile-id order by
the PMTiles project's own writer (``pmtiles``).

Which tiles: the stations' extent (or a given box), at every zoom of either layer up to
``max_zoom``. Boundaries are drawn for every tile of the extent; stations only where a station
is, so a deep zoom costs a few thousand tiles, not millions. No station is dropped at any zoom:
a tile holds every station in it (the server's statement has no thinning), and each station's
own tile is drawn.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from api.ogc.tiles import EXTENT, LAYERS, WORLD_M
from geo.errors import InvalidInputError

MAX_TILES = 200_000  # beyond, narrow the box or the zoom: the answer says which
Box = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat (WGS-84)
Progress = Callable[[int, int], None]  # (tiles drawn, tiles to draw)

_STATION_POINTS = "SELECT ST_X(geom), ST_Y(geom) FROM stations WHERE deleted_at IS NULL"
_VERSIONS = "SELECT layer, version FROM layer_versions WHERE layer IN ('stations', 'boundaries')"


@dataclass
class ArchiveReport:
    path: Path
    tiles: int = 0
    bytes: int = 0
    zooms: tuple[int, int] = (0, 0)
    box: Box = (0.0, 0.0, 0.0, 0.0)
    stations: int = 0
    versions: dict[str, int] = field(default_factory=dict)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The Web Mercator tile (x, y) holding a WGS-84 point at zoom ``z``."""
    n = 2**z
    lat = max(min(lat, 85.05112878), -85.05112878)
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_over(box: Box, z: int) -> Iterable[tuple[int, int]]:
    """Every tile (x, y) of zoom ``z`` that a lon/lat box touches."""
    x0, y1 = tile_of(box[0], box[1], z)
    x1, y0 = tile_of(box[2], box[3], z)
    return ((x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))


def plan(box: Box, points: list[tuple[float, float]], max_zoom: int,
         ) -> dict[tuple[int, int, int], tuple[bool, bool]]:  # fmt: skip
    """Each tile to draw, and which layers it gets: (stations, boundaries)."""
    stations, boundaries = LAYERS["stations"], LAYERS["boundaries"]
    wanted: dict[tuple[int, int, int], tuple[bool, bool]] = {}
    for z in range(min(stations.minzoom, boundaries.minzoom), max_zoom + 1):
        if boundaries.minzoom <= z <= boundaries.maxzoom:
            for x, y in tiles_over(box, z):
                wanted[(z, x, y)] = (False, True)
        if stations.minzoom <= z <= stations.maxzoom:
            for lon, lat in points:
                if box[0] <= lon <= box[2] and box[1] <= lat <= box[3]:
                    x, y = tile_of(lon, lat, z)
                    wanted[(z, x, y)] = (True, wanted.get((z, x, y), (False, False))[1])
    return wanted


async def write_archive(url: str, path: Path, *, max_zoom: int = 16, box: Box | None = None,
                        progress: Progress | None = None) -> ArchiveReport:  # fmt: skip
    """Draw the tiles and write ``path`` (a ``.pmtiles`` file, replaced only when complete)."""
    low = min(spec.minzoom for spec in LAYERS.values())
    top = max(spec.maxzoom for spec in LAYERS.values())
    if not low <= max_zoom <= top:
        raise InvalidInputError(f"max_zoom must be {low}..{top}", field="max_zoom")
    if path.suffix.lower() != ".pmtiles":
        raise InvalidInputError("tiles are exported as a .pmtiles archive", field="path")
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            versions = {r["layer"]: r["version"] for r in await conn.fetch(_VERSIONS)}
            points = [(r[0], r[1]) for r in await conn.fetch(_STATION_POINTS)]
            if box is None:
                if not points:
                    raise InvalidInputError("there are no stations to export: give --bbox")
                lons, lats = [p[0] for p in points], [p[1] for p in points]
                pad = 0.01  # ~1 km around the outermost stations
                box = (min(lons) - pad, min(lats) - pad, max(lons) + pad, max(lats) + pad)
            wanted = plan(box, points, max_zoom)
            if len(wanted) > MAX_TILES:
                raise InvalidInputError(f"{len(wanted):,} tiles: at most {MAX_TILES:,}; lower "
                                        "--max-zoom or narrow --bbox")  # fmt: skip
            tiles = await _draw_all(conn, wanted, progress)
    finally:
        await conn.close()
    if not tiles:
        raise InvalidInputError("nothing to draw there: no boundary or station in the box",
                                field="bbox")  # fmt: skip
    report = ArchiveReport(path, len(tiles), 0, (min(z for z, _, _ in wanted),
                           max(z for z, _, _ in wanted)), box, len(points), versions)  # fmt: skip
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            writer = Writer(out)  # type: ignore[no-untyped-call]
            for tile_id, data in sorted(tiles.items()):
                writer.write_tile(tile_id, data)  # type: ignore[no-untyped-call]
            writer.finalize(_header(report), _metadata(report))  # type: ignore[no-untyped-call]
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)  # never left behind, whatever happened
    report.bytes = path.stat().st_size
    return report


async def _draw_all(conn: asyncpg.Connection, wanted: dict[tuple[int, int, int], tuple[bool, bool]],
                    progress: Progress | None) -> dict[int, bytes]:  # fmt: skip
    statements = {name: await conn.prepare(spec.tile_sql) for name, spec in LAYERS.items()}
    tiles: dict[int, bytes] = {}
    for done, ((z, x, y), (with_stations, with_boundaries)) in enumerate(sorted(wanted.items())):
        tolerance_m = WORLD_M / 2**z / EXTENT
        parts = []
        for name, needed in (("boundaries", with_boundaries), ("stations", with_stations)):
            if needed:
                row = await statements[name].fetchrow(z, x, y, tolerance_m)
                if row["tile"]:
                    parts.append(bytes(row["tile"]))
        if parts:
            tiles[zxy_to_tileid(z, x, y)] = gzip.compress(b"".join(parts), mtime=0)
        if progress is not None:
            progress(done + 1, len(wanted))
    return tiles


def _e7(degrees: float) -> int:
    return round(degrees * 10_000_000)


def _header(report: ArchiveReport) -> dict[str, Any]:
    minlon, minlat, maxlon, maxlat = report.box
    low, high = report.zooms
    return {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_lon_e7": _e7(minlon), "min_lat_e7": _e7(minlat),
        "max_lon_e7": _e7(maxlon), "max_lat_e7": _e7(maxlat),
        "center_zoom": min(max(low, 12), high),
        "center_lon_e7": _e7((minlon + maxlon) / 2), "center_lat_e7": _e7((minlat + maxlat) / 2),
    }  # fmt: skip


def _metadata(report: ArchiveReport) -> dict[str, Any]:
    """TileJSON-like, as PMTiles readers expect: each layer's fields and zooms."""
    return {
        "name": "nuanxin",
        "description": "Union stations, rest points and administrative boundaries (WGS-84 data, "
        "Web Mercator tiles)",
        "attribution": "Nuanxin 暖心",
        "vector_layers": [
            {
                "id": spec.name,
                "description": spec.description,
                "fields": spec.fields,
                "minzoom": spec.minzoom,
                "maxzoom": min(spec.maxzoom, report.zooms[1]),
            }
            for spec in LAYERS.values()
        ],
        "nuanxin:layer_versions": report.versions,
        "nuanxin:stations": report.stations,
    }
