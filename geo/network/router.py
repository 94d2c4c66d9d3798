"""Walking metres from one point to a few places along a street network: the locator's router.

A worker asks once and wants the nearest places *by foot*: a station 300 m away across a river
with its bridge 1 km upstream is not the nearest. The network is the coverage analysis's
(:mod:`geo.network.graph`: OSM extract or any line file), loaded once at start-up; one request
is one single-source Dijkstra (scipy, C speed) bounded by the walk limit, so its cost follows the
streets within reach, not the city.

The origin and each place join the network at their nearest node, that hop walked straight, as
in the coverage analysis. An origin farther than ``max_snap_m`` from every street is taken to lie
outside the loaded extract: the caller then says so and ranks by straight line.
Walking is never shorter than the straight line (a place near the origin's own node would
otherwise come out nearer than it is), so the straight line is a floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.crs import local_projector
from geo.network.graph import WalkNetwork, build_network, read_network_lines

Floats = NDArray[np.float64]
# Farther than this from any street, the network says nothing about the walk: straight line.
MAX_SNAP_M = 300.0


@dataclass(frozen=True)
class WalkRouter:
    network: WalkNetwork
    project: Transformer
    tree: cKDTree
    max_snap_m: float = MAX_SNAP_M

    @classmethod
    def from_network(cls, network: WalkNetwork, project: Transformer) -> WalkRouter:
        return cls(network, project, cKDTree(network.node_xy))

    @classmethod
    def from_file(cls, path: Path) -> WalkRouter:
        """Read and build the network of ``path``, projected around its own centre."""
        lines = read_network_lines(path)
        points = lines.geometry.representative_point()
        project = local_projector(points.x.to_numpy(), points.y.to_numpy())
        return cls.from_network(build_network(lines, project, path.name), project)

    def walk_metres(
        self, lon: float, lat: float, target_lon: Floats, target_lat: Floats, limit_m: float
    ) -> Floats | None:
        """Walked metres to each target (``inf`` if not within ``limit_m``); ``None`` when the
        origin is off the network, so the caller falls back to straight lines."""
        ox, oy = self.project.transform(lon, lat)
        origin_hop, origin_node = self.tree.query((ox, oy))
        if origin_hop > self.max_snap_m or origin_hop > limit_m:
            return None
        tx, ty = self.project.transform(np.asarray(target_lon), np.asarray(target_lat))
        targets = np.column_stack([np.atleast_1d(tx), np.atleast_1d(ty)])
        if len(targets) == 0:
            return np.empty(0)
        target_hop, target_node = self.tree.query(targets)
        along = dijkstra(self.network.graph, indices=int(origin_node), limit=limit_m - origin_hop)
        walked = origin_hop + along[target_node] + target_hop
        straight = np.hypot(targets[:, 0] - ox, targets[:, 1] - oy)
        walked = np.maximum(walked, straight)
        walked[walked > limit_m] = np.inf
        result: Floats = walked
        return result
