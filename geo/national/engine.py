"""Run national coverage in one process or on a Dask cluster, and put the parts together.

The same :func:`geo.national.kernel.partition_sums` runs either way. On Dask each partition is
one task (``Client.submit``), given its counties and its halo of stations; the scheduler
places and retries tasks, and a worker above its memory limit is paused or restarted by Dask
itself. ``scheduler`` is a running cluster's address (``tcp://host:8786``); without one a
``LocalCluster`` of ``workers`` processes is started here and closed after.
"""

from __future__ import annotations

import resource
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas
import numpy as np
import pandas as pd
import shapely

from geo.coverage.analysis import boundary_owners
from geo.national.counties import NationalDemand
from geo.national.figures import county_figures, province_figures
from geo.national.kernel import NationalParams, PartitionOutput, partition_sums
from geo.national.partition import Partition, halo, part_bounds, plan_partitions

# A part of at most this many estimated cells keeps a worker near 2 GB (about 150 bytes a
# cell at the peak, measured in bench/national.py): well inside a 6 GB worker.
DEFAULT_MAX_CELLS = 12_000_000


@dataclass(frozen=True)
class Stations:
    """Supply in WGS-84 and the county each station lies in ("" outside every county)."""

    lon: np.ndarray
    lat: np.ndarray
    county: np.ndarray

    @classmethod
    def locate(cls, points: geopandas.GeoDataFrame,
               counties: geopandas.GeoDataFrame) -> Stations:  # fmt: skip
        geometry = points.geometry.to_numpy()
        owner = boundary_owners(shapely.STRtree(counties.geometry.to_numpy()), points)
        codes = np.where(owner >= 0, counties["code"].to_numpy()[np.maximum(owner, 0)], "")
        return cls(shapely.get_x(geometry), shapely.get_y(geometry), codes.astype(object))

    def take(self, index: np.ndarray) -> Stations:
        return Stations(self.lon[index], self.lat[index], self.county[index])


@dataclass(frozen=True)
class PartRun:
    key: str
    counties: int
    cells: int
    stations: int  # the part's own and its halo
    seconds: float
    peak_rss_mb: float  # the process's peak so far, when the part ended
    worker: str


@dataclass
class NationalResult:
    counties: pd.DataFrame
    provinces: pd.DataFrame
    sums: pd.DataFrame
    parts: list[PartRun]
    method: dict[str, str]
    cells: pd.DataFrame | None = None
    worker_peak_mb: dict[str, float] = field(default_factory=dict)

    @property
    def parts_table(self) -> pd.DataFrame:
        return pd.DataFrame([vars(part) for part in self.parts])


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_part(key: str, counties: geopandas.GeoDataFrame, stations: Stations,
             params: NationalParams, keep_cells: bool = False,
             cells_dir: str | None = None) -> tuple[PartitionOutput, PartRun]:  # fmt: skip
    """One task: the part's sums, its cells written to ``cells_dir`` when given."""
    started = time.perf_counter()
    output = partition_sums(counties, stations.lon, stations.lat, stations.county, params,
                            keep_cells=keep_cells or cells_dir is not None)  # fmt: skip
    if cells_dir is not None and output.cells is not None:
        name = key.replace("/", "-")
        output.cells.to_parquet(Path(cells_dir) / f"cells-{name}.parquet", index=False)
        output = PartitionOutput(output.sums, output.cells if keep_cells else None,
                                 output.cell_count)  # fmt: skip
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = "local"
    run = PartRun(key, len(counties), output.cell_count, len(stations.lon),
                  time.perf_counter() - started, _peak_rss_mb(), worker)  # fmt: skip
    return output, run


def _part_inputs(demand: NationalDemand, stations: Stations, parts: list[Partition],
                 params: NationalParams) -> Iterator[tuple[Partition, Any, Stations]]:  # fmt: skip
    counties = demand.counties
    by_code = counties.set_index("code", drop=False)
    for part in parts:
        frame = by_code.loc[list(part.codes), ["code", "population", "geometry"]]
        frame = geopandas.GeoDataFrame(frame.reset_index(drop=True), geometry="geometry",
                                       crs=4326)  # fmt: skip
        near = halo(part_bounds(frame.geometry.to_numpy()), stations.lon, stations.lat,
                    params.horizon_m)  # fmt: skip
        yield part, frame, stations.take(near)


def _result(demand: NationalDemand, outputs: list[PartitionOutput], runs: list[PartRun],
            params: NationalParams, engine: str,
            province_names: dict[str, str] | None) -> NationalResult:  # fmt: skip
    sums = pd.concat([output.sums for output in outputs], ignore_index=True)
    sums = sums.sort_values("code", kind="stable").reset_index(drop=True)
    if sums["code"].duplicated().any():
        raise ValueError("a county was computed in two partitions")
    cells = None
    if all(output.cells is not None for output in outputs):
        cells = pd.concat([output.cells for output in outputs], ignore_index=True)
    method = {
        "demand": demand.note,
        "reach": (f"great-circle distance on the mean-radius sphere (within 0.5 % of the WGS-84 "
                  f"geodesic) × detour factor {params.detour_factor}; walk {params.walk_min:g} "
                  f"min at {params.walk_speed_m_per_min:g} m/min = {params.walk_m:g} m"),
        "radius": f"{params.radius_m:g} m great-circle",
        "horizon": (f"nearest-station distances beyond {params.horizon_m:g} m count as "
                    f"{params.horizon_m:g} m in mean_nearest_m and p90_nearest_m; "
                    "share_beyond_horizon says how many are that far"),
        "cells": (f"H3 resolution {params.h3_resolution}; every cell whose centre lies in a "
                  "county is kept (none is dropped as empty: a matched county's residents are "
                  "spread over all its cells); a county too small for a centre gets one cell"),
        "engine": engine,
        "score": "mean of share beyond a walk, residents per station and residents beyond a "
        "walk, each scaled 0..1 over the counties (or provinces) analysed",
    }  # fmt: skip
    return NationalResult(county_figures(sums, demand.counties),
                          province_figures(sums, demand.counties, province_names), sums, runs,
                          method, cells)  # fmt: skip


def run_single(demand: NationalDemand, stations: Stations, params: NationalParams, *,
               keep_cells: bool = False,
               province_names: dict[str, str] | None = None) -> NationalResult:  # fmt: skip
    """The whole scope as one part in this process: the reference the partitions must equal."""
    whole = Partition("all", tuple(demand.counties["code"]), 0)
    _, frame, near = next(_part_inputs(demand, stations, [whole], params))
    output, run = run_part("all", frame, near, params, keep_cells)
    return _result(demand, [output], [run], params, "single process", province_names)


@contextmanager
def dask_client(scheduler: str | None, workers: int,
                memory_limit: str = "6GiB") -> Iterator[Any]:  # fmt: skip
    """A client of the cluster at ``scheduler``, or of a LocalCluster started for the run."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=1,
        memory_limit=memory_limit,
        processes=True,
        dashboard_address=None,
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client


def run_dask(demand: NationalDemand, stations: Stations, params: NationalParams, client: Any,
             *, parts: list[Partition] | None = None, max_cells: int = DEFAULT_MAX_CELLS,
             keep_cells: bool = False, cells_dir: Path | None = None,
             on_part: Callable[[PartRun, int, int], None] | None = None,
             province_names: dict[str, str] | None = None) -> NationalResult:  # fmt: skip
    """Every part a task on ``client``'s cluster; ``on_part`` hears of each part as it ends."""
    from distributed import as_completed

    parts = parts or plan_partitions(demand.counties, params.h3_resolution, max_cells)
    listed = [code for part in parts for code in part.codes]
    if sorted(listed) != sorted(demand.counties["code"]):
        raise ValueError("the partitions must hold every county of the scope exactly once")
    # Largest first: the long tasks start early and the short ones fill the gaps at the end.
    ordered = sorted(parts, key=lambda part: -part.estimated_cells)
    # Keys unique to this run: a key repeated from an earlier run whose futures are not yet
    # released would be answered with that run's result (Dask remembers a key while it is held).
    run_id = uuid.uuid4().hex[:12]
    futures = [
        client.submit(run_part, part.key, frame, near, params, keep_cells,
                      str(cells_dir) if cells_dir else None,
                      key=f"national-{run_id}-{i}-{part.key}", pure=False)
        for i, (part, frame, near) in enumerate(_part_inputs(demand, stations, ordered, params))
    ]  # fmt: skip
    outputs, runs = [], []
    for done, future in enumerate(as_completed(futures), start=1):  # type: ignore[no-untyped-call]
        output, run = future.result()
        outputs.append(output)
        runs.append(run)
        if on_part:
            on_part(run, done, len(futures))
    peaks = client.run(_peak_rss_mb)
    where = "a LocalCluster" if getattr(client.cluster, "workers", None) else "the cluster"
    engine = (f"Dask {len(parts)} partitions on {where} of "
              f"{len(client.scheduler_info()['workers'])} workers")  # fmt: skip
    result = _result(demand, outputs, sorted(runs, key=lambda run: run.key), params, engine,
                     province_names)  # fmt: skip
    result.worker_peak_mb = {str(worker): float(peak) for worker, peak in peaks.items()}
    return result
