"""Can I get in? How a place is entered: recorded by editors and imports, shown and filtered.

The rule (:func:`geo.vocab.walk_in`): anyone may walk in when some way in needs no sign-up
(open door, ring, ID card) and no condition limits who; nothing recorded promises nothing.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from geo.importers.files import ImportKind, import_file
from geo.importers.records import StationRecord
from geo.vocab import ACCESS_CONDITION_MAX, walk_in
from tests.api.editing.test_routes import _station_id, _token

pytestmark = pytest.mark.anyio
NEAR_S2 = "lon=116.2702&lat=39.8601&open=any&max_km=1&k=5"  # s2: a 24/7 rest point


@pytest.mark.parametrize(
    ("access", "condition", "expected"),
    [
        ([], None, None),  # not recorded: never promised either way
        (["open_door"], None, True),
        (["ring", "member_qr"], None, True),  # one way in without a sign-up is enough
        (["id_card"], None, True),
        (["member_qr"], None, False),
        (["union_card", "face_registration"], None, False),
        (["open_door"], "仅限已登记的快递外卖骑手", False),  # a condition on who: not anyone
        (["open_door"], "  ", True),  # a blank condition is none
    ],
)
def test_who_may_walk_in(access, condition, expected):
    assert walk_in(access, condition) is expected


def _record(**changes):
    base = {"source": "t", "external_id": "a", "kind": "rest_point", "name": "驿站",
            "lon": 116.3, "lat": 39.9}  # fmt: skip
    return StationRecord(**base | changes)


def test_records_read_chinese_labels_and_refuse_unknown_ways_in():
    record = _record(access="按铃/敲门；扫会员码", access_condition="  ")
    assert [str(a) for a in record.access] == ["ring", "member_qr"]
    assert record.access_condition is None
    with pytest.raises(ValidationError, match="unknown Access '刷脸'"):
        _record(access="刷脸")
    with pytest.raises(ValidationError, match="access_condition"):
        _record(access_condition="仅" * (ACCESS_CONDITION_MAX + 1))


def test_a_union_list_with_chinese_access_columns_imports_and_reports_bad_rows(session, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text(
        "编号,名称,类型,经度,纬度,进入方式,进入条件\n"
        "acc1,开门驿站,暖心驿站,116.23,39.85,直接进入,\n"
        "acc2,骑手驿站,暖心驿站,116.24,39.85,人脸识别（需登记）,仅限已登记的外卖骑手\n"
        "acc3,刷脸驿站,暖心驿站,116.25,39.85,刷脸,\n",
        encoding="utf-8",
    )
    report = import_file(session, path, ImportKind.STATIONS, defaults={"source": "union-list"})
    assert report.inserted == 2
    assert [(r.location, r.column) for r in report.rejected] == [("line 4", "access")]
    rows = (
        session.connection()
        .exec_driver_sql(
            "SELECT external_id, access, access_condition FROM stations WHERE source = 'union-list'"
            " ORDER BY external_id"
        )
        .all()
    )
    assert [tuple(r) for r in rows] == [
        ("acc1", ["open_door"], None),
        ("acc2", ["face_registration"], "仅限已登记的外卖骑手"),
    ]


async def test_an_editor_records_access_and_the_locator_and_map_show_it(client, api_conn):
    headers = await _token(api_conn, "access-editor")
    sid = await _station_id(api_conn, "s2")
    before = (await client.get(f"/locate?{NEAR_S2}")).json()["results"][0]
    assert (before["id"], before["access"], before["walk_in"]) == (sid, [], None)

    patch = {"access": ["face_registration"], "access_condition": "仅限已登记的外卖骑手"}
    response = await client.patch(f"/stations/{sid}", json=patch, headers=headers)
    assert response.status_code == 200, response.text
    place = (await client.get(f"/locate?{NEAR_S2}")).json()["results"][0]
    assert place["access"] == ["face_registration"]
    assert place["access_labels"] == ["人脸识别（需登记）"]
    assert (place["access_condition"], place["walk_in"]) == ("仅限已登记的外卖骑手", False)
    walk_ins = (await client.get(f"/locate?{NEAR_S2}&walk_in=true")).json()
    assert sid not in [p["id"] for p in walk_ins["results"]]
    assert walk_ins["query"]["walk_in"] is True

    feature = await _feature(client, sid)
    assert feature["access"] == ["face_registration"] and feature["walk_in"] is False
    walk_in_map = (await client.get("/stations?walk_in=true&limit=500")).json()
    assert sid not in [f["id"] for f in walk_in_map["features"]]

    # An open door without a condition: anyone may come in, and the filter keeps it.
    walk_in_now = {"access": ["open_door"], "access_condition": None}
    response = await client.patch(f"/stations/{sid}", json=walk_in_now, headers=headers)
    assert response.status_code == 200, response.text
    walk_ins = (await client.get(f"/locate?{NEAR_S2}&walk_in=true")).json()
    assert walk_ins["results"][0]["id"] == sid and walk_ins["results"][0]["walk_in"] is True
    assert (await _feature(client, sid))["walk_in"] is True


async def test_a_way_in_outside_the_vocabulary_is_refused_and_changes_nothing(client, api_conn):
    headers = await _token(api_conn, "access-typo")
    sid = await _station_id(api_conn, "s2")
    response = await client.patch(f"/stations/{sid}", json={"access": ["secret_knock"]},
                                  headers=headers)  # fmt: skip
    assert response.status_code == 400
    problem = response.json()
    assert problem["field"].startswith("access") and "secret_knock" in problem["detail"]
    assert await api_conn.fetchval("SELECT access FROM stations WHERE id = $1", sid) == []


async def _feature(client, sid: int) -> dict:
    collection = json.loads((await client.get("/stations?limit=500")).content)
    [feature] = [f for f in collection["features"] if f["id"] == sid]
    return feature["properties"]
