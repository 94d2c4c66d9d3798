"""Stored national runs for the API and page tests: Beijing, Tianjin and Hebei at H3
resolution 8 against illustrative stations, computed once per test run from the real census
in ``../shared/data/china`` and stored through the CLI's own functions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Engine, text

from geo.national.counties import (
    NationalDemand,
    in_scope,
    national_demand,
    read_census,
    read_county_polygons,
)
from geo.national.engine import NationalResult, Stations, run_single
from geo.national.kernel import NationalParams
from geo.national.siting import InlineClient, NationalSiting, site_national
from geo.national.siting_parts import SitingParams
from geo.national.store import store_run, store_siting
from geo.national.synthetic import synthetic_stations
from tests.geo.national.conftest import CENSUS

PROVINCES = ["11", "12", "13"]
SCOPE = "province 11, 12, 13"


@dataclass(frozen=True)
class Runs:
    demand: NationalDemand
    params: NationalParams
    coverage: NationalResult
    siting_params: SitingParams
    siting: NationalSiting


@cache
def bth_runs(resolution: int = 8, stations: int = 2_000, p: int = 60) -> Runs:
    census = read_census(CENSUS)
    names = dict(zip(census["code6"].str[:2], census["province"], strict=True))
    demand = in_scope(national_demand(read_county_polygons(), census), PROVINCES)
    points = synthetic_stations(demand.counties, demand.counties["urban_population"], stations)
    supply = Stations.locate(points, demand.counties)
    params = NationalParams(h3_resolution=resolution)
    coverage = run_single(demand, supply, params, province_names=names)
    siting_params = SitingParams(params, p=p)
    siting = site_national(demand, supply, siting_params, InlineClient())
    return Runs(demand, params, coverage, siting_params, siting)


@contextmanager
def stored(engine: Engine, runs: Runs) -> Iterator[tuple[int, int]]:
    """Both runs stored as the CLI's ``--store`` stores them; removed afterwards."""
    with engine.begin() as conn:
        run_id = store_run(conn, runs.coverage, runs.demand, runs.params, scope=SCOPE)
        siting_id = store_siting(conn, runs.siting, runs.siting_params, scope=SCOPE)
    try:
        yield run_id, siting_id
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM national_runs WHERE id = :id"), {"id": run_id})
            conn.execute(text("DELETE FROM national_sitings WHERE id = :id"), {"id": siting_id})
