"""Walking distance along a street network the user supplies (an OSM extract or any lines).

Straight line × detour factor is a guess; a river with one bridge makes it wrong by kilometres.
Given a network, each cell's distance to its nearest and second-nearest station is walked:

* the network's line vertices are nodes; consecutive vertices are edges, lengths in metres on the
  same local projection the analysis uses; vertices closer than 1 cm are one node;
* a cell or station joins the network at its nearest node, that hop counted as a straight walk;
* nearest station: one multi-source Dijkstra over the whole graph (scipy, C speed);
* second-nearest *distinct* station: a two-label Dijkstra that keeps each node's two best
  stations, bounded by the walk limit, since only "is a second station within a walk" is asked.

OSM files (``.osm``, ``.osm.pbf``) are read with GDAL's OSM driver and keep only the ways a
person may walk (:mod:`geo.network.osm`: osmnx's walking rules, ``foot=no`` and
``access=private`` included); a line file with OSM tag columns is filtered the same way.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path

import geopandas
import numpy as np
import pyogrio
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.errors import InvalidInputError
from geo.network.osm import walkable_lines

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class WalkNetwork:
    """Nodes in metres (local projection) and a symmetric CSR adjacency of edge lengths."""

    node_xy: Floats
    graph: csr_array
    source: str

    @property
    def edges(self) -> int:
        return int(self.graph.nnz // 2)


def read_network_lines(path: Path) -> geopandas.GeoDataFrame:
    """Walkable lines from an OSM extract or a GeoJSON/GPKG/SHP of lines (any CRS → WGS-84)."""
    if not path.exists():
        raise InvalidInputError(f"{path} does not exist", field="network")
    name = path.name.lower()
    try:
        if name.endswith((".osm", ".osm.pbf", ".pbf")):
            lines = geopandas.read_file(path, layer="lines")
            if "highway" not in lines:
                raise InvalidInputError(f"{path.name} has no highway ways", field="network")
        else:
            lines = geopandas.read_file(path)
        lines = walkable_lines(lines, osm=name.endswith((".osm", ".osm.pbf", ".pbf")))
    except pyogrio.errors.DataSourceError as exc:
        raise InvalidInputError(
            f"{path.name} is not a network GDAL can read", field="network"
        ) from exc
    if lines.crs is None:
        raise InvalidInputError(f"{path.name} declares no CRS", field="network")
    lines = lines.to_crs(4326)
    lines = lines[lines.geom_type.isin(["LineString", "MultiLineString"])]
    if lines.empty:
        raise InvalidInputError(f"{path.name} holds no walkable lines", field="network")
    return lines


def build_network(lines: geopandas.GeoDataFrame, project: Transformer, source: str) -> WalkNetwork:
    """Graph of the lines' vertices, lengths in metres under ``project`` (WGS-84 → metres)."""
    parts = shapely.get_parts(lines.geometry.to_numpy())
    coords, owner = shapely.get_coordinates(parts, return_index=True)
    x, y = project.transform(coords[:, 0], coords[:, 1])
    xy = np.column_stack([x, y])
    keys = np.round(xy * 100).astype(np.int64)  # centimetres: shared vertices become one node
    unique, node = np.unique(keys, axis=0, return_inverse=True)
    node = node.ravel()
    same_line = owner[1:] == owner[:-1]
    start, end = node[:-1][same_line], node[1:][same_line]
    length = np.hypot(*(xy[1:][same_line] - xy[:-1][same_line]).T)
    keep = start != end
    start, end, length = start[keep], end[keep], length[keep]
    graph = _shortest_parallel(start, end, length, len(unique))
    return WalkNetwork(unique.astype(np.float64) / 100, graph, source)


def _shortest_parallel(start: NDArray[np.int64], end: NDArray[np.int64], length: Floats,
                       count: int) -> csr_array:  # fmt: skip
    """Symmetric adjacency keeping the shortest of parallel edges (scipy would sum them)."""
    a, b = np.minimum(start, end), np.maximum(start, end)
    order = np.lexsort((length, b, a))
    a, b, length = a[order], b[order], length[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, length = a[first], b[first], length[first]
    rows, cols = np.concatenate([a, b]), np.concatenate([b, a])
    return csr_array((np.concatenate([length, length]), (rows, cols)), shape=(count, count))


def _second_labels(graph: csr_array, sources: NDArray[np.int64], offsets: Floats,
                   limit: float) -> Floats:  # fmt: skip
    """Per node, the distance to its second-nearest distinct source, if within ``limit``."""
    count = graph.shape[0]
    indptr, indices, weights = graph.indptr.tolist(), graph.indices.tolist(), graph.data.tolist()
    labels: list[list[tuple[float, int]]] = [[] for _ in range(count)]
    starts = enumerate(zip(sources.tolist(), offsets.tolist(), strict=True))
    heap = [(offset, node, station) for station, (node, offset) in starts if offset <= limit]
    heapq.heapify(heap)
    while heap:
        distance, node, station = heapq.heappop(heap)
        held = labels[node]
        if len(held) == 2 or any(owner == station for _, owner in held):
            continue
        held.append((distance, station))
        for position in range(indptr[node], indptr[node + 1]):
            reach = distance + weights[position]
            neighbour = indices[position]
            if reach <= limit and len(labels[neighbour]) < 2:
                heapq.heappush(heap, (reach, neighbour, station))
    return np.array([held[1][0] if len(held) == 2 else np.inf for held in labels])


def network_nearest_two(network: WalkNetwork, cell_xy: Floats, station_xy: Floats,
                        limit_m: float) -> tuple[Floats, Floats]:  # fmt: skip
    """Walked metres from each cell to its nearest station, and to its second-nearest where
    that is within ``limit_m`` (``inf`` beyond, or where unreachable)."""
    n = len(cell_xy)
    if len(station_xy) == 0:
        return np.full(n, np.inf), np.full(n, np.inf)
    tree = cKDTree(network.node_xy)
    station_hop, station_node = tree.query(station_xy)
    cell_hop, cell_node = tree.query(cell_xy)
    # A virtual source joined to every station's node by its hop: one Dijkstra for all.
    count = len(network.node_xy)
    hop_at = np.full(count, np.inf)
    np.minimum.at(hop_at, station_node, station_hop)
    joined = np.flatnonzero(np.isfinite(hop_at))
    hops = np.maximum(hop_at[joined], 1e-9)  # an explicit zero would be no edge at all
    virtual = csr_array((hops, (np.full(len(joined), count), joined)), shape=(count + 1, count + 1))
    padded = network.graph.copy()
    padded.resize((count + 1, count + 1))
    nearest_node = dijkstra(padded + virtual, directed=True, indices=count)[:count]
    second_node = _second_labels(network.graph, np.asarray(station_node), station_hop, limit_m)
    return cell_hop + nearest_node[cell_node], cell_hop + second_node[cell_node]
