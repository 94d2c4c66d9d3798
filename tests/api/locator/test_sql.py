"""How far a KNN shortlist (ordered by planar degrees) is provably complete in true metres."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geo.locator.search import complete_within

GEOD = Geod(ellps="WGS84")


def test_a_short_shortlist_holds_the_whole_radius():
    assert complete_within(39.9, [0.001, 0.002], limit=40, radius_m=5000) == 5000


def test_a_full_shortlist_is_complete_to_its_last_row_along_a_parallel():
    metres = complete_within(39.9, [0.001] * 39 + [0.01], limit=40, radius_m=5000)
    east = GEOD.inv(116.4, 39.9, 116.41, 39.9)[2]  # 0.01° east: the shortest way to go 0.01°
    assert 0.98 * east < metres < east


@settings(max_examples=500, deadline=None)
@given(
    lat=st.floats(18.0, 53.5),  # China
    last=st.floats(0.0005, 0.08),
    angle=st.floats(0.0, 2 * math.pi),
    beyond=st.floats(1.0, 1.5),
)
def test_every_place_left_out_is_at_least_that_far(lat, last, angle, beyond):
    """A place at ``beyond * last`` degrees (so not in the shortlist) is never nearer."""
    lon = 116.0
    d = beyond * last
    other_lon, other_lat = lon + d * math.cos(angle), lat + d * math.sin(angle)
    metres = GEOD.inv(lon, lat, other_lon, other_lat)[2]
    assert metres >= complete_within(lat, [last] * 40, limit=40, radius_m=1e9)
