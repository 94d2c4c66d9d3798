"""Cost of walking distances along a network against straight-line distances (same cells).

A synthetic street grid (a street every ``--spacing`` metres, vertices every 100 m, 10 % of
segments removed) over a square of ``--side`` km; cells at H3-like density (one per
``--cell`` metres) and ``--stations`` stations. Baseline in the same run: the straight-line
``nearest_two`` (cKDTree k=2) on the same cells and stations. No target in the issue: this
states what asking for network distance costs.

Run: ``.venv/bin/python -m bench.coverage_network [--side 20] [--stations 2000]``
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from scipy.sparse import csr_array

from geo.coverage.analysis import nearest_two
from geo.network.graph import WalkNetwork, network_nearest_two


def street_grid(side_m: float, spacing_m: float, seed: int) -> WalkNetwork:
    rng = np.random.default_rng(seed)
    step = 100.0
    n = int(side_m // step) + 1
    xs = np.arange(n) * step
    gx, gy = np.meshgrid(xs, xs)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    index = np.arange(n * n).reshape(n, n)
    every = int(spacing_m // step)
    rows = index[::every, :]  # east-west streets
    cols = index[:, ::every].T  # north-south streets
    a = np.concatenate([rows[:, :-1].ravel(), cols[:, :-1].ravel()])
    b = np.concatenate([rows[:, 1:].ravel(), cols[:, 1:].ravel()])
    keep = rng.random(len(a)) > 0.1
    a, b = a[keep], b[keep]
    used = np.unique(np.concatenate([a, b]))
    remap = np.full(n * n, -1)
    remap[used] = np.arange(len(used))
    a, b, xy = remap[a], remap[b], xy[used]
    length = np.full(len(a), step)
    graph = csr_array((np.r_[length, length], (np.r_[a, b], np.r_[b, a])), shape=(len(xy),) * 2)
    return WalkNetwork(xy, graph, "synthetic grid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=float, default=20.0, help="km")
    parser.add_argument("--spacing", type=float, default=200.0, help="metres between streets")
    parser.add_argument("--cell", type=float, default=60.0, help="metres between cells")
    parser.add_argument("--stations", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    side = args.side * 1000
    start = time.perf_counter()
    network = street_grid(side, args.spacing, 5)
    build_s = time.perf_counter() - start
    ticks = np.arange(0, side, args.cell)
    cx, cy = np.meshgrid(ticks, ticks)
    cells = np.column_stack([cx.ravel(), cy.ravel()])
    stations = rng.uniform(0, side, size=(args.stations, 2))

    start = time.perf_counter()
    straight = nearest_two(cells, stations)
    straight_s = time.perf_counter() - start
    start = time.perf_counter()
    nearest, second = network_nearest_two(network, cells, stations, limit_m=1200)
    network_s = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"grid {args.side:g} km square: {len(network.node_xy):,} nodes, "
          f"{network.edges:,} edges (built in {build_s:.2f} s); {len(cells):,} cells; "
          f"{args.stations:,} stations")  # fmt: skip
    print(f"straight line nearest two (cKDTree k=2)   {straight_s:7.2f} s   1.00×  baseline")
    print(f"walked nearest + second within 1200 m     {network_s:7.2f} s "
          f"{network_s / straight_s:7.1f}×")  # fmt: skip
    ratio = np.median(nearest / np.maximum(straight.nearest_m, 1.0))
    print(f"median walked / straight nearest distance: {ratio:.2f} "
          f"(the detour factor this grid implies); cells with a 2nd station in 1200 m walked: "
          f"{np.isfinite(second).mean():.0%} vs straight×1.3: "
          f"{(straight.second_m * 1.3 <= 1200).mean():.0%}")  # fmt: skip
    print(f"peak memory (max RSS): {peak_gb:.2f} GB")


if __name__ == "__main__":
    main()
