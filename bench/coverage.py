"""Coverage benchmark: all of Beijing (343 subdistricts, ~1M H3 cells) against 20,000 rest points.

Baseline, same run, same cell centroids: a bare ``scipy.spatial.cKDTree`` k=2 query (tree build
included). Reported as ratios: the analysis (nearest and second-nearest for every cell plus the
per-boundary aggregation and ranking; target ≤ 2×), the full report from polygons to ranked table
with gap polygons (target ≤ 10×), and a naive geopandas buffer + union + spatial join for
reference. Peak memory (target ≤ 2 GB) is the process's maximum resident set.

Run: ``.venv/bin/python -m bench.coverage [--resolution 10] [--stations 20000]``
Needs ../shared/data/beijing (real subdistricts and census totals; read, never copied).
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import geopandas
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.coverage.analysis import (
    CoverageParams,
    analyse,
    boundary_metrics,
    nearest_two,
    underserved_score,
)
from geo.coverage.demand import demand_cells, spread_population
from geo.crs import local_projector

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "beijing"


def median_time(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_beijing() -> geopandas.GeoDataFrame:
    subdistricts = geopandas.read_file(SHARED / "subdistricts.geojson")
    subdistricts["code"] = subdistricts["code"].astype("int64").astype(str)
    subdistricts["parent_code"] = subdistricts["parentCode"].astype("int64").astype(str)
    subdistricts["name"] = subdistricts["Name"]
    with (SHARED / "district_population_census.csv").open(encoding="utf-8") as handle:
        totals = {f"{row['district_code']}000000": float(row["pop_total"])
                  for row in csv.DictReader(handle) if row["census_year"] == "2020"}  # fmt: skip
    return spread_population(subdistricts[["code", "name", "parent_code", "geometry"]], totals,
                             source="2020 census district totals", year=2020)  # fmt: skip


def rest_points(cells: pd.DataFrame, count: int, seed: int = 7) -> geopandas.GeoDataFrame:
    """Seeded points where people are: cells drawn by residents, jittered within ~100 m."""
    rng = np.random.default_rng(seed)
    weights = cells["residents"].to_numpy() / cells["residents"].sum()
    chosen = rng.choice(len(cells), size=count, p=weights)
    lon = cells["lon"].to_numpy()[chosen] + rng.normal(0, 0.001, count)
    lat = cells["lat"].to_numpy()[chosen] + rng.normal(0, 0.001, count)
    return geopandas.GeoDataFrame(geometry=geopandas.points_from_xy(lon, lat), crs=4326)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=10)
    parser.add_argument("--stations", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params = CoverageParams(h3_resolution=args.resolution)

    boundaries = load_beijing()
    start = time.perf_counter()
    cells = demand_cells(boundaries, params.h3_resolution)
    grid_s = time.perf_counter() - start
    stations = rest_points(cells, args.stations)
    project = local_projector(cells["lon"].to_numpy(), cells["lat"].to_numpy())
    cell_xy = np.column_stack(project.transform(cells["lon"].to_numpy(), cells["lat"].to_numpy()))
    station_xy = np.column_stack(project.transform(stations.geometry.x.to_numpy(),
                                                   stations.geometry.y.to_numpy()))  # fmt: skip
    pop = cells["residents"].to_numpy()
    owner = cells["boundary"].to_numpy()
    counts = np.zeros(len(boundaries), dtype=np.int64)
    area = np.ones(len(boundaries))

    def bare() -> None:
        cKDTree(station_xy).query(cell_xy, k=2)

    def analysis() -> None:
        distances = nearest_two(cell_xy, station_xy)
        underserved_score(boundary_metrics(distances, pop, owner, counts, area, params))

    def full() -> None:
        analyse(boundaries, stations, params, with_gaps=True, cells=cells)

    def naive() -> None:
        utm = 32650
        reach = stations.to_crs(utm).buffer(params.radius_m).union_all()
        points = geopandas.GeoDataFrame(
            cells[["boundary", "residents"]],
            geometry=geopandas.points_from_xy(cells["lon"], cells["lat"]), crs=4326,
        ).to_crs(utm)  # fmt: skip
        inside = geopandas.sjoin(points, geopandas.GeoDataFrame(geometry=[reach], crs=utm),
                                 predicate="within", how="left")["index_right"].notna()  # fmt: skip
        (points["residents"] * inside).groupby(points["boundary"]).sum()

    bare_s = median_time(bare, args.repeats)
    analysis_s = median_time(analysis, args.repeats)
    full_s = median_time(full, args.repeats)
    naive_s = median_time(naive, 1)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"boundaries {len(boundaries)}, cells {len(cells):,} (H3 res {args.resolution}, "
          f"grid built in {grid_s:.2f} s), rest points {len(stations):,}")  # fmt: skip
    print(f"median of {args.repeats} (naive: 1 run)")
    rows = [
        ("bare cKDTree k=2 (build + query)", bare_s, "baseline"),
        ("analysis: nearest two + per-boundary + rank", analysis_s, "target ≤ 2×"),
        ("full report + gap polygons (cached grid)", full_s, "target ≤ 10×"),
        ("demand grid build (once per boundary edition)", grid_s, "cached"),
        ("naive geopandas buffer + union + sjoin", naive_s, "reference"),
    ]
    for label, seconds, note in rows:
        print(f"{label:46} {seconds:7.2f} s  {seconds / bare_s:6.2f}×  {note}")
    print(f"peak memory (max RSS): {peak_gb:.2f} GB (target ≤ 2 GB)")


if __name__ == "__main__":
    main()
