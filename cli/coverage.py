"""``nuanxin coverage``: the underserved ranking, what-if and report files from the database."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.errors import friendly_errors
from cli.national import (
    CensusOption,
    CountiesOption,
    DemandOption,
    Engine,
    EngineOption,
    MaxCellsOption,
    MemoryOption,
    ProvinceOption,
    SchedulerOption,
    Scope,
    ScopeOption,
    SyntheticOption,
    WorkersOption,
    national_coverage,
)
from cli.options import BoundaryCodes, Vintage, count_text, engine, parse_time
from cli.options import console as make_console
from geo.config import get_settings
from geo.crs import parse_coord_system
from geo.errors import InvalidInputError
from geo.standards import DETOUR_FACTOR, RADIUS_M, WALK_MIN, WALK_SPEED_M_PER_MIN


class WorkerWeight(StrEnum):
    OUTDOOR_WORKERS = "outdoor_workers"
    EMPLOYEES = "employees"
    NONE = "none"


@friendly_errors
def coverage(
    boundary: BoundaryCodes = None,
    level: Annotated[str, typer.Option(help="boundary level analysed")] = "subdistrict",
    vintage: Vintage = None,
    kind: Annotated[list[str] | None, typer.Option(help="station kind; repeatable")] = None,
    status: Annotated[list[str] | None, typer.Option(help="station status; default open")] = None,
    at: Annotated[
        str | None, typer.Option(help="only stations open then, e.g. 2026-11-29T05:00")
    ] = None,
    radius: Annotated[float, typer.Option(help="straight-line radius, metres")] = RADIUS_M,
    walk: Annotated[float, typer.Option(help="walking minutes")] = WALK_MIN,
    speed: Annotated[
        float, typer.Option(help="walking speed, metres per minute")
    ] = WALK_SPEED_M_PER_MIN,
    detour: Annotated[float, typer.Option(help="street / straight-line distance")] = DETOUR_FACTOR,
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
    scope: ScopeOption = Scope.BOUNDARIES,
    province: ProvinceOption = None,
    census: CensusOption = None,
    counties: CountiesOption = None,
    demand_model: DemandOption = "residents",
    engine_name: EngineOption = Engine.DASK,
    scheduler: SchedulerOption = None,
    dask_workers: WorkersOption = 2,
    worker_memory: MemoryOption = "6GiB",
    horizon: Annotated[
        float, typer.Option(help="national: nearest-station distances beyond this count as it, m")
    ] = 20_000.0,
    max_cells: MaxCellsOption = 12_000_000,
    synthetic_stations: SyntheticOption = None,
    cells: Annotated[bool, typer.Option(help="national: also write every cell (Parquet)")] = False,
    store: Annotated[
        bool, typer.Option(help="national: store the figures in PostGIS for /coverage/national")
    ] = False,
) -> None:
    """Who is far from a station, per boundary, ranked from the most underserved.

    ``--scope national`` (or ``--scope province --province 11``) analyses China's counties
    against the 2020 census on Dask: a LocalCluster here, or a running cluster's ``--scheduler``.
    """
    if scope is not Scope.BOUNDARIES:
        from geo.national.counties import DemandModel
        from geo.national.kernel import NationalParams

        if demand_model not in {model.value for model in DemandModel}:
            raise InvalidInputError("--demand is residents or urban", field="demand")
        national_coverage(
            scope=scope, provinces=province or [], census=census, counties=counties,
            demand=demand_model, engine_name=engine_name, scheduler=scheduler,
            dask_workers=dask_workers, worker_memory=worker_memory,
            params=NationalParams(radius_m=radius, walk_min=walk, walk_speed_m_per_min=speed,
                                  detour_factor=detour, h3_resolution=resolution,
                                  horizon_m=horizon),
            max_cells=max_cells, synthetic=synthetic_stations,
            kinds=list(kind) if kind else None,
            statuses=tuple(status) if status else ("open",), at=parse_time(at), out=out,
            keep_cells=cells, store=store, top=top,
        )  # fmt: skip
        return
    from geo.coverage.analysis import CoverageParams
    from geo.coverage.demand import worker_points
    from geo.coverage.query import CoverageQuery, run_coverage, run_what_if
    from geo.coverage.report import write_report
    from geo.coverage.supply import DEFAULT_STATUSES
    from geo.coverage.whatif import check_inside, read_changes
    from geo.store.frames import load_boundaries, load_enterprises, load_stations

    params = CoverageParams(radius_m=radius, walk_min=walk, walk_speed_m_per_min=speed,
                            detour_factor=detour, h3_resolution=resolution)  # fmt: skip
    query = CoverageQuery(kinds=tuple(kind) if kind else None,
                          statuses=tuple(status) if status else DEFAULT_STATUSES,
                          at=parse_time(at), params=params)  # fmt: skip
    try:
        change_crs = parse_coord_system(what_if_crs)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="what_if_crs") from exc
    changes = read_changes(what_if, change_crs) if what_if else None
    with engine(get_settings()).connect() as conn:
        boundaries = load_boundaries(conn, level=level, vintage=vintage, codes=boundary or [])
        stations = load_stations(conn)
        enterprises = load_enterprises(conn) if workers is not WorkerWeight.NONE else None
    if changes:
        check_inside(changes, boundaries)
    demand = worker_points(enterprises, workers.value) if enterprises is not None else None
    cells = _demand_grid(boundaries, params.h3_resolution)
    demand_note = None
    if weights is not None:
        cells, demand_note = _reweighted(cells, weights, weight_column, params.h3_resolution)

    lines = None
    if network is not None:
        from geo.network.graph import read_network_lines

        lines = read_network_lines(network)
        lines.attrs["source"] = network.name

    inputs: dict[str, Any] = {"workers": demand, "cells": cells, "demand": demand_note,
                              "network": lines}  # fmt: skip
    comparison = None
    if changes:
        # The ranking and the report stay today's; the change table says what the plan does.
        plan = run_what_if(query, boundaries, stations, changes, **inputs)
        today, comparison = plan.before, plan.comparison
    else:
        today = run_coverage(query, boundaries, stations, **inputs)
    result, supply = today.result, today.supply
    _print_coverage(result.per_boundary, result.method, top)
    if comparison is not None:
        _print_what_if(comparison, top)
    if out:
        written = write_report(result, boundaries, out, stations=supply.stations,
                               what_if=comparison)  # fmt: skip
        typer.echo(f"report: {', '.join(str(path) for path in written)}")


def _demand_grid(boundaries: Any, resolution: int) -> Any:
    """The H3 demand grid, with a progress bar over the boundaries (seconds to minutes)."""
    from rich.progress import Progress

    from geo.coverage.demand import demand_cells

    with Progress(transient=True, console=make_console()) as progress:
        bar = progress.add_task(f"demand grid (H3 {resolution})", total=len(boundaries))
        return demand_cells(boundaries, resolution, on_progress=lambda done, total:
                            progress.update(bar, completed=done, total=total))  # fmt: skip


def _reweighted(cells: Any, path: Path, column: str, resolution: int) -> tuple[Any, str]:
    """Cells re-spread by a raster or weight points, and the sentence saying so."""
    import geopandas

    from geo.coverage.demand import reweight, weights_from_points, weights_from_raster

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


def _print_coverage(table: Any, method: dict[str, str], top: int) -> None:
    from rich.table import Table

    view = Table(title="Underserved ranking today (1 = most underserved)")
    for header in ("rank", "code", "name", "residents", "stations", "within 1 km",
                   "within walk", "2+ in walk", "p90 m", "beyond walk", "score"):  # fmt: skip
        view.add_column(header, justify="left" if header in ("code", "name") else "right")
    for row in table.head(top).itertuples():
        by_area = getattr(row, "share_basis", "residents") == "area"
        view.add_row(
            str(row.rank), row.code, row.name, count_text(row.residents), str(row.stations),
            _share(row.share_within_radius, by_area), _share(row.share_within_walk, by_area),
            _share(row.share_two_plus, by_area), count_text(row.p90_nearest_m),
            count_text(row.uncovered_residents), f"{row.score:.2f}",
        )  # fmt: skip
    if "share_basis" in table and (table["share_basis"] == "area").any():
        view.caption = "* of the area: no population for this boundary (nuanxin import population)"
    console = make_console()
    console.print(view)
    for key, value in method.items():
        console.print(f"{key}: {value}", highlight=False)


def _share(value: float, by_area: bool) -> str:
    if value != value:
        return "—"
    return f"{value:.0%}*" if by_area else f"{value:.0%}"


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
    console = make_console()
    if changed.empty:
        console.print("what-if: no boundary changed (are the changed stations open then?)")
        return
    console.print(view)
