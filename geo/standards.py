"""The standards every part of Nuanxin agrees on, each defined once.

* The union's service standard: a station within 1 km, or a 15-minute walk.
* The walking model behind "a walk": 80 m a minute (about 4.8 km/h, a tired worker's pace),
  and streets 1.3 times as long as the straight line in a city grid when no network is loaded.
* China's one time zone: naive times anywhere in the product are Beijing time.
* The national statistical division code (统计用区划代码) of a boundary: 12 digits.
"""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

from geo.errors import InvalidInputError

RADIUS_M: Final = 1000.0
WALK_MIN: Final = 15.0
WALK_SPEED_M_PER_MIN: Final = 80.0
DETOUR_FACTOR: Final = 1.3
BEIJING: Final = ZoneInfo("Asia/Shanghai")  # the IANA name of China's zone
BOUNDARY_CODE_DIGITS: Final = 12
BOUNDARY_CODE_PATTERN: Final = "^[0-9]{12}$"  # also a CHECK constraint (geo.store.models)


def is_boundary_code(text: str) -> bool:
    """Twelve ASCII digits (``isdigit`` alone would accept other scripts' digits)."""
    return len(text) == BOUNDARY_CODE_DIGITS and text.isascii() and text.isdigit()


def boundary_code(text: str, field: str = "boundary") -> str:
    """``text`` if it is a boundary code, else a clear error naming ``field``."""
    if not is_boundary_code(text):
        raise InvalidInputError(f"boundary code {text!r} is not 12 digits", field=field)
    return text
