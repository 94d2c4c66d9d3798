"""Supply selection: kind, lifecycle status and opening hours at a moment, Chinese calendar."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import geopandas
import pytest
from shapely import Point

from geo.coverage.supply import select_supply
from geo.errors import InvalidInputError

BEIJING = ZoneInfo("Asia/Shanghai")


def _stations() -> geopandas.GeoDataFrame:
    rows = [
        ("office", "subdistrict_station", "open", "Mo-Fr 08:30-17:30"),
        ("all-day", "rest_point", "open", "24/7"),
        ("early", "sanitation_care_point", "open", "Mo-Su 04:30-09:00"),
        ("no-hours", "water_point", "open", None),
        ("planned", "subdistrict_station", "planned", "Mo-Fr 08:30-17:30"),
        ("closed", "rest_point", "closed", "24/7"),
    ]
    return geopandas.GeoDataFrame(
        [{"external_id": i, "kind": k, "status": s, "opening_hours": h} for i, k, s, h in rows],
        geometry=[Point(116.3 + n / 100, 39.9) for n in range(len(rows))], crs=4326,
    )  # fmt: skip


def _ids(supply) -> list[str]:
    return sorted(supply.stations["external_id"])


def test_default_is_every_open_station_whatever_the_time():
    supply = select_supply(_stations())
    assert _ids(supply) == ["all-day", "early", "no-hours", "office"]
    assert supply.description.startswith("4 of 6 stations")


def test_sunday_five_in_the_morning_for_sanitation_shifts():
    supply = select_supply(_stations(), at=datetime(2026, 11, 29, 5, 0, tzinfo=BEIJING))
    assert _ids(supply) == ["all-day", "early", "no-hours"]
    assert supply.closed_at_time == 1  # the office
    assert supply.unknown_hours == 1
    assert "1 without recorded hours counted as open" in supply.description


def test_workday_evening_and_a_make_up_workday():
    tuesday_evening = datetime(2026, 11, 24, 20, 30, tzinfo=BEIJING)
    assert _ids(select_supply(_stations(), at=tuesday_evening)) == ["all-day", "no-hours"]
    # Sunday 2026-09-20 is a make-up workday (调休) for the National Day holiday: offices open.
    makeup_sunday = datetime(2026, 9, 20, 10, 0, tzinfo=BEIJING)
    assert "office" in _ids(select_supply(_stations(), at=makeup_sunday))
    # Thursday 2026-10-01 is National Day: the office is shut on a weekday.
    national_day = datetime(2026, 10, 1, 10, 0, tzinfo=BEIJING)
    assert "office" not in _ids(select_supply(_stations(), at=national_day))


def test_kinds_and_statuses_select_what_a_what_if_needs():
    supply = select_supply(_stations(), kinds=["subdistrict_station"],
                           statuses=["open", "planned"])  # fmt: skip
    assert _ids(supply) == ["office", "planned"]


def test_bad_choices_are_refused_with_the_allowed_values():
    with pytest.raises(InvalidInputError, match="unknown kind teahouse; choose from"):
        select_supply(_stations(), kinds=["teahouse"])
    with pytest.raises(InvalidInputError, match="unknown status shut"):
        select_supply(_stations(), statuses=["shut"])
    with pytest.raises(InvalidInputError, match="needs a zone"):
        select_supply(_stations(), at=datetime(2026, 11, 29, 5, 0))
