"""Real national data (../shared/data/china, read in place) and a 2-worker Dask LocalCluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from geo.national.counties import NationalDemand, national_demand, read_census, read_county_polygons
from tests.conftest import SHARED_BEIJING

CENSUS = SHARED_BEIJING.parent / "china" / "county_population_census2020.csv"
needs_census = pytest.mark.skipif(not CENSUS.exists(), reason="../shared data not present")


@pytest.fixture(scope="session")
def census() -> Any:
    return read_census(CENSUS)


@pytest.fixture(scope="session")
def china(census: Any) -> NationalDemand:
    return national_demand(read_county_polygons(), census)


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    from geo.national.engine import dask_client

    with dask_client(None, workers=2, memory_limit="2GiB") as client:
        yield client
