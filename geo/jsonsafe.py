"""Numbers from numpy/pandas results made fit for JSON: plain Python, no NaN or infinity."""

from __future__ import annotations

import math
from typing import Any


def json_scalar(value: Any, digits: int | None = None) -> Any:
    """numpy scalars as Python values; NaN and ±inf as ``None`` (JSON has neither); floats
    rounded to ``digits`` when given. Anything else is returned as it is."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits) if digits is not None else value
    return value
