"""Cutting a country into parts a worker can hold, and the halo each part needs.

Counties are never split: a part is whole counties, so a county's figures come from one task.
A province is one part; a province estimated above ``max_cells`` is cut by prefecture (the
code's first four digits), and a prefecture still above it into runs of counties in code order.
The halo is every station within the horizon of the part's bounding box: a superset of the
stations within the horizon of any of its cells, which is all a capped distance can use (see
:func:`geo.national.sphere.nearest_two_capped`), so no cut changes an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas
import h3
import numpy as np
import shapely
from numpy.typing import NDArray

from geo.coverage.demand import geodesic_km2
from geo.national.sphere import lon_lat_margin

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Partition:
    key: str  # province "13", prefecture "1301", or a run of counties "1301/2"
    codes: tuple[str, ...]  # its counties
    estimated_cells: int


def estimated_cells(counties: geopandas.GeoDataFrame, resolution: int) -> NDArray[np.int64]:
    """H3 cells per county from its geodesic area (at least one: a tiny county gets one)."""
    cell_km2 = h3.average_hexagon_area(resolution, unit="km^2")
    areas = np.array([geodesic_km2(geometry) for geometry in counties.geometry])
    estimate: NDArray[np.int64] = np.maximum(np.rint(areas / cell_km2), 1).astype(np.int64)
    return estimate


def _runs(codes: list[str], cells: dict[str, int], key: str, limit: int) -> list[Partition]:
    parts: list[tuple[list[str], int]] = []
    run: list[str] = []
    size = 0
    for code in codes:
        if run and size + cells[code] > limit:
            parts.append((run, size))
            run, size = [], 0
        run.append(code)
        size += cells[code]
    parts.append((run, size))
    if len(parts) == 1:
        return [Partition(key, tuple(run), size)]
    return [Partition(f"{key}/{i + 1}", tuple(r), s) for i, (r, s) in enumerate(parts)]


def plan_partitions(counties: geopandas.GeoDataFrame, resolution: int,
                    max_cells: int) -> list[Partition]:  # fmt: skip
    """Provinces, cut by prefecture and then into county runs where above ``max_cells``."""
    sizes = dict(zip(counties["code"], estimated_cells(counties, resolution).tolist(),
                     strict=True))  # fmt: skip
    plan: list[Partition] = []
    for province, group in counties.groupby("province", sort=True):
        codes = sorted(group["code"])
        total = sum(sizes[code] for code in codes)
        if total <= max_cells:
            plan.append(Partition(str(province), tuple(codes), total))
            continue
        for prefecture, inner in group.groupby("prefecture", sort=True):
            plan.extend(_runs(sorted(inner["code"]), sizes, str(prefecture), max_cells))
    return plan


def given_partitions(groups: list[list[str]]) -> list[Partition]:
    """Parts chosen by hand (any grouping of whole counties), e.g. to show the cut is moot."""
    return [Partition(f"part{i + 1}", tuple(codes), 0) for i, codes in enumerate(groups)]


def halo(bounds: tuple[float, float, float, float], station_lon: Floats, station_lat: Floats,
         horizon_m: float) -> NDArray[np.int64]:  # fmt: skip
    """Indices of the stations within ``horizon_m`` of the box (and some a little beyond)."""
    minx, miny, maxx, maxy = bounds
    dlon, dlat = lon_lat_margin(horizon_m, max(abs(miny), abs(maxy)))
    inside = ((station_lat >= miny - dlat) & (station_lat <= maxy + dlat)
              & (station_lon >= minx - dlon) & (station_lon <= maxx + dlon))  # fmt: skip
    return np.flatnonzero(inside)


def part_bounds(geometries: NDArray[np.object_]) -> tuple[float, float, float, float]:
    box = shapely.bounds(geometries)
    return (float(box[:, 0].min()), float(box[:, 1].min()), float(box[:, 2].max()),
            float(box[:, 3].max()))  # fmt: skip
