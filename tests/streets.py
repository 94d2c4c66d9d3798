"""A small street network for walking tests: two river banks joined by one bridge far east.

South bank y = 39.850, north bank y = 39.853 (333 m apart), both from lon 116.20 to 116.26;
the only crossing is a footbridge at lon 116.26, about 5.1 km east of the west ends.
"""

from __future__ import annotations

from pathlib import Path

import geopandas
import numpy as np
from shapely import LineString

SOUTH, NORTH, BRIDGE_LON, WEST_LON = 39.850, 39.853, 116.26, 116.20


def write_banks(path: Path) -> Path:
    lons = np.linspace(WEST_LON, BRIDGE_LON, 61)  # a vertex every ~85 m
    lines = [LineString([(lon, SOUTH) for lon in lons]),
             LineString([(lon, NORTH) for lon in lons]),
             LineString([(BRIDGE_LON, SOUTH), (BRIDGE_LON, NORTH)])]  # fmt: skip
    geopandas.GeoDataFrame(geometry=lines, crs=4326).to_file(path, driver="GeoJSON")
    return path
