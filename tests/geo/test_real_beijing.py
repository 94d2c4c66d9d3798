"""Real-data check: the 343 Beijing subdistrict polygons in ../shared import as a user would.

Read from ../shared/data/beijing (third-party, MIT; never copied into this repository).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from geo.errors import InvalidInputError
from geo.importers.files import ImportKind, import_file
from tests.conftest import SHARED_BEIJING

SUBDISTRICTS = SHARED_BEIJING / "subdistricts.geojson"
pytestmark = pytest.mark.skipif(not SUBDISTRICTS.exists(), reason="../shared data not present")
DEFAULTS = {"level": "subdistrict", "vintage": "bj-subdistricts-2023"}


def test_extra_columns_are_refused_until_the_user_says_to_drop_them(session):
    with pytest.raises(InvalidInputError, match="labelPoint"):
        import_file(session, SUBDISTRICTS, ImportKind.BOUNDARIES, defaults=DEFAULTS)


def test_all_343_subdistricts_import_with_codes_parents_and_areas(session):
    report = import_file(session, SUBDISTRICTS, ImportKind.BOUNDARIES, defaults=DEFAULTS,
                         ignore_unknown=True, strict=True)  # fmt: skip
    assert (report.inserted, len(report.rejected)) == (343, 0)
    features = json.loads(SUBDISTRICTS.read_text(encoding="utf-8"))["features"]
    expected = {str(f["properties"]["code"]): f["properties"] for f in features}
    rows = session.execute(text(
        "SELECT code, parent_code, name, area_km2 FROM boundaries WHERE vintage = :v"
    ), {"v": DEFAULTS["vintage"]}).all()  # fmt: skip
    assert len(rows) == 343
    for code, parent_code, name, area in rows:
        source = expected[code]
        assert parent_code == str(source["parentCode"])
        assert name == source["Name"]
        assert area == pytest.approx(source["area_km2_geodesic"], rel=0.01), code
    lugouqiao = next(area for code, _, _, area in rows if code == "110106017000")
    # The post-2021 卢沟桥街道 (11.84 km²), not the 27.59 km² of the older, larger extent.
    assert lugouqiao == pytest.approx(11.84, rel=0.01)

    again = import_file(session, SUBDISTRICTS, ImportKind.BOUNDARIES, defaults=DEFAULTS,
                        ignore_unknown=True)  # fmt: skip
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 343)
