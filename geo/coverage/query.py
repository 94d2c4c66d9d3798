"""The coverage analysis as every caller runs it: the CLI, ``/coverage``, the report map and
the planner's page ask the same question the same way, so their figures cannot drift apart.

A :class:`CoverageQuery` is what a planner chooses (which stations count, at what moment, how
far a walk is); :func:`run_coverage` chooses the supply, runs the pure analysis and states in
the method where the populations came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import geopandas
import pandas as pd

from geo.coverage.analysis import CoverageParams, CoverageResult, analyse
from geo.coverage.supply import DEFAULT_STATUSES, Supply, select_supply
from geo.coverage.whatif import StationChange, apply_changes, compare


@dataclass(frozen=True)
class CoverageQuery:
    """What counts as supply and what a walk is; hashable, so results can be cached by it."""

    kinds: tuple[str, ...] | None = None  # all kinds
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    at: datetime | None = None  # aware; None ignores opening hours
    params: CoverageParams = field(default_factory=CoverageParams)


@dataclass(frozen=True)
class CoverageRun:
    result: CoverageResult
    supply: Supply


def run_coverage(query: CoverageQuery, boundaries: geopandas.GeoDataFrame,
                 stations: geopandas.GeoDataFrame, *,
                 workers: geopandas.GeoDataFrame | None = None, cells: pd.DataFrame | None = None,
                 demand: str | None = None, network: geopandas.GeoDataFrame | None = None,
                 ) -> CoverageRun:  # fmt: skip
    """Select the supply from ``stations`` and analyse ``boundaries`` (see
    :func:`geo.coverage.analysis.analyse` for ``workers``, ``cells``, ``demand`` and
    ``network``)."""
    supply = select_supply(stations, kinds=query.kinds, statuses=query.statuses, at=query.at)
    result = analyse(boundaries, supply.stations, query.params, cells=cells, workers=workers,
                     supply=supply.description, demand=demand, network=network)  # fmt: skip
    method = {**result.method, "population": population_note(boundaries)}
    return CoverageRun(dataclasses.replace(result, method=method), supply)


@dataclass(frozen=True)
class WhatIf:
    """Today's coverage, the plan's, and each figure before, after and the change."""

    before: CoverageRun
    after: CoverageRun
    comparison: pd.DataFrame


def run_what_if(query: CoverageQuery, boundaries: geopandas.GeoDataFrame,
                stations: geopandas.GeoDataFrame, changes: Sequence[StationChange],
                **inputs: Any) -> WhatIf:  # fmt: skip
    """:func:`run_coverage` on ``stations`` and on them with ``changes`` made (add, move, open,
    close; see :mod:`geo.coverage.whatif`), on the same demand."""
    before = run_coverage(query, boundaries, stations, **inputs)
    after = run_coverage(query, boundaries, apply_changes(stations, changes), **inputs)
    return WhatIf(before, after, compare(before.result.per_boundary, after.result.per_boundary))


def population_note(boundaries: geopandas.GeoDataFrame) -> str:
    """Where the populations came from, and how many boundaries had none (they count 0)."""
    known = boundaries[boundaries["population"].notna()]
    sources = sorted({f"{source or 'unknown source'} ({int(year) if year == year else '?'})"
                      for source, year in zip(known["population_source"],
                                              known["population_year"], strict=True)})  # fmt: skip
    note = "; ".join(sources) or "none recorded"
    missing = len(boundaries) - len(known)
    if missing:
        note += (
            f"; {missing} boundaries without a population: shares by area, residents "
            "unknown (import some with nuanxin import population)"
        )
    return note
