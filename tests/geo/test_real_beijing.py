"""Real-data check: the 343 Beijing subdistrict polygons in ../shared fit the schema.

Read from ../shared/data/beijing (third-party, MIT; never copied into this repository).
"""

from __future__ import annotations

import json

import pytest
from shapely.geometry import shape
from sqlalchemy import text

from geo.importers.upsert import upsert_boundaries
from geo.records import BoundaryRecord
from tests.conftest import SHARED_BEIJING

SUBDISTRICTS = SHARED_BEIJING / "subdistricts.geojson"
pytestmark = pytest.mark.skipif(not SUBDISTRICTS.exists(), reason="../shared data not present")


def _records() -> tuple[list[BoundaryRecord], dict[str, float]]:
    document = json.loads(SUBDISTRICTS.read_text(encoding="utf-8"))
    records, expected_area = [], {}
    for feature in document["features"]:
        p = feature["properties"]
        record = BoundaryRecord(
            code=str(p["code"]),
            name=p["Name"],
            level="subdistrict",
            parent_code=str(p["parentCode"]),
            vintage="bj-subdistricts-2023",
            geometry=shape(feature["geometry"]),
        )
        records.append(record)
        expected_area[str(p["code"])] = p["area_km2_geodesic"]
    return records, expected_area


def test_all_343_subdistricts_load_with_geodesic_areas_within_1_percent(session):
    records, expected_area = _records()
    counts = upsert_boundaries(session, records)
    assert counts.inserted == 343
    rows = session.execute(text(
        "SELECT code, parent_code, area_km2 FROM boundaries WHERE vintage = 'bj-subdistricts-2023'"
    )).all()  # fmt: skip
    assert len(rows) == 343
    for code, parent_code, area in rows:
        assert area == pytest.approx(expected_area[code], rel=0.01), code
        assert parent_code[:6] == code[:6] and parent_code.endswith("000000")
    lugouqiao = next(area for code, _, area in rows if code == "110106017000")
    # The post-2021 卢沟桥街道 (11.84 km²), not the 27.59 km² of the older, larger extent.
    assert lugouqiao == pytest.approx(11.84, rel=0.01)
