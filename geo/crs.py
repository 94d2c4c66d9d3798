"""Chinese web-map coordinate systems: WGS-84 ⇄ GCJ-02 (Amap, Tencent) ⇄ BD-09 (Baidu).

Nuanxin stores WGS-84 (EPSG:4326, what GPS and OSM use) and converts at the edges only; this
module is the one place where the offsets are applied.

GCJ-02 ("Mars coordinates") is not a datum but a deliberate, non-linear obfuscation that
Chinese law requires of published maps: every point inside China is moved by a smooth,
wavy function of its position: 17.6-702 m (over 100 m on 98% of the country; least in
Qinghai near 96.6°E 37.1°N), 500-610 m in Beijing. BD-09 is Baidu's extra twist on top of
GCJ-02 (0.77-0.98 km more; 0.69-1.52 km from WGS-84, 1.3-1.4 km in Beijing). Measured on a
0.02° grid over the polygon below. A point in the wrong system
lands on the wrong street, so never draw GCJ-02/BD-09 points on WGS-84 tiles (OSM) or
WGS-84 points on Amap/Baidu tiles. No EPSG code exists for either; pyproj cannot do this.

The forward transforms are the widely published formulas (Krasovsky-ellipsoid constants
for GCJ-02, ``x_pi = π·3000/180`` for BD-09). Their inverses have no closed form: the usual
one-step "subtract the offset" recipe is off by up to 4.2 m, so here they are solved by
fixed-point iteration until the residual is below 1e-9° (~0.1 mm): 5 rounds in China.

Where the offsets apply: only inside a coarse polygon of China (``is_in_china``); every
function returns points outside it unchanged. The old bounding box (lon 72.004-137.8347,
lat 0.8293-55.8271) alone would also shift Korea, Mongolia, Nepal, northern Vietnam and
Taiwan, so it only serves as a cheap pre-filter. The polygon's land border is Natural Earth
1:110m admin-0 (public domain) simplified to 0.1° (Douglas-Peucker); its sea side is drawn
by hand 20-50 km offshore so that coastal islands (Hainan, Zhoushan, ...) are in. Choices:

* Hong Kong and Macau are INSIDE: Amap, Tencent and Baidu are reported to serve GCJ-02 /
  BD-09 there as on the mainland (Google does not; debatable, so a deliberate choice).
* Taiwan and Penghu are OUTSIDE: Chinese web maps are reported not to offset them. Kinmen
  and Matsu, a few km off Fujian, are inside: a coarse polygon cannot split them from Xiamen.
* Along land borders the polygon is good to roughly 10-30 km, so towns on a border river
  (Heihe, Dandong/Sinuiju, Hekou, Dongxing, ...) may fall on either side.

Membership is tested on the coordinates a function is given, so a round trip is exact only
for points at least ~1.5 km inside the polygon (the offset can carry a point across it).

All functions take (lon, lat) in GeoJSON order, as scalars (returning floats) or array-likes
(returning float64 arrays, vectorised). NaN in either coordinate gives NaN in both outputs;
a longitude outside [-180, 180] or a latitude outside [-90, 90] raises ``ValueError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, overload

import numpy as np
import numpy.typing as npt
import shapely

if TYPE_CHECKING:
    from pyproj import Transformer

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayIn = npt.NDArray[Any] | Sequence[float]
_Kernel = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]


class CoordSystem(StrEnum):
    """The coordinate systems Nuanxin converts between."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


_ALIASES: Final = {
    **dict.fromkeys(("wgs84", "epsg:4326", "cgcs2000", "epsg:4490", "wgs84ll"), CoordSystem.WGS84),
    **dict.fromkeys(("gcj02", "gcj02ll"), CoordSystem.GCJ02),
    **dict.fromkeys(("bd09", "bd09ll"), CoordSystem.BD09),
}
_ACCEPTED: Final = (
    "wgs84 (WGS-84, EPSG:4326, CGCS2000, EPSG:4490, wgs84ll), gcj02 (GCJ-02, gcj02ll), "
    "bd09 (BD-09, bd09ll)"
)


def parse_coord_system(text: str) -> CoordSystem:
    """Parse a coordinate-system name, case-insensitively; ``-``, ``_`` and spaces are ignored.

    CGCS2000 (EPSG:4490, China's official datum) is treated as WGS-84: the two datums agree
    to a few centimetres (plate motion since CGCS2000's epoch 2000.0 adds under a metre), far
    below what matters for a map of stations. ``*ll`` are the names Baidu's APIs use; Baidu's
    ``bd09mc`` (Mercator metres) is not BD-09 longitude/latitude and is rejected.
    """
    key = text.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown coordinate system {text!r}; accepted: {_ACCEPTED}") from None


# Where the offsets apply (see the module docstring): classic box as pre-filter, then polygon.
CHINA_BBOX: Final = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max
# "lon lat" pairs: the land border (Natural Earth 1:110m, simplified to 0.1°) from the Yalu
# mouth round to Dongxing, then the hand-drawn sea side back via Hainan, Taiwan Strait, Yellow Sea.
_CHINA: Final = shapely.from_wkt(
    "POLYGON(("
    "124.27 39.93, 125.08 40.57, 126.18 41.11, 126.87 41.82, 127.34 41.50, 128.21 41.47, "
    "128.05 41.99, 129.60 42.42, 129.99 42.99, 130.64 42.40, 130.63 42.90, 131.14 42.93, "
    "131.29 44.11, 131.03 44.97, 131.88 45.32, 133.10 45.14, 133.77 46.12, 134.11 47.21, "
    "134.50 47.58, 135.03 48.48, 133.37 48.18, 132.51 47.79, 130.99 47.79, 130.58 48.73, "
    "129.40 49.44, 127.66 49.76, 127.29 50.74, 125.95 52.79, 125.07 53.16, 123.57 53.46, "
    "121.00 53.25, 120.18 52.75, 120.73 52.52, 120.74 51.96, 120.18 51.64, 119.28 50.58, "
    "119.29 50.14, 117.88 49.51, 116.68 49.89, 115.49 48.14, 115.74 47.73, 116.31 47.85, "
    "117.30 47.70, 118.06 48.07, 118.87 47.75, 119.77 47.05, 119.66 46.69, 118.87 46.81, "
    "117.42 46.67, 116.72 46.39, 115.99 45.73, 114.46 45.34, 113.46 44.81, 111.87 45.10, "
    "111.35 44.46, 111.83 43.74, 110.41 42.87, 109.24 42.52, 107.74 42.48, 106.13 42.13, "
    "104.96 41.60, 104.52 41.91, 103.31 41.91, 101.83 42.51, 100.85 42.66, 99.52 42.52, "
    "96.35 42.73, 95.76 43.32, 95.31 44.24, 94.69 44.35, 93.48 44.98, 90.95 45.29, "
    "90.59 45.72, 90.97 46.89, 90.28 47.69, 88.85 48.07, 88.01 48.60, 87.75 49.30, "
    "87.36 49.21, 86.60 48.55, 85.77 48.46, 85.72 47.45, 85.16 47.00, 83.18 47.33, "
    "82.46 45.54, 79.97 44.92, 80.87 43.18, 80.18 42.92, 80.26 42.35, 80.12 42.12, "
    "78.54 41.58, 78.19 41.19, 76.90 41.07, 76.53 40.43, 75.47 40.56, 73.82 39.89, "
    "73.96 39.66, 73.68 39.43, 73.93 38.51, 74.26 38.61, 74.86 38.38, 74.98 37.42, "
    "75.16 37.13, 75.90 36.67, 76.19 35.90, 77.84 35.49, 78.91 34.32, 78.81 33.51, "
    "79.21 32.99, 79.18 32.48, 78.46 32.62, 78.74 31.52, 79.72 30.88, 81.11 30.18, "
    "81.53 30.42, 82.33 30.12, 83.34 29.46, 83.90 29.32, 84.23 28.84, 85.01 28.64, "
    "85.82 28.20, 88.12 27.88, 88.73 28.09, 88.81 27.30, 89.48 28.04, 90.02 28.30, "
    "91.26 28.04, 91.70 27.77, 92.50 27.90, 93.41 28.64, 94.57 29.28, 95.40 29.03, "
    "96.12 29.45, 96.59 28.83, 96.25 28.41, 97.33 28.26, 97.91 28.34, 98.25 27.75, "
    "98.68 27.51, 98.67 25.92, 97.72 25.08, 97.60 23.90, 98.66 24.06, 98.90 23.14, "
    "99.53 22.95, 99.24 22.12, 100.42 21.56, 101.15 21.85, 101.27 21.20, 101.80 21.17, "
    "101.65 22.32, 102.71 22.71, 104.48 22.82, 105.33 23.35, 105.81 22.98, 106.73 22.79, "
    "106.57 22.22, 107.04 21.81, 108.05 21.55, 108.20 21.20, 108.30 19.20, 108.40 18.30, "
    "109.40 17.90, 110.30 18.00, 111.40 19.60, 111.80 20.90, 113.20 21.40, 114.40 21.80, "
    "115.60 22.30, 117.00 22.90, 117.80 23.30, 118.60 23.90, 119.30 24.60, 120.10 25.40, "
    "120.30 25.70, 120.90 26.60, 121.60 27.50, 122.00 28.30, 122.60 29.00, 123.00 30.00, "
    "123.00 30.80, 122.50 31.60, 122.00 32.50, 121.40 33.60, 120.50 34.50, 121.00 35.40, "
    "121.80 36.10, 122.90 36.70, 123.10 37.50, 123.40 38.60, 123.90 39.40, 124.27 39.93"
    "))"
)
shapely.prepare(_CHINA)

_A: Final = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE: Final = 0.00669342162296594323  # Krasovsky first eccentricity squared
_X_PI: Final = math.pi * 3000.0 / 180.0
_TOLERANCE: Final = 1e-9  # degrees, ~0.1 mm
_MAX_ROUNDS: Final = 30


def _gcj02_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS-84 at a WGS-84 point, in degrees (dlon, dlat)."""
    x, y = lon - 105.0, lat - 35.0
    waves = (20.0 * np.sin(6.0 * math.pi * x) + 20.0 * np.sin(2.0 * math.pi * x)) * 2.0 / 3.0
    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    north += waves + (20.0 * np.sin(math.pi * y) + 40.0 * np.sin(math.pi * y / 3.0)) * 2.0 / 3.0
    north += (160.0 * np.sin(math.pi * y / 12.0) + 320.0 * np.sin(math.pi * y / 30.0)) * 2.0 / 3.0
    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    east += waves + (20.0 * np.sin(math.pi * x) + 40.0 * np.sin(math.pi * x / 3.0)) * 2.0 / 3.0
    east += (150.0 * np.sin(math.pi * x / 12.0) + 300.0 * np.sin(math.pi * x / 30.0)) * 2.0 / 3.0
    # north/east are metres on the Krasovsky ellipsoid; divide by metres per degree there.
    phi = np.radians(lat)
    w = 1.0 - _EE * np.sin(phi) ** 2
    meridian = _A * (1.0 - _EE) / (w * np.sqrt(w)) * math.pi / 180.0
    parallel = _A / np.sqrt(w) * np.cos(phi) * math.pi / 180.0
    return east / parallel, north / meridian


def _wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    radius = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    angle = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return radius * np.cos(angle) + 0.0065, radius * np.sin(angle) + 0.006


def _inverse(forward: _Kernel) -> _Kernel:
    """Solve ``forward(p) == target`` by fixed-point iteration ``p -= forward(p) - target``.

    Converges because both offsets vary slowly (in China their Jacobians differ from the
    identity by less than 0.03), so each round gains more than 1.5 digits.
    """

    def solve(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        x, y = lon.copy(), lat.copy()
        for _ in range(_MAX_ROUNDS):
            fx, fy = forward(x, y)
            ex, ey = fx - lon, fy - lat
            x, y = x - ex, y - ey
            if np.all(np.abs(ex) < _TOLERANCE) and np.all(np.abs(ey) < _TOLERANCE):
                break
        return x, y

    return solve


def _wgs84_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _gcj02_to_bd09(*_wgs84_to_gcj02(lon, lat))


_gcj02_to_wgs84: Final = _inverse(_wgs84_to_gcj02)
_bd09_to_gcj02: Final = _inverse(_gcj02_to_bd09)


def _bd09_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _gcj02_to_wgs84(*_bd09_to_gcj02(lon, lat))


def _identity(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return lon, lat


_KERNELS: Final[dict[tuple[CoordSystem, CoordSystem], _Kernel]] = {
    (CoordSystem.WGS84, CoordSystem.GCJ02): _wgs84_to_gcj02,
    (CoordSystem.GCJ02, CoordSystem.WGS84): _gcj02_to_wgs84,
    (CoordSystem.GCJ02, CoordSystem.BD09): _gcj02_to_bd09,
    (CoordSystem.BD09, CoordSystem.GCJ02): _bd09_to_gcj02,
    (CoordSystem.WGS84, CoordSystem.BD09): _wgs84_to_bd09,
    (CoordSystem.BD09, CoordSystem.WGS84): _bd09_to_wgs84,
}


def _flat(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray, tuple[int, ...]]:
    """Broadcast to one shape; return 1-D float64 copies and that shape."""
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return x.astype(np.float64).ravel(), y.astype(np.float64).ravel(), x.shape


def _check_range(values: FloatArray, shape: tuple[int, ...], limit: float, name: str) -> None:
    bad = np.flatnonzero(np.abs(values) > limit)  # NaN compares False: NaN is let through
    if bad.size == 0:
        return
    value, span = float(values[bad[0]]), f"[-{limit:g}, {limit:g}]"
    if not shape:
        raise ValueError(f"{name} {value!r} is out of range {span}")
    where = tuple(int(i) for i in np.unravel_index(bad[0], shape))
    index = where[0] if len(where) == 1 else where
    raise ValueError(f"{name} at index {index} is {value!r}, out of range {span}")


def _china_mask(lon: FloatArray, lat: FloatArray) -> BoolArray:
    west, south, east, north = CHINA_BBOX
    mask = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)  # NaN: False
    if mask.any():
        mask[mask] = shapely.contains_xy(_CHINA, lon[mask], lat[mask])
    return mask


def _run(kernel: _Kernel, lon: Any, lat: Any) -> Any:
    """Validate, shift the points inside China, and answer in the shape of the input."""
    x, y, shape = _flat(lon, lat)
    _check_range(x, shape, 180.0, "longitude")
    _check_range(y, shape, 90.0, "latitude")
    missing = np.isnan(x) | np.isnan(y)
    x[missing] = y[missing] = np.nan
    inside = _china_mask(x, y)
    if inside.any():
        x[inside], y[inside] = kernel(x[inside], y[inside])
    if not shape:
        return float(x[0]), float(y[0])
    return x.reshape(shape), y.reshape(shape)


@overload
def is_in_china(lon: float, lat: float) -> bool: ...
@overload
def is_in_china(lon: ArrayIn, lat: ArrayIn) -> BoolArray: ...
def is_in_china(lon: Any, lat: Any) -> Any:
    """Whether the offsets apply at (lon, lat): inside the polygon described above."""
    x, y, shape = _flat(lon, lat)
    mask = _china_mask(x, y)
    return bool(mask[0]) if not shape else mask.reshape(shape)


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(lon: ArrayIn, lat: ArrayIn) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_gcj02(lon: Any, lat: Any) -> Any:
    """WGS-84 → GCJ-02, the system Amap and Tencent expect."""
    return _run(_wgs84_to_gcj02, lon, lat)


@overload
def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(lon: ArrayIn, lat: ArrayIn) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_wgs84(lon: Any, lat: Any) -> Any:
    """GCJ-02 → WGS-84, iterated to < 1e-9° (not the one-step approximation)."""
    return _run(_gcj02_to_wgs84, lon, lat)


@overload
def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_bd09(lon: ArrayIn, lat: ArrayIn) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_bd09(lon: Any, lat: Any) -> Any:
    """GCJ-02 → BD-09."""
    return _run(_gcj02_to_bd09, lon, lat)


@overload
def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def bd09_to_gcj02(lon: ArrayIn, lat: ArrayIn) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_gcj02(lon: Any, lat: Any) -> Any:
    """BD-09 → GCJ-02, iterated to < 1e-9°."""
    return _run(_bd09_to_gcj02, lon, lat)


@overload
def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_bd09(lon: ArrayIn, lat: ArrayIn) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_bd09(lon: Any, lat: Any) -> Any:
    """WGS-84 → BD-09, the system Baidu expects."""
    return _run(_wgs84_to_bd09, lon, lat)


@overload
def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def bd09_to_wgs84(lon: ArrayIn, lat: ArrayIn) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_wgs84(lon: Any, lat: Any) -> Any:
    """BD-09 → WGS-84, iterated to < 1e-9°."""
    return _run(_bd09_to_wgs84, lon, lat)


@overload
def convert(lon: float, lat: float, src: CoordSystem, dst: CoordSystem) -> tuple[float, float]: ...
@overload
def convert(
    lon: ArrayIn, lat: ArrayIn, src: CoordSystem, dst: CoordSystem
) -> tuple[FloatArray, FloatArray]: ...
def convert(lon: Any, lat: Any, src: CoordSystem, dst: CoordSystem) -> Any:
    """Convert (lon, lat) from ``src`` to ``dst``; same system: validated copy, no shift."""
    src, dst = CoordSystem(src), CoordSystem(dst)
    return _run(_identity if src is dst else _KERNELS[src, dst], lon, lat)


def local_projector(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> Transformer:
    """WGS-84 lon/lat to metres on an azimuthal equidistant plane centred on the points' mean:
    the analyses' planar distances within a city (exact from the centre)."""
    from pyproj import CRS, Transformer

    centre = CRS.from_proj4(
        f"+proj=aeqd +lat_0={np.mean(lat):.6f} +lon_0={np.mean(lon):.6f} +datum=WGS84 +units=m"
    )
    return Transformer.from_crs(4326, centre, always_xy=True)


_DEGREE = 'ANGLEUNIT["degree",0.0174532925199433]'
_SHIFTED_WKT = (
    'GEOGCRS["{name}",DATUM["{datum}",ELLIPSOID["WGS 84",6378137,298.257223563,'
    'LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,' + _DEGREE + "],CS[ellipsoidal,2],"
    'AXIS["geodetic latitude (Lat)",north,ORDER[1],' + _DEGREE + "],"
    'AXIS["geodetic longitude (Lon)",east,ORDER[2],' + _DEGREE + '],REMARK["{remark}"]]'
)
_SHIFTED: Final = {
    CoordSystem.GCJ02: ("GCJ-02 (not EPSG:4326)", "GCJ-02 shift of WGS 84",
                        "WGS-84 shifted by China's GCJ-02 algorithm (Amap, Tencent): "
                        "100-700 m off WGS-84; no EPSG code exists"),
    CoordSystem.BD09: ("BD-09 (not EPSG:4326)", "BD-09 shift of WGS 84",
                       "GCJ-02 shifted again by Baidu's BD-09 algorithm: about 1 km off "
                       "WGS-84 in Beijing; no EPSG code exists"),
}  # fmt: skip


def crs_label(system: CoordSystem) -> str:
    """How a file labels coordinates in ``system``: ``EPSG:4326`` for WGS-84; for GCJ-02 and
    BD-09, which have no EPSG code, a geographic CRS (WKT2) named for what they are, so GDAL and
    QGIS show "GCJ-02" instead of silently taking shifted points for WGS-84."""
    if CoordSystem(system) is CoordSystem.WGS84:
        return "EPSG:4326"
    name, datum, remark = _SHIFTED[CoordSystem(system)]
    return _SHIFTED_WKT.format(name=name, datum=datum, remark=remark)


def shifted_system(crs: Any) -> CoordSystem | None:
    """GCJ-02 or BD-09 when a file's CRS (a pyproj ``CRS``) is named as one, as
    :func:`crs_label` names it: its points must be unshifted, not reprojected (PROJ knows no
    transformation and would take them for WGS-84)."""
    name = str(getattr(crs, "name", "") or "")
    if not getattr(crs, "is_geographic", False):  # e.g. Baidu's BD09MC Mercator, in metres
        return None
    # Not \b: a Shapefile's ESRI WKT writes the name as GCS_GCJ-02_not_EPSG_4326.
    if re.search(r"(?i)(?<![a-z0-9])GCJ-?02(?![0-9a-z])", name):
        return CoordSystem.GCJ02
    if re.search(r"(?i)(?<![a-z0-9])BD-?09(?![0-9a-z])", name):
        return CoordSystem.BD09
    return None
