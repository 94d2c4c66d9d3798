"""The shared standards: one boundary-code rule, used by every place that checks a code."""

from __future__ import annotations

import pytest

from geo.coverage.analysis import CoverageParams
from geo.errors import InvalidInputError
from geo.locator.rules import walking_minutes
from geo.siting.job import SitingJobParams
from geo.standards import (
    DETOUR_FACTOR,
    WALK_MIN,
    WALK_SPEED_M_PER_MIN,
    boundary_code,
    is_boundary_code,
)

FULL_WIDTH = "１１０１０６０００００"  # what an IME may type: str.isdigit() accepts these


@pytest.mark.parametrize("text", ["110106017000", "000000000000"])
def test_twelve_ascii_digits_are_a_code(text):
    assert is_boundary_code(text)
    assert boundary_code(text) == text


@pytest.mark.parametrize("text", ["11010601700", "1101060170000", "11010601700x", FULL_WIDTH + "00",
                                  "١١٠١٠٦٠١٧٠٠٠", ""])  # fmt: skip
def test_anything_else_is_refused_naming_the_field(text):
    assert not is_boundary_code(text)
    with pytest.raises(InvalidInputError) as caught:
        boundary_code(text, field="within")
    assert caught.value.field == "within"


def test_the_siting_job_uses_the_same_rule():
    """Before, a code of full-width digits passed the job's own isdigit() check."""
    with pytest.raises(ValueError, match="12-digit"):
        SitingJobParams(boundary=[FULL_WIDTH + "00"])


def test_locator_and_coverage_walk_at_the_same_pace():
    params = CoverageParams()
    assert (params.walk_speed_m_per_min, params.detour_factor) == (WALK_SPEED_M_PER_MIN,
                                                                   DETOUR_FACTOR)  # fmt: skip
    reach_m = params.walk_min * params.walk_speed_m_per_min / params.detour_factor
    assert walking_minutes(reach_m) == pytest.approx(WALK_MIN)
