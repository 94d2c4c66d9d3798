"""One partition's coverage: its counties' cells against its stations, as sums per county.

Pure: frames and arrays in, a table out. The engine runs it once for the whole scope (one
process) or once per partition (Dask); both give the same sums, because distances are capped
at the horizon and measured on the sphere (see :mod:`geo.national.sphere`). Sums, not shares,
so provinces cut across partitions add up; :mod:`geo.national.figures` turns them into shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.coverage.analysis import CoverageParams
from geo.coverage.demand import demand_cells
from geo.errors import InvalidInputError
from geo.national.sphere import nearest_two_capped, to_xyz

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class NationalParams(CoverageParams):
    """The district analysis' parameters, plus the horizon a partition's halo is drawn by."""

    # Nearest-station distances beyond this count as this: it bounds the halo a partition
    # needs. The shares (within 1 km, within a walk) never reach it; means and p90s say so.
    horizon_m: float = 20_000.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.h3_resolution > 10:  # 4.6 billion cells for China at 11
            raise InvalidInputError("h3_resolution must be 5..10 nationally", field="h3_resolution")
        reach = max(self.radius_m, self.walk_m / self.detour_factor)
        if not reach < self.horizon_m <= 500_000:
            raise InvalidInputError(
                f"horizon_m must be above the {reach:g} m a walk reaches and at most 500 km",
                field="horizon_m",
            )


SUM_COLUMNS = (
    "cells",
    "residents",
    "residents_within_radius",
    "residents_within_walk",
    "residents_two_plus",
    "residents_beyond_horizon",
    "residents_nearest_m_sum",
    "cells_within_radius",
    "cells_within_walk",
    "cells_two_plus",
    "cells_beyond_horizon",
    "cells_nearest_m_sum",
)


@dataclass(frozen=True)
class PartitionOutput:
    sums: pd.DataFrame  # one row per county: code, stations, SUM_COLUMNS, p90_nearest_m
    cells: pd.DataFrame | None  # h3, code, residents, nearest_m, second_m (when asked)
    cell_count: int


def partition_sums(
    counties: geopandas.GeoDataFrame,
    station_lon: Floats,
    station_lat: Floats,
    station_county: NDArray[np.object_],
    params: NationalParams,
    *,
    keep_cells: bool = False,
) -> PartitionOutput:
    """Sums per county of ``counties`` (code, population NaN when unknown, geometry).

    ``station_*`` are every station that can matter (the partition's own and its halo);
    ``station_county`` the county each lies in, decided once for the whole scope so a station
    on a shared border is counted once.
    """
    counties = counties.reset_index(drop=True)
    cells = demand_cells(counties, params.h3_resolution)
    owner = cells["boundary"].to_numpy()
    nearest, second = nearest_two_capped(
        to_xyz(cells["lon"].to_numpy(), cells["lat"].to_numpy()),
        to_xyz(station_lon, station_lat),
        params.horizon_m,
    )
    reach = params.walk_m / params.detour_factor
    within_radius, within_walk = nearest <= params.radius_m, nearest <= reach
    two_plus = within_walk & (second <= reach)
    beyond = nearest >= params.horizon_m
    count = len(counties)
    residents = cells["residents"].to_numpy()

    def total(weights: Floats) -> Floats:
        return np.bincount(owner, weights=weights, minlength=count).astype(np.float64)

    ones = np.ones(len(cells))
    sums = {"cells": total(ones), "residents": total(residents)}
    for name, weight in (("residents", residents), ("cells", ones)):
        sums[f"{name}_within_radius"] = total(weight * within_radius)
        sums[f"{name}_within_walk"] = total(weight * within_walk)
        sums[f"{name}_two_plus"] = total(weight * two_plus)
        sums[f"{name}_beyond_horizon"] = total(weight * beyond)
        sums[f"{name}_nearest_m_sum"] = total(weight * nearest)
    known = counties["population"].notna().to_numpy()
    basis = np.where(known[owner], residents, 1.0)  # unknown population: by area (cells)
    table = pd.DataFrame({"code": counties["code"].to_numpy(), **sums})
    table["p90_nearest_m"] = county_quantile(nearest, basis, owner, count, 0.9)
    table.loc[~known, "residents"] = np.nan
    codes = counties["code"].to_numpy()
    table.insert(1, "stations", _station_counts(codes, station_county))
    kept = None
    if keep_cells:
        kept = pd.DataFrame(
            {
                "h3": cells["h3"].to_numpy(),
                "code": codes[owner],
                "residents": residents,
                "nearest_m": nearest,
                "second_m": second,
            }
        )
    return PartitionOutput(
        table[["code", "stations", *SUM_COLUMNS, "p90_nearest_m"]], kept, len(cells)
    )


def county_quantile(
    values: Floats, weights: Floats, groups: NDArray[np.int64], count: int, q: float
) -> Floats:
    """The weighted ``q`` quantile per group, from sums restarted in every group.

    :func:`geo.coverage.analysis.grouped_weighted_quantile` runs one cumulative sum over all
    groups, so a county's rounding depends on the counties before it, and with equal weights
    (a county's cells) the 90 % mark falls exactly between two cells: which one it picks would
    then depend on the partition. Here each group sums alone.
    """
    result = np.full(count, np.nan)
    if len(values) == 0:
        return result
    order = np.lexsort((values, groups))
    frame = pd.DataFrame({"group": groups[order], "value": values[order], "weight": weights[order]})
    frame["running"] = frame.groupby("group")["weight"].cumsum()
    frame["total"] = frame.groupby("group")["weight"].transform("sum")
    reached = frame[frame["running"] >= q * frame["total"] * (1 - 1e-12)]
    first = reached.groupby("group")["value"].first()
    has = frame.groupby("group")["total"].first() > 0
    first = first[has.reindex(first.index, fill_value=False)]
    result[first.index.to_numpy()] = first.to_numpy()
    return result


def _station_counts(codes: NDArray[np.object_], station_county: NDArray[np.object_]) -> list[int]:
    counts = pd.Series(station_county).value_counts()
    return [int(counts.get(code, 0)) for code in codes]
