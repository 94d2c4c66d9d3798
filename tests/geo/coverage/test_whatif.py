"""What-if: change files are read strictly, changes apply in order, and the comparison is true."""

from __future__ import annotations

import json

import geopandas
import pytest
from shapely import Point

from geo.config import PROJECT_ROOT
from geo.coverage.analysis import analyse
from geo.coverage.supply import select_supply
from geo.coverage.whatif import apply_changes, compare, read_changes
from geo.crs import CoordSystem, wgs84_to_gcj02
from geo.errors import InvalidInputError

DATA = PROJECT_ROOT / "data"
LUGOUQIAO = "110106017000"
PLANNED = "ft-station-110106017000-3"  # 卢沟桥's planned third station in the bundled data


def _bundled():
    boundaries = geopandas.read_file(DATA / "boundaries" / "subdistricts.geojson")
    stations = geopandas.read_file(DATA / "stations" / "stations.geojson")
    return boundaries[boundaries.parent_code == "110106000000"], stations


def test_opening_the_planned_station_is_reported_per_boundary(tmp_path):
    boundaries, stations = _bundled()
    path = tmp_path / "open.csv"
    path.write_text(f"action,id\nopen,{PLANNED}\n", encoding="utf-8")
    changed = apply_changes(stations, read_changes(path))
    assert (changed.status == "open").sum() == (stations.status == "open").sum() + 1

    before = analyse(boundaries, select_supply(stations).stations, with_gaps=False)
    after = analyse(boundaries, select_supply(changed).stations, with_gaps=False)
    table = compare(before.per_boundary, after.per_boundary).set_index("code")
    row = table.loc[LUGOUQIAO]
    assert table.index[0] == LUGOUQIAO  # the largest drop in residents beyond a walk
    assert (row.stations_before, row.stations_after) == (
        row.stations_before,
        row.stations_before + 1,
    )
    assert row.share_within_walk_change > 0.05
    assert row.uncovered_residents_change < -10_000
    # Boundaries far from the new station do not move.
    untouched = table.drop(index=LUGOUQIAO)
    far = untouched[untouched.share_within_walk_change.abs() < 1e-12]
    assert len(far) >= len(table) - 3


def test_add_move_close_in_order_with_gcj02_coordinates(tmp_path):
    _, stations = _bundled()
    target = stations.iloc[0].external_id
    lon, lat = wgs84_to_gcj02(116.25, 39.85)
    path = tmp_path / "changes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"action": "add", "name": "新驿站", "kind": "rest_point"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"action": "move", "id": target}},
        {"type": "Feature", "geometry": None, "properties": {"action": "close", "id": target}},
    ]}, ensure_ascii=False), encoding="utf-8")  # fmt: skip
    changes = read_changes(path, CoordSystem.GCJ02)
    assert changes[0].lon == pytest.approx(116.25, abs=1e-6)  # back to WGS-84 exactly
    changed = apply_changes(stations, changes)
    assert len(changed) == len(stations) + 1
    added = changed.iloc[-1]
    assert (added["name"], added.status) == ("新驿站", "open")
    moved = changed[changed.external_id == target].iloc[0]
    assert moved.geometry.equals_exact(Point(116.25, 39.85), 1e-6)
    assert moved.status == "closed"
    assert stations.iloc[0].status != "closed"  # the input is not modified


def test_every_bad_row_is_reported_with_its_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "action,id,lon,lat\n"
        "open,,,\n"  # line 2: no id
        "add,,116.3,\n"  # line 3: no lat
        "add,,200,39.9\n"  # line 4: out of range
        "move,x,abc,39.9\n"  # line 5: not a number
        "demolish,x,,\n",  # line 6: unknown action
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError) as caught:
        read_changes(path)
    message = caught.value.message
    for expected in ("line 2: open needs the station's id", "line 3: add needs lon and lat",
                     "line 4: coordinates 200.0, 39.9 are out of range",
                     "line 5: 'abc' is not a number", "line 6: action must be one of"):  # fmt: skip
        assert expected in message


def test_unknown_fields_ids_and_formats_are_refused(tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text("action,id,colour\nopen,a,red\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="unknown field colour"):
        read_changes(extra)
    missing = tmp_path / "missing.csv"
    missing.write_text("action,id\nclose,no-such-station\n", encoding="utf-8")
    _, stations = _bundled()
    with pytest.raises(InvalidInputError, match="line 2: no station with id 'no-such-station'"):
        apply_changes(stations, read_changes(missing))
    sheet = tmp_path / "x.xlsx"
    sheet.write_bytes(b"PK")
    with pytest.raises(InvalidInputError, match="CSV or GeoJSON"):
        read_changes(sheet)
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_changes(tmp_path / "nowhere.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("action,id\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="holds no changes"):
        read_changes(empty)
