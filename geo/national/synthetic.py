"""Illustrative stations for national benchmarks and tests: seeded, documented, not real.

The rule (also in BENCHMARKS.md): ``count`` stations are shared among the counties in
proportion to their urban residents (largest remainder; unmatched counties get none). In each
county 70 % are placed around its representative point (a normal spread whose deviation is a
tenth of the square root of the county's area, as a county seat draws its stations) and 30 %
uniformly over the county, all inside the county polygon (rejection sampling). Seeded with
``numpy.random.default_rng(seed)``: the same call gives the same stations.
"""

from __future__ import annotations

import geopandas
import numpy as np
import pandas as pd
import shapely

from geo.coverage.demand import geodesic_km2

ILLUSTRATIVE = "illustrative: synthetic stations from geo.national.synthetic, not real places"


def _allocate(weights: np.ndarray, count: int) -> np.ndarray:
    share = weights / weights.sum() * count
    base: np.ndarray = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - base), kind="stable")
    base[order[: count - int(base.sum())]] += 1
    return base


def _inside(
    polygon: shapely.Geometry,
    rng: np.random.Generator,
    n: int,
    centre: tuple[float, float],
    spread_deg: float,
    clustered: bool,
) -> np.ndarray:
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    found: list[np.ndarray] = []
    need, tries = n, 0
    while need > 0 and tries < 60:
        batch = max(need * 4, 16)
        if clustered:
            xy = rng.normal(centre, spread_deg, size=(batch, 2))
        else:
            xy = np.column_stack((rng.uniform(minx, maxx, batch), rng.uniform(miny, maxy, batch)))
        ok = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])][:need]
        found.append(ok)
        need -= len(ok)
        tries += 1
    points = np.concatenate(found) if found else np.empty((0, 2))
    if len(points) < n:  # a sliver the sampler keeps missing: the representative point
        points = np.vstack([points, np.repeat([centre], n - len(points), axis=0)])
    return points


def synthetic_stations(counties: geopandas.GeoDataFrame, urban: pd.Series, count: int,
                       seed: int = 20201101) -> geopandas.GeoDataFrame:  # fmt: skip
    """``count`` illustrative stations over ``counties`` (code, geometry), by ``urban``
    residents per county (aligned with ``counties``; NaN = none)."""
    rng = np.random.default_rng(seed)
    weights = urban.fillna(0).to_numpy(np.float64)
    per_county = _allocate(weights, count) if weights.sum() > 0 else np.zeros(len(counties), int)
    rows: list[np.ndarray] = []
    codes: list[str] = []
    for code, polygon, n in zip(counties["code"], counties.geometry, per_county, strict=True):
        if n == 0:
            continue
        point = polygon.representative_point()
        spread = 0.1 * np.sqrt(geodesic_km2(polygon)) / 111.0
        clustered = round(n * 0.7)
        rows.append(_inside(polygon, rng, clustered, (point.x, point.y), spread, True))
        rows.append(_inside(polygon, rng, int(n) - clustered, (point.x, point.y), spread, False))
        codes.extend([code] * int(n))
    xy = np.vstack(rows) if rows else np.empty((0, 2))
    return geopandas.GeoDataFrame(
        {"id": [f"synthetic-{i:06d}" for i in range(len(xy))], "county": codes,
         "source": ILLUSTRATIVE},
        geometry=shapely.points(xy), crs=4326,
    )  # fmt: skip
