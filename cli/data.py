"""``nuanxin load``, ``import`` and ``export``: data in and out, through ``geo``'s importers and
exporters, with their reports printed and written beside the file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from cli.errors import EXIT_PARTIAL, fail, friendly_errors
from cli.options import engine
from geo.config import get_settings
from geo.crs import CoordSystem, parse_coord_system
from geo.errors import InvalidInputError
from geo.exporters.files import (
    ENTERPRISE_FIELDS,
    STATION_FIELDS,
    ExportLayout,
    fetch_rows,
    layout_crs,
    write_boundaries,
    write_rows,
)
from geo.exporters.hsds import write_hsds
from geo.exporters.vector import LABELLED
from geo.importers._validate import ImportReport, report_as_json, write_rejections
from geo.importers.coords import parse_source_crs
from geo.importers.files import ImportKind, import_file, row_defaults
from geo.importers.tables import parse_mapping
from geo.store.db import session_scope
from geo.vocab import StationKind


def print_report(report: ImportReport, limit: int = 20) -> None:
    typer.echo(report.summary())
    for label, items in (("rejected", report.rejected), ("warning", report.warnings)):
        for item in items[:limit]:
            typer.echo(f"  {label} {item.location}: {item.column or 'row'}: {item.reason}")
        if len(items) > limit:
            typer.echo(f"  … and {len(items) - limit} more {label}")


@friendly_errors
def load(
    data_dir: Annotated[Path | None, typer.Option(help="default: the bundled data/")] = None,
) -> None:
    """Load the bundled dataset (idempotent: a second run changes nothing)."""
    from geo.importers.bundled import load_bundled

    settings = get_settings()
    for report in load_bundled(engine(settings), data_dir or settings.data_dir):
        print_report(report)


class ImportWhat(StrEnum):
    """What a file holds: rows of a table, or figures for boundaries already there."""

    STATIONS = "stations"
    ENTERPRISES = "enterprises"
    BOUNDARIES = "boundaries"
    POPULATION = "population"


@friendly_errors
def import_(
    what: Annotated[ImportWhat, typer.Argument(help="what the file holds")],
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            readable=True,
            help="GeoJSON, CSV, XLSX, GPKG, FlatGeobuf, GeoParquet, SHP, KML; "
            "boundaries also a zipped SHP",
        ),
    ],
    crs: Annotated[str, typer.Option(help="wgs84 | gcj02 | bd09 | cgcs2000 | EPSG:n")] = "wgs84",
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="'header=field'; repeatable")
    ] = None,
    source: Annotated[str | None, typer.Option(help="source name for rows without one")] = None,
    level: Annotated[
        str | None, typer.Option(help="boundaries: level for rows without one")
    ] = None,
    vintage: Annotated[
        str | None, typer.Option(help="boundaries: vintage for rows without one")
    ] = None,
    station_kind: Annotated[
        StationKind | None, typer.Option("--kind", help="stations: kind of rows without one")
    ] = None,
    ignore_unknown: Annotated[bool, typer.Option(help="boundaries: drop unmapped columns")] = False,
    strict: Annotated[bool, typer.Option(help="abort on the first bad row")] = False,
    year: Annotated[
        int | None, typer.Option(help="population: the figures' year (if the file has several)")
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option(
            exists=True, help="population: points that spread a district's total (else by area)"
        ),
    ] = None,
    weight_column: Annotated[
        str, typer.Option(help="population: the weight layer's column")
    ] = "weight",
) -> None:
    """Import a file in one transaction; rejected rows are listed and saved beside it.

    Exits 0 when every row was written (or was already there), 3 when some were rejected and
    the rest written, 1 when nothing was written (an unreadable file, --strict, or every row
    rejected).
    """
    if what is ImportWhat.POPULATION:
        _import_population(path, level=level or "subdistrict", vintage=vintage, year=year,
                           source=source, weights=weights, weight_column=weight_column,
                           strict=strict)  # fmt: skip
        return
    kind = ImportKind(what.value)
    defaults = row_defaults(kind, source=source, level=level, vintage=vintage,
                            station_kind=station_kind, kind_option="--kind")  # fmt: skip
    with Progress(transient=True) as bar, session_scope(engine(get_settings())) as session:
        task = bar.add_task(f"validating {path.name}", total=None)
        report = import_file(
            session, path, kind, strict=strict, crs=parse_source_crs(crs),
            mapping=parse_mapping(map_ or []), defaults=defaults, ignore_unknown=ignore_unknown,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
        bar.update(task, description=f"writing {path.name}")
    print_report(report)
    report_path = path.with_name(path.name + ".import-report.json")
    report_path.write_text(report_as_json(report), encoding="utf-8")
    typer.echo(f"full report: {report_path}")
    if report.rejected:
        out = write_rejections(report, path.with_name(path.name + ".rejected.csv"))
        typer.echo(f"rejected rows written to {out}")
        if not report.accepted:
            raise fail(f"every row of {path.name} was rejected; nothing was written")
        raise typer.Exit(EXIT_PARTIAL)


def _import_population(path: Path, *, level: str, vintage: str | None, year: int | None,
                       source: str | None, weights: Path | None, weight_column: str,
                       strict: bool) -> None:  # fmt: skip
    """Populations onto boundaries (geo.importers.population); exit codes as for any import."""
    import geopandas

    from geo.importers.population import import_population

    layer = geopandas.read_file(weights).to_crs(4326) if weights else None
    with session_scope(engine(get_settings())) as session:
        report = import_population(session, path, level=level, vintage=vintage, year=year,
                                   source=source, weights=layer, weight_column=weight_column,
                                   strict=strict)  # fmt: skip
    typer.echo(report.summary())
    for method in report.methods:
        typer.echo(f"  {method}")
    for item in report.rejected[:20]:
        typer.echo(f"  rejected {item.location}: {item.column or 'row'}: {item.reason}")
    if len(report.rejected) > 20:
        typer.echo(f"  … and {len(report.rejected) - 20} more rejected")
    if report.rejected:
        if not report.written:
            raise fail(f"every row of {path.name} was rejected; nothing was written")
        raise typer.Exit(EXIT_PARTIAL)


class ExportTable(StrEnum):
    STATIONS = "stations"
    ENTERPRISES = "enterprises"
    BOUNDARIES = "boundaries"
    TILES = "tiles"  # stations and boundaries as vector tiles in one .pmtiles archive


@friendly_errors
def export(
    table: Annotated[ExportTable, typer.Argument(help="what to export")],
    path: Annotated[
        Path,
        typer.Argument(
            help=".geojson, .gpkg, .fgb, .parquet, .shp, .kml, .csv or .xlsx; a folder for "
            "hsds; .pmtiles"
        ),
    ],
    crs: Annotated[str, typer.Option(help="wgs84 | gcj02 (Amap/Tencent) | bd09 (Baidu)")] = "wgs84",
    layout: Annotated[
        ExportLayout, typer.Option(help="records, a platform's bulk layout, or hsds (a folder)")
    ] = ExportLayout.RECORDS,
    max_zoom: Annotated[int, typer.Option(help="tiles: the deepest zoom drawn")] = 16,
    bbox: Annotated[
        str | None, typer.Option(help="tiles: minlon,minlat,maxlon,maxlat (default: the stations')")
    ] = None,
) -> None:
    """Export to a file; `records` files import back unchanged; `hsds` is Open Referral 3.0;
    `tiles` is a PMTiles archive of the stations and boundaries layers, for a CDN."""
    if table is ExportTable.TILES:
        _export_tiles(path, max_zoom, bbox)
        return
    try:
        system = parse_coord_system(crs)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="crs") from exc
    if table is ExportTable.BOUNDARIES:
        with engine(get_settings()).connect() as conn:
            count = write_boundaries(conn, path, crs=system)
        typer.echo(f"{count} boundaries written to {path} ({system})")
        return
    fields = STATION_FIELDS if table is ExportTable.STATIONS else ENTERPRISE_FIELDS
    if layout is not ExportLayout.RECORDS and table is not ExportTable.STATIONS:
        raise InvalidInputError("platform layouts are for stations", field="layout")
    with engine(get_settings()).connect() as conn:
        rows = fetch_rows(conn, table.value)
    if layout is ExportLayout.HSDS:
        if system is not CoordSystem.WGS84:
            raise InvalidInputError("HSDS locations are WGS-84 by definition", field="crs")
        written = write_hsds(rows, path)
        typer.echo(f"{len(rows)} stations written as HSDS 3.0: {len(written)} files in {path}")
        return
    count = write_rows(rows, path, fields=fields, crs=system, layout=layout)
    written_in = layout_crs(layout, system)
    labelled = written_in is CoordSystem.WGS84 or path.suffix.lower() in LABELLED
    note = "" if labelled else (
        f"; no CRS in the file: import it back with --crs {written_in}")  # fmt: skip
    typer.echo(f"{count} {table.value} written to {path} ({layout}, {written_in}{note})")


def _export_tiles(path: Path, max_zoom: int, bbox: str | None) -> None:
    """Draw the archive (a progress bar over its tiles) and say what is in it."""
    import asyncio

    import asyncpg

    from api.ogc.archive import write_archive
    from api.stations import parse_bbox
    from geo.errors import DatabaseUnavailableError
    from geo.store.db import resolve_database_url

    url = resolve_database_url(get_settings())
    box = parse_bbox(bbox)
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task(f"drawing {path.name}", total=None)
            report = asyncio.run(write_archive(
                url, path, max_zoom=max_zoom, box=box,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            ))  # fmt: skip
    except asyncpg.UndefinedTableError as exc:
        raise DatabaseUnavailableError("the database has no tables yet: run `nuanxin db upgrade` "
                                       "and load data (or `nuanxin up`)") from exc  # fmt: skip
    except (OSError, asyncpg.PostgresConnectionError) as exc:
        raise DatabaseUnavailableError(f"cannot reach the database: {exc}") from exc
    low, high = report.zooms
    typer.echo(f"{report.tiles:,} tiles (zoom {low}-{high}, {report.stations:,} stations) written "
               f"to {path} ({report.bytes / 1e6:.1f} MB, PMTiles v3, MVT, gzip)")  # fmt: skip
