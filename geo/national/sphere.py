"""Distances on the sphere: one metric for the whole country, whatever the partition.

A district run measures on a local projection centred on its data; a national run cannot, since
each partition would then measure on its own projection and the answer would depend on the cut.
Points go to 3-D coordinates on the mean-radius sphere (IUGG, 6,371,008.8 m); a k-d tree finds
the nearest by chord, and the chord becomes the great-circle distance. Against the WGS-84
ellipsoid's geodesic this is within 0.5 % (3 m at 1 km's walk radius, stated in the method).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

Floats = NDArray[np.float64]

EARTH_RADIUS_M = 6_371_008.8


def to_xyz(lon: Floats, lat: Floats) -> Floats:
    """Metres on the sphere, one row per point."""
    lam, phi = np.radians(lon), np.radians(lat)
    cos_phi = np.cos(phi)
    return EARTH_RADIUS_M * np.column_stack(
        (cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi))
    )


def chord_of(arc_m: float) -> float:
    return float(2 * EARTH_RADIUS_M * np.sin(arc_m / (2 * EARTH_RADIUS_M)))


def arc_of(chord_m: Floats) -> Floats:
    ratio = np.clip(chord_m / (2 * EARTH_RADIUS_M), 0.0, 1.0)
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(ratio), dtype=np.float64)


def nearest_two_capped(cell_xyz: Floats, station_xyz: Floats,
                       horizon_m: float) -> tuple[Floats, Floats]:  # fmt: skip
    """Great-circle metres to the nearest and second-nearest station, capped at ``horizon_m``.

    The cap is what makes a partition's answer exact with only the stations within the
    horizon of it (its halo): any station farther away cannot change a capped distance.
    """
    n = len(cell_xyz)
    nearest, second = np.full(n, horizon_m), np.full(n, horizon_m)
    if len(station_xyz) == 0 or n == 0:
        return nearest, second
    k = 2 if len(station_xyz) > 1 else 1
    chords, _ = cKDTree(station_xyz).query(cell_xyz, k=k,
                                           distance_upper_bound=chord_of(horizon_m))  # fmt: skip
    chords = np.asarray(chords, dtype=np.float64).reshape(n, k)
    arcs = np.minimum(arc_of(np.where(np.isfinite(chords), chords, 2 * EARTH_RADIUS_M)),
                      horizon_m)  # fmt: skip
    nearest = arcs[:, 0]
    if k == 2:
        second = arcs[:, 1]
    return nearest, second


def lon_lat_margin(horizon_m: float, max_abs_lat: float) -> tuple[float, float]:
    """Degrees of longitude and latitude that hold every point within ``horizon_m`` of a box
    whose latitudes reach ``max_abs_lat``: the spherical cap's widest longitude, made safe."""
    angle = horizon_m / EARTH_RADIUS_M
    dlat = float(np.degrees(angle)) * 1.001 + 1e-6
    reach = min(abs(max_abs_lat) + dlat, 90.0)
    if reach >= 89.0:
        return 360.0, dlat
    dlon = float(np.degrees(np.arcsin(min(1.0, np.sin(angle) / np.cos(np.radians(reach))))))
    return dlon * 1.001 + 1e-6, dlat
