"""``nuanxin site``: where the next stations should go, from the boundaries and stations stored."""

from __future__ import annotations

import time
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
    national_siting,
)
from cli.options import BoundaryCodes, Vintage, engine
from cli.options import console as make_console
from geo.config import get_settings
from geo.errors import InvalidInputError


class SitingModel(StrEnum):
    MCLP = "mclp"
    LSCP = "lscp"
    BACKUP = "backup"


class SitingMethod(StrEnum):
    EXACT = "exact"
    HEURISTIC = "heuristic"


@friendly_errors
def site_command(
    boundary: BoundaryCodes = None,
    p: Annotated[int, typer.Option("--p", help="new sites to propose (mclp, backup)")] = 3,
    model: Annotated[SitingModel, typer.Option(help="mclp | lscp | backup")] = SitingModel.MCLP,
    target: Annotated[float, typer.Option(help="lscp: share of people to reach")] = 0.95,
    method: Annotated[SitingMethod, typer.Option(help="exact (HiGHS) or heuristic")] = (
        SitingMethod.EXACT
    ),
    time_limit: Annotated[float, typer.Option(help="seconds for the exact solver")] = 60.0,
    alpha: Annotated[float, typer.Option(help="residents' share of the weight (0..1)")] = 0.5,
    radius: Annotated[
        float | None, typer.Option(help="straight-line metres instead of the 15-minute walk")
    ] = None,
    candidates: Annotated[
        Path | None,
        typer.Option(exists=True, help="candidate sites (points; optional cost, capacity, name)"),
    ] = None,
    vintage: Vintage = None,
    planned: Annotated[
        bool, typer.Option(help="also rate the planned stations against the best site nearby")
    ] = True,
    out: Annotated[Path | None, typer.Option(help="write proposals .geojson or .csv")] = None,
    verbose: Annotated[bool, typer.Option(help="show the solver's own log")] = False,
    scope: ScopeOption = Scope.BOUNDARIES,
    province: ProvinceOption = None,
    census: CensusOption = None,
    counties: CountiesOption = None,
    demand_model: DemandOption = "residents",
    engine_name: EngineOption = Engine.DASK,
    scheduler: SchedulerOption = None,
    dask_workers: WorkersOption = 2,
    worker_memory: MemoryOption = "6GiB",
    resolution: Annotated[int, typer.Option(help="national: H3 resolution of demand")] = 9,
    candidate_resolution: Annotated[
        int | None, typer.Option(help="national: H3 resolution of candidates (default one less)")
    ] = None,
    per_county: Annotated[
        int, typer.Option(help="national: candidates kept per county, best alone first")
    ] = 40,
    max_cells: MaxCellsOption = 12_000_000,
    synthetic_stations: SyntheticOption = None,
    store: Annotated[
        bool, typer.Option(help="national: keep the sites in the database for /plan/national")
    ] = False,
) -> None:
    """Propose new sites that bring the most residents and workers within reach.

    ``--scope national`` (or ``--scope province --province 44``) proposes ``--p`` sites over
    China's counties against the 2020 census (MCLP, residents only), built on Dask, with the
    gap to the best possible proven.
    """
    import geopandas

    if scope is not Scope.BOUNDARIES:
        if model is not SitingModel.MCLP:
            raise InvalidInputError("national siting is mclp only", field="model")
        if demand_model not in ("residents", "urban"):
            raise InvalidInputError("--demand is residents or urban", field="demand")
        from geo.national.kernel import NationalParams
        from geo.national.siting_parts import SitingParams

        params = SitingParams(NationalParams(h3_resolution=resolution), p=p,
                              candidate_resolution=candidate_resolution, per_county=per_county,
                              time_limit_s=time_limit)  # fmt: skip
        national_siting(scope=scope, provinces=province or [], census=census, counties=counties,
                        demand=demand_model, engine_name=engine_name, scheduler=scheduler,
                        dask_workers=dask_workers, worker_memory=worker_memory, params=params,
                        max_cells=max_cells, synthetic=synthetic_stations, out=out,
                        store=store)  # fmt: skip
        return

    from rich.progress import BarColumn, Progress, SpinnerColumn, TimeElapsedColumn

    from geo.siting.frames import evaluate_sites, prepare, site
    from geo.store.frames import load_boundaries, load_enterprises, load_stations

    if store:
        raise InvalidInputError(
            "--store keeps a national or provincial siting; with the "
            "database's boundaries, write the proposals with --out",
            field="store",
        )
    if p <= 0:
        raise InvalidInputError("--p must be at least 1", field="p")
    with engine(get_settings()).connect() as conn:
        boundaries = load_boundaries(conn, vintage=vintage, codes=boundary or [])
        stations = load_stations(conn)
        enterprises = load_enterprises(conn)
    user_sites = geopandas.read_file(candidates) if candidates else None
    console = make_console()
    with Progress(SpinnerColumn(), "[progress.description]{task.description}", BarColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:  # fmt: skip
        bar = progress.add_task("demand grid", total=len(boundaries))

        def grid(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)
            if done == total:  # then candidates and their reach, of unknown length
                progress.update(bar, description="candidates and reach", total=None)

        data = prepare(boundaries, stations, enterprises=enterprises, candidates=user_sites,
                       alpha=alpha, reach_m=radius, on_progress=grid)  # fmt: skip
    started = time.monotonic()
    label = f"solving {model.value} ({method.value}, time limit {time_limit:g} s)…"
    if verbose:
        console.print(label)
        result = site(data, model.value, p=p, target_share=target, method=method.value,
                      time_limit_s=time_limit, log=True)  # fmt: skip
    else:
        columns = (SpinnerColumn(), "[progress.description]{task.description}")
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
            progress.add_task(label, total=None)  # HiGHS reports no fraction done
            result = site(data, model.value, p=p, target_share=target, method=method.value,
                          time_limit_s=time_limit)  # fmt: skip
    elapsed = time.monotonic() - started
    _print_proposals(console, result, elapsed)
    if planned:
        mine = stations[stations["status"] == "planned"]
        inside = mine[mine.within(boundaries.union_all())] if len(mine) else mine
        if len(inside):
            _print_planned(console, evaluate_sites(data, inside))
    if out:
        _write(result.proposals, out)
        console.print(f"proposals written to {out}")


def _print_proposals(console: Any, result: Any, elapsed: float) -> None:
    from rich.table import Table

    view = Table(title=f"Proposed sites ({result.model})")
    for header in ("rank", "subdistrict", "lon", "lat", "+ residents", "+ workers",
                   "nearest station m"):  # fmt: skip
        view.add_column(header, justify="left" if header == "subdistrict" else "right")
    for row in result.proposals.itertuples():
        view.add_row(str(row.rank), f"{row.boundary_name} ({row.code})", f"{row.lon:.5f}",
                     f"{row.lat:.5f}", f"{row.gain_residents:,.0f}", f"{row.gain_workers:,.0f}",
                     f"{row.nearest_existing_m:,.0f}")  # fmt: skip
    console.print(view)
    before, after, total = result.before, result.after, result.total
    for key in ("residents", "workers"):
        if total[key] > 0:
            console.print(f"{key} within reach: {before[key]:,.0f} → {after[key]:,.0f} of "
                          f"{total[key]:,.0f} ({before[key] / total[key]:.1%} → "
                          f"{after[key] / total[key]:.1%})", highlight=False)  # fmt: skip
    console.print(f"solved in {elapsed:.1f} s", highlight=False)
    for key, value in result.method.items():
        console.print(f"{key}: {value}", highlight=False)


def _print_planned(console: Any, table: Any) -> None:
    from rich.table import Table

    view = Table(title="Planned stations against the best site in the same subdistrict")
    for header in ("name", "subdistrict", "+ residents", "best site + residents", "share"):
        view.add_column(header, justify="left" if header in ("name", "subdistrict") else "right")
    for row in table.itertuples():
        view.add_row(str(row.name), str(row.boundary_name), f"{row.gain_residents:,.0f}",
                     f"{row.best_gain_residents:,.0f}", f"{row.share_of_best:.0%}")  # fmt: skip
    console.print(view)


def _write(proposals: Any, path: Path) -> None:
    import geopandas

    if path.suffix.lower() == ".csv":
        proposals.to_csv(path, index=False, encoding="utf-8")
        return
    if path.suffix.lower() not in (".geojson", ".json", ".gpkg"):
        raise InvalidInputError("--out takes .geojson, .gpkg or .csv", field="out")
    frame = geopandas.GeoDataFrame(
        proposals, geometry=geopandas.points_from_xy(proposals["lon"], proposals["lat"]), crs=4326
    )
    frame.to_file(path)
