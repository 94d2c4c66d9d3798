"""What walking costs the locator: one bounded Dijkstra per request on a city-sized street grid.

The grid of ``bench.coverage_network`` (a street every 200 m, vertices every 100 m, 10 % of
segments removed) over a ``--side`` km square; per request a random origin and the places
within the radius (``--places`` of them) are walked to with :class:`geo.network.router.WalkRouter`.
Baseline in the same run: the straight-line metres to the same places (what the locator does
without a network, here in numpy). No target in the issue: this states what walking costs per
request, next to the ~1.5 ms of CPU a straight-line ``/locate`` takes (BENCHMARKS.md).

Run: ``.venv/bin/python -m bench.locator_walk [--side 40] [--requests 200]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bench.coverage_network import street_grid
from geo.crs import local_projector
from geo.network.router import WalkRouter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=float, default=40.0, help="km")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--places", type=int, default=200, help="places within the radius")
    args = parser.parse_args()
    side = args.side * 1000
    centre_lon, centre_lat = 116.397, 39.909
    project = local_projector(np.array([centre_lon]), np.array([centre_lat]))
    network = street_grid(side, 200.0, 5)
    network = type(network)(network.node_xy - side / 2, network.graph, network.source)
    router = WalkRouter.from_network(network, project)
    print(f"grid {args.side:g} km square: {len(network.node_xy):,} nodes, "
          f"{network.edges:,} edges")  # fmt: skip
    rng = np.random.default_rng(3)
    for radius in (1_500.0, 5_000.0, 20_000.0):
        walk_ms, straight_ms, reached = [], [], []
        for _ in range(args.requests):
            ox, oy = rng.uniform(-side / 4, side / 4, 2)
            angle = rng.uniform(0, 2 * np.pi, args.places)
            dist = radius * np.sqrt(rng.uniform(0, 1, args.places))
            tx, ty = ox + dist * np.cos(angle), oy + dist * np.sin(angle)
            lon, lat = project.transform(ox, oy, direction="INVERSE")
            tlon, tlat = project.transform(tx, ty, direction="INVERSE")
            start = time.perf_counter()
            walked = router.walk_metres(lon, lat, np.asarray(tlon), np.asarray(tlat), radius)
            walk_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            px, py = project.transform(np.asarray(tlon), np.asarray(tlat))
            qx, qy = project.transform(lon, lat)
            np.hypot(px - qx, py - qy)
            straight_ms.append((time.perf_counter() - start) * 1000)
            if walked is not None:
                reached.append(float(np.isfinite(walked).mean()))
        walk, straight = statistics.median(walk_ms), statistics.median(straight_ms)
        p99 = float(np.percentile(walk_ms, 99))
        print(f"radius {radius / 1000:>4.1f} km: walking {walk:7.2f} ms median, {p99:7.2f} ms "
              f"p99; straight line {straight:5.2f} ms; ratio {walk / straight:6.1f}x; "
              f"{statistics.mean(reached):.0%} of places within the radius on foot")  # fmt: skip


if __name__ == "__main__":
    main()
