"""geo.crs: WGS-84 ⇄ GCJ-02 ⇄ BD-09, checked against published pairs and by round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geo import crs
from geo.crs import CoordSystem, convert, parse_coord_system

GEOD = Geod(ellps="WGS84")
FORWARD_TOL = 1e-8  # degrees (~1 mm): our forward transforms reproduce exact published outputs


def metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# --- Published reference pairs -------------------------------------------------------------

# googollee/eviltransform, go/transform_test.go (the same table is in javascript/test.js and
# python/test.py). Their order is (wgsLat, wgsLng, gcjLat, gcjLng); ours is (lon, lat).
EVILTRANSFORM_WGS_GCJ = [
    pytest.param((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597), id="shanghai"),
    pytest.param((113.912316, 22.543847), (113.9171764808363, 22.540796131694766), id="shenzhen"),
    pytest.param((116.377817, 39.911954), (116.38404722455657, 39.91334545536069), id="beijing"),
]


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM_WGS_GCJ)
def test_eviltransform_pairs(wgs, gcj):
    assert crs.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=FORWARD_TOL)
    # eviltransform's own exact inverse only promises 0.5 m; ours lands within ~1 mm.
    assert crs.gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=FORWARD_TOL)


def test_coordtransform_readme_pairs():
    # wandergis/coordtransform, README.md ("result" block for input 116.404, 39.915).
    assert crs.wgs84_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=FORWARD_TOL
    )
    assert crs.gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=FORWARD_TOL
    )
    # Its inverses are the one-step approximations; ours are iterated, 2e-7..5e-7° apart.
    assert crs.bd09_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.39762729119315, 39.90865673957631), abs=1e-6
    )
    assert crs.gcj02_to_wgs84(116.404, 39.915) == pytest.approx(
        (116.39775550083061, 39.91359571849836), abs=1e-6
    )


def test_gcoord_spec_pairs():
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts and BD09.spec.ts: input [123, 45], values
    # given to 8 decimals and checked there with toBeCloseTo(x, 5), i.e. within 5e-6.
    assert crs.gcj02_to_bd09(123, 45) == pytest.approx((123.00636499, 45.00636899), abs=1e-7)
    assert crs.gcj02_to_wgs84(123, 45) == pytest.approx((122.99395597, 44.99804071), abs=5e-6)
    assert crs.bd09_to_gcj02(123, 45) == pytest.approx((122.99363304, 44.99365430), abs=5e-6)
    assert crs.bd09_to_wgs84(123, 45) == pytest.approx((122.98762210, 44.99171540), abs=5e-6)


# --- Round trips and offsets ---------------------------------------------------------------

RING = [(math.cos(a) * 0.03, math.sin(a) * 0.03) for a in np.linspace(0, 2 * math.pi, 8, False)]


def well_inside(lon: float, lat: float) -> bool:
    """Inside the China polygon with ~3 km to spare (more than the largest BD-09 offset)."""
    lons = np.array([lon] + [lon + dx for dx, _ in RING])
    lats = np.array([lat] + [lat + dy for _, dy in RING])
    return bool(crs.is_in_china(lons, lats).all())


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=73.0, max_value=135.1, allow_nan=False),
    st.floats(min_value=17.9, max_value=53.6, allow_nan=False),
)
def test_round_trips_and_offsets(lon, lat):
    assume(well_inside(lon, lat))
    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    assert metres(lon, lat, *crs.gcj02_to_wgs84(g_lon, g_lat)) < 0.5
    b_lon, b_lat = crs.wgs84_to_bd09(lon, lat)
    assert metres(lon, lat, *crs.bd09_to_wgs84(b_lon, b_lat)) < 0.5
    assert metres(g_lon, g_lat, *crs.bd09_to_gcj02(*crs.gcj02_to_bd09(g_lon, g_lat))) < 0.5
    # Measured on a 0.02° grid over the polygon: GCJ-02 17.6-701.7 m, BD-09 689-1516 m.
    assert 15.0 < metres(lon, lat, g_lon, g_lat) < 705.0
    assert 680.0 < metres(lon, lat, b_lon, b_lat) < 1520.0


def test_round_trip_100k_points():
    rng = np.random.default_rng(20240601)
    lon, lat = rng.uniform(73.0, 135.1, 300_000), rng.uniform(17.9, 53.6, 300_000)
    keep = crs.is_in_china(lon, lat)
    for dx, dy in RING:
        keep &= crs.is_in_china(lon + dx, lat + dy)
    lon, lat = lon[keep][:100_000], lat[keep][:100_000]
    assert lon.size == 100_000

    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = crs.wgs84_to_bd09(lon, lat)
    gcj_error = metres(lon, lat, *crs.gcj02_to_wgs84(g_lon, g_lat)).max()
    bd_error = metres(lon, lat, *crs.bd09_to_wgs84(b_lon, b_lat)).max()
    offset, bd_offset = metres(lon, lat, g_lon, g_lat), metres(lon, lat, b_lon, b_lat)
    print(
        f"\n100k China points: max round-trip error wgs84→gcj02→wgs84 {gcj_error:.2e} m, "
        f"wgs84→bd09→wgs84 {bd_error:.2e} m; GCJ-02 offset {offset.min():.1f}-"
        f"{offset.max():.1f} m, BD-09 offset {bd_offset.min():.1f}-{bd_offset.max():.1f} m"
    )
    assert gcj_error < 0.5 and bd_error < 0.5
    assert offset.min() > 15.0 and offset.max() < 705.0


def test_beijing_offset_is_about_half_a_kilometre():
    lon, lat = 116.3975, 39.9087  # Tiananmen, WGS-84
    assert 500 < metres(lon, lat, *crs.wgs84_to_gcj02(lon, lat)) < 620


# --- Where the offsets apply ---------------------------------------------------------------

OUTSIDE = {
    "london": (-0.1276, 51.5072),
    "tokyo": (139.6917, 35.6895),
    "seoul": (126.9780, 37.5665),
    "pyongyang": (125.7625, 39.0392),
    "ulaanbaatar": (106.9057, 47.8864),
    "hanoi": (105.8342, 21.0278),
    "kathmandu": (85.3240, 27.7172),
    "taipei": (121.5654, 25.0330),
    "kaohsiung": (120.3014, 22.6273),
    "vladivostok": (131.8869, 43.1155),
}
INSIDE = {
    "beijing": (116.3975, 39.9087),
    "shanghai": (121.4737, 31.2304),
    "urumqi": (87.6168, 43.8256),
    "lhasa": (91.1409, 29.6456),
    "sanya": (109.5120, 18.2528),
    "mohe": (122.5386, 52.9722),
    "hong-kong": (114.1694, 22.3193),
    "macau": (113.5439, 22.1987),
}


@pytest.mark.parametrize("point", OUTSIDE.values(), ids=OUTSIDE.keys())
def test_points_outside_china_are_unchanged(point):
    assert not crs.is_in_china(*point)
    for src in CoordSystem:
        for dst in CoordSystem:
            assert convert(*point, src, dst) == point


@pytest.mark.parametrize("point", INSIDE.values(), ids=INSIDE.keys())
def test_points_inside_china_are_shifted(point):
    """Hong Kong and Macau count as inside (documented choice); Taiwan is outside."""
    assert crs.is_in_china(*point)
    assert metres(*point, *crs.wgs84_to_gcj02(*point)) > 100


def test_vectorised_call_shifts_only_chinese_points():
    names = ["beijing", "london", "shanghai", "tokyo", "taipei", "lhasa"]
    points = {**INSIDE, **OUTSIDE}
    lon = np.array([points[n][0] for n in names])
    lat = np.array([points[n][1] for n in names])
    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    assert isinstance(g_lon, np.ndarray) and g_lon.dtype == np.float64 and g_lon.shape == (6,)
    moved = (g_lon != lon) | (g_lat != lat)
    assert moved.tolist() == [n in INSIDE for n in names]
    for i, name in enumerate(names):  # the vectorised answer equals the scalar one
        assert (g_lon[i], g_lat[i]) == pytest.approx(crs.wgs84_to_gcj02(*points[name]), abs=1e-12)


def test_shapes_lists_and_scalars():
    lon, lat = crs.wgs84_to_bd09([116.4, 116.5], [39.9, 40.0])
    assert lon.shape == lat.shape == (2,)
    grid_lon, grid_lat = crs.bd09_to_wgs84(np.full((2, 3), 116.4), np.full((2, 3), 39.9))
    assert grid_lon.shape == grid_lat.shape == (2, 3)
    scalar = crs.gcj02_to_wgs84(116.4, 39.9)
    assert type(scalar[0]) is float and type(scalar[1]) is float
    assert crs.wgs84_to_gcj02(np.float64(116.4), np.float64(39.9)) == crs.wgs84_to_gcj02(
        116.4, 39.9
    )
    empty = crs.gcj02_to_wgs84(np.array([]), np.array([]))
    assert empty[0].shape == (0,)


def test_convert_matches_named_functions():
    lon, lat = 116.3975, 39.9087
    assert convert(lon, lat, CoordSystem.WGS84, CoordSystem.BD09) == crs.wgs84_to_bd09(lon, lat)
    assert convert(lon, lat, CoordSystem.BD09, CoordSystem.GCJ02) == crs.bd09_to_gcj02(lon, lat)
    assert convert(lon, lat, CoordSystem.GCJ02, CoordSystem.GCJ02) == (lon, lat)


# --- Bad input -----------------------------------------------------------------------------


def test_nan_in_nan_out():
    assert all(math.isnan(v) for v in crs.wgs84_to_gcj02(math.nan, 39.9))
    lon, lat = crs.gcj02_to_wgs84(np.array([116.4, np.nan, 116.4]), np.array([39.9, 39.9, np.nan]))
    assert not math.isnan(lon[0]) and np.isnan(lon[1:]).all() and np.isnan(lat[1:]).all()


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (200.0, 39.9, "longitude 200.0 "),
        (-180.5, 39.9, "longitude -180.5 "),
        (116.4, 95.0, "latitude 95.0 "),
        (math.inf, 39.9, "longitude inf "),
    ],
)
def test_out_of_range_scalar_names_the_value(lon, lat, message):
    with pytest.raises(ValueError, match=message):
        crs.wgs84_to_gcj02(lon, lat)


def test_out_of_range_array_names_the_first_bad_index():
    lon = np.array([116.4, 116.5, 190.0, 200.0])
    with pytest.raises(ValueError, match=r"longitude at index 2 is 190\.0"):
        crs.wgs84_to_gcj02(lon, np.full(4, 39.9))
    with pytest.raises(ValueError, match=r"latitude at index 1 is -91\.0"):
        convert([116.4, 116.4], [39.9, -91.0], CoordSystem.BD09, CoordSystem.WGS84)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wgs84", CoordSystem.WGS84),
        ("WGS-84", CoordSystem.WGS84),
        ("EPSG:4326", CoordSystem.WGS84),
        ("epsg:4326", CoordSystem.WGS84),
        ("cgcs2000", CoordSystem.WGS84),
        ("CGCS2000", CoordSystem.WGS84),
        ("EPSG:4490", CoordSystem.WGS84),
        ("gcj02", CoordSystem.GCJ02),
        ("GCJ-02", CoordSystem.GCJ02),
        (" gcj_02 ", CoordSystem.GCJ02),
        ("bd09", CoordSystem.BD09),
        ("BD-09", CoordSystem.BD09),
        ("bd09ll", CoordSystem.BD09),
    ],
)
def test_parse_coord_system_aliases(text, expected):
    assert parse_coord_system(text) is expected


@pytest.mark.parametrize("text", ["EPSG:3857", "bd09mc", "", "mars"])
def test_parse_coord_system_rejects_with_accepted_values(text):
    with pytest.raises(ValueError, match="unknown coordinate system") as info:
        parse_coord_system(text)
    assert repr(text) in str(info.value)
    for accepted in ("wgs84", "EPSG:4326", "CGCS2000", "gcj02", "bd09"):
        assert accepted in str(info.value)
