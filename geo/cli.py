"""The ``nuanxin`` command. ``nuanxin up`` is the main job: database, schema, data, service.

Errors this project raises on purpose print their message and exit 1, without a traceback.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.progress import Progress
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from geo import migrate
from geo.config import Settings, get_settings
from geo.crs import CoordSystem, parse_coord_system
from geo.db import make_engine, resolve_database_url, session_scope
from geo.errors import GeoError, InvalidInputError
from geo.exporters import (
    ENTERPRISE_FIELDS,
    STATION_FIELDS,
    ExportLayout,
    fetch_rows,
    layout_crs,
    write_boundaries,
    write_rows,
)
from geo.hsds import write_hsds
from geo.importers._validate import ImportReport, report_as_json, write_rejections
from geo.importers.coords import parse_source_crs
from geo.importers.files import ImportKind, import_file
from geo.models import explain_constraint

app = typer.Typer(help="Nuanxin: map service for union stations and outdoor-worker rest points.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
db_app = typer.Typer(help="Create, start and migrate the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Show a GeoError or a lost database as one readable line and exit 1.

    Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GeoError as exc:
            typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from exc
        except IntegrityError as exc:
            diag = getattr(exc.orig, "diag", None)
            _, message = explain_constraint(getattr(diag, "constraint_name", None),
                                            getattr(diag, "message_detail", None))  # fmt: skip
            typer.secho(f"error: {message}; nothing was written", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from exc
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
            typer.secho(f"error: cannot reach the database: {reason}", fg=typer.colors.RED,
                        err=True)  # fmt: skip
            raise typer.Exit(1) from exc

    return wrapper  # type: ignore[return-value]


def _engine(settings: Settings) -> Engine:
    return make_engine(resolve_database_url(settings))


def _print_report(report: ImportReport, limit: int = 20) -> None:
    typer.echo(report.summary())
    for label, items in (("rejected", report.rejected), ("warning", report.warnings)):
        for item in items[:limit]:
            typer.echo(f"  {label} {item.location}: {item.column or 'row'}: {item.reason}")
        if len(items) > limit:
            typer.echo(f"  … and {len(items) - limit} more {label}")


@db_app.command("url")
@friendly_errors
def db_url() -> None:
    """Start the local cluster if needed and print the database URL (contains the password)."""
    typer.echo(resolve_database_url(get_settings()))


@db_app.command("upgrade")
@friendly_errors
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    engine = _engine(get_settings())
    migrate.upgrade(engine, revision)
    typer.echo(f"schema at revision {migrate.current_revision(engine)}")


@db_app.command("downgrade")
@friendly_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="target, e.g. base")]) -> None:
    """Revert migrations down to REVISION ('base' drops every table of the project)."""
    engine = _engine(get_settings())
    migrate.downgrade(engine, revision)
    typer.echo(f"schema at revision {migrate.current_revision(engine) or 'base'}")


@db_app.command("current")
@friendly_errors
def db_current() -> None:
    """Print the schema revision the database is at, and the newest one available."""
    engine = _engine(get_settings())
    typer.echo(f"current: {migrate.current_revision(engine) or 'base'}")
    typer.echo(f"head:    {migrate.head_revision()}")


@app.command("load")
@friendly_errors
def load(
    data_dir: Annotated[Path | None, typer.Option(help="default: the bundled data/")] = None,
) -> None:
    """Load the bundled dataset (idempotent: a second run changes nothing)."""
    from geo.bundled import load_bundled

    settings = get_settings()
    for report in load_bundled(_engine(settings), data_dir or settings.data_dir):
        _print_report(report)


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        header, sep, field = pair.partition("=")
        if not sep or not header.strip():
            raise InvalidInputError(
                f"--map takes 'header=field' (or 'header=' to ignore), got {pair!r}"
            )
        mapping[header.strip()] = field.strip()
    return mapping


@app.command("import")
@friendly_errors
def import_(
    kind: Annotated[ImportKind, typer.Argument(help="what the file holds")],
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, readable=True, help="GeoJSON, CSV, XLSX; boundaries also SHP/zip/GPKG/KML"
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
    ignore_unknown: Annotated[bool, typer.Option(help="boundaries: drop unmapped columns")] = False,
    strict: Annotated[bool, typer.Option(help="abort on the first bad row")] = False,
) -> None:
    """Import a file in one transaction; rejected rows are listed and saved beside it."""
    defaults = {
        k: v for k, v in {"source": source, "level": level, "vintage": vintage}.items() if v
    }
    with Progress(transient=True) as bar, session_scope(_engine(get_settings())) as session:
        task = bar.add_task(f"validating {path.name}", total=None)
        report = import_file(
            session, path, kind, strict=strict, crs=parse_source_crs(crs),
            mapping=_parse_mapping(map_ or []), defaults=defaults, ignore_unknown=ignore_unknown,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
        bar.update(task, description=f"writing {path.name}")
    _print_report(report)
    report_path = path.with_name(path.name + ".import-report.json")
    report_path.write_text(report_as_json(report), encoding="utf-8")
    typer.echo(f"full report: {report_path}")
    if report.rejected:
        out = write_rejections(report, path.with_name(path.name + ".rejected.csv"))
        typer.echo(f"rejected rows written to {out}")


class ExportTable(StrEnum):
    STATIONS = "stations"
    ENTERPRISES = "enterprises"
    BOUNDARIES = "boundaries"


@app.command("export")
@friendly_errors
def export(
    table: Annotated[ExportTable, typer.Argument(help="what to export")],
    path: Annotated[Path, typer.Argument(help=".geojson, .gpkg, .csv or .xlsx; a folder for hsds")],
    crs: Annotated[str, typer.Option(help="wgs84 | gcj02 (Amap/Tencent) | bd09 (Baidu)")] = "wgs84",
    layout: Annotated[
        ExportLayout, typer.Option(help="records, a platform's bulk layout, or hsds (a folder)")
    ] = ExportLayout.RECORDS,
) -> None:
    """Export to a file; `records` files import back unchanged; `hsds` is Open Referral 3.0."""
    try:
        system = parse_coord_system(crs)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="crs") from exc
    if table is ExportTable.BOUNDARIES:
        with _engine(get_settings()).connect() as conn:
            count = write_boundaries(conn, path)
        typer.echo(f"{count} boundaries written to {path}")
        return
    fields = STATION_FIELDS if table is ExportTable.STATIONS else ENTERPRISE_FIELDS
    if layout is not ExportLayout.RECORDS and table is not ExportTable.STATIONS:
        raise InvalidInputError("platform layouts are for stations", field="layout")
    with _engine(get_settings()).connect() as conn:
        rows = fetch_rows(conn, table.value)
    if layout is ExportLayout.HSDS:
        if system is not CoordSystem.WGS84:
            raise InvalidInputError("HSDS locations are WGS-84 by definition", field="crs")
        written = write_hsds(rows, path)
        typer.echo(f"{len(rows)} stations written as HSDS 3.0: {len(written)} files in {path}")
        return
    count = write_rows(rows, path, fields=fields, crs=system, layout=layout)
    typer.echo(f"{count} {table.value} written to {path} ({layout}, {layout_crs(layout, system)})")


class WorkerWeight(StrEnum):
    OUTDOOR_WORKERS = "outdoor_workers"
    EMPLOYEES = "employees"
    NONE = "none"


def _parse_time(value: str | None) -> datetime | None:
    """ISO time; without a zone it is Beijing time, which is what a planner means."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(f"--at {value!r} is not an ISO time such as 2026-11-29T05:00",
                                field="at") from exc  # fmt: skip
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


@app.command("coverage")
@friendly_errors
def coverage(
    boundary: Annotated[
        list[str] | None,
        typer.Option(help="code of a boundary or of its parent (e.g. a district); repeatable"),
    ] = None,
    level: Annotated[str, typer.Option(help="boundary level analysed")] = "subdistrict",
    vintage: Annotated[str | None, typer.Option(help="boundary edition, if several")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="station kind; repeatable")] = None,
    status: Annotated[list[str] | None, typer.Option(help="station status; default open")] = None,
    at: Annotated[
        str | None, typer.Option(help="only stations open then, e.g. 2026-11-29T05:00")
    ] = None,
    radius: Annotated[float, typer.Option(help="straight-line radius, metres")] = 1000.0,
    walk: Annotated[float, typer.Option(help="walking minutes")] = 15.0,
    speed: Annotated[float, typer.Option(help="walking speed, metres per minute")] = 80.0,
    detour: Annotated[float, typer.Option(help="street / straight-line distance")] = 1.3,
    resolution: Annotated[int, typer.Option(help="H3 resolution of the demand grid")] = 9,
    workers: Annotated[
        WorkerWeight, typer.Option(help="weight enterprises' workers by")
    ] = WorkerWeight.OUTDOOR_WORKERS,
    what_if: Annotated[
        Path | None, typer.Option(exists=True, help="CSV/GeoJSON of add/move/open/close")
    ] = None,
    what_if_crs: Annotated[str, typer.Option(help="coordinates in the what-if file")] = "wgs84",
    weights: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            help="where people live: a raster (.tif) or points with a "
            "weight column (GeoJSON/GPKG, WGS-84)",
        ),
    ] = None,
    weight_column: Annotated[str, typer.Option(help="column of the weight points")] = "weight",
    network: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            help="walk along these streets: an OSM extract (.osm, "
            ".osm.pbf) or lines (GeoJSON/GPKG/SHP); default straight line × detour",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="folder for CSV, GeoJSON, PNG, method")] = None,
    top: Annotated[int, typer.Option(help="rows shown in the terminal")] = 15,
) -> None:
    """Who is far from a station, per boundary, ranked from the most underserved."""
    from geo.coverage import CoverageParams, analyse, demand_cells, worker_points
    from geo.coverage_io import (
        load_boundaries,
        load_enterprises,
        load_stations,
        population_note,
    )
    from geo.coverage_report import write_report
    from geo.supply import DEFAULT_STATUSES, select_supply
    from geo.whatif import apply_changes, compare, read_changes

    params = CoverageParams(radius_m=radius, walk_min=walk, walk_speed_m_per_min=speed,
                            detour_factor=detour, h3_resolution=resolution)  # fmt: skip
    moment = _parse_time(at)
    try:
        change_crs = parse_coord_system(what_if_crs)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="what_if_crs") from exc
    changes = read_changes(what_if, change_crs) if what_if else None
    with _engine(get_settings()).connect() as conn:
        boundaries = load_boundaries(conn, level=level, vintage=vintage, codes=boundary or [])
        stations = load_stations(conn)
        enterprises = load_enterprises(conn) if workers is not WorkerWeight.NONE else None
    demand = worker_points(enterprises, workers.value) if enterprises is not None else None
    cells = demand_cells(boundaries, params.h3_resolution)
    demand_note = None
    if weights is not None:
        cells, demand_note = _reweighted(cells, weights, weight_column, params.h3_resolution)

    lines = None
    if network is not None:
        from geo.network import read_network_lines

        lines = read_network_lines(network)
        lines.attrs["source"] = network.name

    def run(station_table: Any) -> Any:
        supply = select_supply(station_table, kinds=kind, statuses=status or DEFAULT_STATUSES,
                               at=moment)  # fmt: skip
        result = analyse(boundaries, supply.stations, params, cells=cells, workers=demand,
                         supply=supply.description, demand=demand_note,
                         network=lines)  # fmt: skip
        note = {"population": population_note(boundaries)}
        return dataclasses.replace(result, method={**result.method, **note}), supply

    result, supply = run(stations)
    comparison = None
    if changes:
        # The ranking and the report stay today's; the change table says what the plan does.
        after, _ = run(apply_changes(stations, changes))
        comparison = compare(result.per_boundary, after.per_boundary)
    _print_coverage(result.per_boundary, result.method, top)
    if comparison is not None:
        _print_what_if(comparison, top)
    if out:
        written = write_report(result, boundaries, out, stations=supply.stations,
                               what_if=comparison)  # fmt: skip
        typer.echo(f"report: {', '.join(str(path) for path in written)}")


def _reweighted(cells: Any, path: Path, column: str, resolution: int) -> tuple[Any, str]:
    """Cells re-spread by a raster or weight points, and the sentence saying so."""
    import geopandas

    from geo.demand import reweight, weights_from_points, weights_from_raster

    if path.suffix.lower() in (".tif", ".tiff", ".vrt", ".img"):
        values = weights_from_raster(cells, path)
        source = f"raster {path.name} sampled at cell centres"
    else:
        values = weights_from_points(cells, geopandas.read_file(path), resolution, column)
        source = f"points of {path.name} weighted by {column}"
    cells, untouched = reweight(cells, values)
    note = f"boundary population spread over H3 cells (resolution {resolution}) by {source}"
    if untouched:
        note += f"; {untouched} boundaries with no weight kept a uniform spread by area"
    return cells, note


def _console() -> Any:
    """Rich output; when piped to a file it is wide, since nothing wraps it there."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def _print_coverage(table: Any, method: dict[str, str], top: int) -> None:
    from rich.table import Table

    view = Table(title="Underserved ranking today (1 = most underserved)")
    for header in ("rank", "code", "name", "residents", "stations", "within 1 km",
                   "within walk", "2+ in walk", "p90 m", "beyond walk", "score"):  # fmt: skip
        view.add_column(header, justify="left" if header in ("code", "name") else "right")
    for row in table.head(top).itertuples():
        view.add_row(
            str(row.rank), row.code, row.name, f"{row.residents:,.0f}", str(row.stations),
            f"{row.share_within_radius:.0%}", f"{row.share_within_walk:.0%}",
            f"{row.share_two_plus:.0%}", f"{row.p90_nearest_m:,.0f}",
            f"{row.uncovered_residents:,.0f}", f"{row.score:.2f}",
        )  # fmt: skip
    console = _console()
    console.print(view)
    for key, value in method.items():
        console.print(f"{key}: {value}", highlight=False)


def _print_what_if(table: Any, top: int) -> None:
    from rich.table import Table

    view = Table(title="What-if: change per boundary (largest gain first)")
    for header in ("code", "name", "stations", "within walk", "beyond walk", "rank"):
        view.add_column(header, justify="left" if header in ("code", "name") else "right")
    changed = table[table["uncovered_residents_change"].abs() > 0.5]
    for row in changed.head(top).itertuples():
        view.add_row(
            row.code, row.name,
            f"{row.stations_before:.0f} → {row.stations_after:.0f}",
            f"{row.share_within_walk_before:.0%} → {row.share_within_walk_after:.0%}",
            f"{row.uncovered_residents_before:,.0f} → {row.uncovered_residents_after:,.0f}",
            f"{row.rank_before:.0f} → {row.rank_after:.0f}",
        )  # fmt: skip
    console = _console()
    if changed.empty:
        console.print("what-if: no boundary changed (are the changed stations open then?)")
        return
    console.print(view)


@app.command("serve")
@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(help="default from settings")] = None,
    port: Annotated[int | None, typer.Option(help="default from settings")] = None,
) -> None:
    """Serve the API and map (the database must be migrated; see `nuanxin up`)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run("api.app:create_app", factory=True, host=host or settings.api.host,
                port=port or settings.api.port, proxy_headers=False)  # fmt: skip


@app.command("up")
@friendly_errors
def up(
    host: Annotated[str | None, typer.Option(help="default from settings")] = None,
    port: Annotated[int | None, typer.Option(help="default from settings")] = None,
) -> None:
    """The main job: start the database, migrate, load the bundled data, serve."""
    from geo.bundled import load_bundled

    settings = get_settings()
    engine = _engine(settings)
    migrate.upgrade(engine)
    for report in load_bundled(engine, settings.data_dir):
        _print_report(report)
    engine.dispose()
    serve(host, port)


def main() -> None:
    app()
