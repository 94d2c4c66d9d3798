"""Editors upload import files: the CLI's validation and report, district limits, audit, revert.

The importers write through their own (psycopg) connection and commit, so these tests run a real
server on a module's own database rather than inside the rolled-back test transaction; each test
uses its own ``source`` so they do not see each other's rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.orm import Session

from geo.config import ApiSettings, Settings
from geo.importers._validate import report_as_dict
from geo.importers.files import ImportKind, import_file
from geo.store.db import make_engine
from tests.browser import served
from tests.conftest import FIXTURES, SHARED_BEIJING, token_headers

BODY_CAP = 200_000
HEADER = "external_id,kind,name,lon,lat,opening_hours\n"
# Inside 西街道 (110106017000) and inside 东街道 (110106001000) of the tiny boundaries.
WEST, EAST = (116.22, 39.86), (116.28, 39.86)


@pytest.fixture(scope="module")
def upload_db(tiny_database_url: str) -> str:
    return tiny_database_url


@pytest.fixture(scope="module")
def server(upload_db: str) -> Iterator[str]:
    settings = Settings(environment="test", database_url=upload_db,
                        api=ApiSettings(max_body_bytes=BODY_CAP, json_logs=False))  # fmt: skip
    with served(settings) as base:
        yield base


def _token(db: str, name: str, role: str = "admin", district: str | None = None) -> dict:
    return token_headers(db, name, role, district)


def _rows(db: str, sql: str, *args: object) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def _upload(base: str, kind: str, path: Path, headers: dict, **params: object) -> httpx.Response:
    with path.open("rb") as handle:
        files = {"file": (path.name, handle, "application/octet-stream")}
        return httpx.post(f"{base}/imports/{kind}", params=params, headers=headers, timeout=60,
                          files=files)  # fmt: skip


def _sheet(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _good_and_bad(tmp_path: Path, source: str) -> Path:
    return _sheet(tmp_path / f"{source}.csv", [
        f"{source}-1,rest_point,西边驿站,{WEST[0]},{WEST[1]},24/7",
        f"{source}-2,water_point,东边饮水点,{EAST[0]},{EAST[1]},Mo-Fr 08:00-18:00",
        f"{source}-3,rest_point,坐标错了,999,39.86,24/7",
        f"{source}-4,spaceship,不认识的种类,{WEST[0]},{WEST[1]},24/7",
        f"{source}-5,rest_point,营业时间错了,{WEST[0]},{WEST[1]},whenever",
    ])  # fmt: skip


def test_an_upload_gives_the_cli_report_and_audits_every_row(server, upload_db, tmp_path):
    admin = _token(upload_db, "uploader-admin")
    sheet = _good_and_bad(tmp_path, "same")
    engine = make_engine(upload_db)  # what `nuanxin import` reports for this file, not kept
    with Session(engine) as session, session.begin() as transaction:
        cli = report_as_dict(import_file(session, sheet, ImportKind.STATIONS))
        transaction.rollback()
    engine.dispose()

    response = _upload(server, "stations", sheet, admin)

    assert response.status_code == 200, response.text
    report = response.json()
    assert {k: v for k, v in report.items() if k != "dry_run"} == cli
    assert (report["inserted"], report["dry_run"]) == (2, False)
    assert [(r["location"], r["column"]) for r in report["rejected"]] == [
        ("line 4", "lon"), ("line 5", "kind"), ("line 6", "opening_hours")]  # fmt: skip
    names = _rows(upload_db, "SELECT name FROM stations WHERE source = 'same' ORDER BY name")
    assert [n for (n,) in names] == ["东边饮水点", "西边驿站"]
    audit = _rows(upload_db, "SELECT actor, action, table_name, before, after->>'name' FROM "
                  "audit_log WHERE after->>'source' = 'same' ORDER BY id")  # fmt: skip
    assert audit == [("uploader-admin", "import", "stations", None, "西边驿站"),
                     ("uploader-admin", "import", "stations", None, "东边饮水点")]  # fmt: skip


def test_a_changed_row_is_audited_before_and_after_and_an_admin_can_revert(
    server, upload_db, tmp_path
):
    admin = _token(upload_db, "revert-admin")
    first = _sheet(tmp_path / "again.csv", [
        f"again-1,rest_point,原名驿站,{WEST[0]},{WEST[1]},24/7",
        f"again-2,rest_point,第二个驿站,{WEST[0]},{WEST[1] + 0.01},24/7",
    ])  # fmt: skip
    assert _upload(server, "stations", first, admin).status_code == 200
    second = _sheet(tmp_path / "again.csv", [
        f"again-1,rest_point,改过的名字,{WEST[0]},{WEST[1]},24/7",
        f"again-2,rest_point,第二个驿站,{WEST[0]},{WEST[1] + 0.01},24/7",
    ])  # fmt: skip

    report = _upload(server, "stations", second, admin).json()

    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 1, 1)
    entries = httpx.get(f"{server}/audit", params={"table": "stations", "limit": 1000},
                        headers=admin).json()  # fmt: skip
    ours = [e for e in entries if (e["after"] or {}).get("source") == "again"]
    assert len(ours) == 3  # two creations, then one change; the unchanged row is not audited
    change = ours[0]
    assert (change["before"]["name"], change["after"]["name"]) == ("原名驿站", "改过的名字")
    reverted = httpx.post(f"{server}/audit/{change['id']}/revert", headers=admin)
    assert reverted.status_code == 200, reverted.text
    assert reverted.json()["name"] == "原名驿站"
    created = next(e for e in ours if e["after"]["external_id"] == "again-2")
    assert httpx.post(f"{server}/audit/{created['id']}/revert", headers=admin).status_code == 200
    public = httpx.get(f"{server}/ogc/collections/stations/items", params={"limit": 1000}).json()
    names = {f["properties"]["name"] for f in public["features"]}
    assert "原名驿站" in names and "第二个驿站" not in names  # the upload's creation undone


def test_a_district_editor_uploads_only_inside_their_district(server, upload_db, tmp_path):
    west = _token(upload_db, "west-uploader", "district_editor", "110106017000")
    admin = _token(upload_db, "district-admin")
    outside = _sheet(tmp_path / "east.csv", [f"east-1,rest_point,东边,{EAST[0]},{EAST[1]},24/7"])
    assert _upload(server, "stations", outside, admin, source="border").status_code == 200
    sheet = _sheet(tmp_path / "border.csv", [
        f"west-1,rest_point,西边新驿站,{WEST[0]},{WEST[1]},24/7",
        f"west-2,rest_point,放到东边,{EAST[0]},{EAST[1]},24/7",
        f"east-1,rest_point,挪到西边,{WEST[0]},{WEST[1]},24/7",  # an eastern row, moved west
    ])  # fmt: skip

    report = _upload(server, "stations", sheet, west, source="border").json()

    assert report["inserted"] == 1 and report["updated"] == 0
    reasons = {r["location"]: r["reason"] for r in report["rejected"]}
    assert reasons == {
        "line 3": "lies outside your district 110106017000",
        "line 4": "would change a row outside your district 110106017000",
    }
    rows = _rows(upload_db, "SELECT external_id, name FROM stations WHERE source = 'border' "
                            "ORDER BY external_id")  # fmt: skip
    assert rows == [("east-1", "东边"), ("west-1", "西边新驿站")]
    refused = _upload(server, "boundaries", FIXTURES / "boundaries_tiny.geojson", west)
    assert refused.status_code == 403 and "only admins" in refused.json()["detail"]


def test_a_dry_run_and_a_strict_refusal_write_nothing(server, upload_db, tmp_path):
    admin = _token(upload_db, "careful-admin")
    sheet = _good_and_bad(tmp_path, "careful")
    before = _rows(upload_db, "SELECT count(*) FROM audit_log")[0][0]

    dry = _upload(server, "stations", sheet, admin, dry_run="true")
    strict = _upload(server, "stations", sheet, admin, strict="true")

    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert dry.json()["inserted"] == 2 and len(dry.json()["rejected"]) == 3
    assert strict.status_code == 400
    assert strict.headers["content-type"] == "application/problem+json"
    assert "line 4" in strict.json()["detail"] and "nothing was written" in strict.json()["detail"]
    assert _rows(upload_db, "SELECT count(*) FROM stations WHERE source = 'careful'") == [(0,)]
    assert _rows(upload_db, "SELECT count(*) FROM audit_log")[0][0] == before


def test_enterprises_upload_is_validated_by_the_enterprise_record(server, upload_db, tmp_path):
    admin = _token(upload_db, "enterprise-admin")
    sheet = tmp_path / "firms.csv"
    sheet.write_text(
        "external_id,name,lon,lat,employees,outdoor_workers\n"
        f"f1,快递站,{WEST[0]},{WEST[1]},40,30\n"
        f"f2,外卖站,{WEST[0]},{WEST[1]},10,30\n",  # more outdoor workers than employees
        encoding="utf-8",
    )
    report = _upload(server, "enterprises", sheet, admin).json()
    assert report["inserted"] == 1
    assert [r["location"] for r in report["rejected"]] == ["line 3"]
    assert "outdoor_workers" in report["rejected"][0]["reason"]


def test_bad_uploads_get_a_clear_problem_and_change_nothing(server, upload_db, tmp_path):
    admin = _token(upload_db, "strict-admin")
    before = _rows(upload_db, "SELECT count(*) FROM stations")
    text = tmp_path / "notes.txt"
    text.write_text("not a data file", encoding="utf-8")
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    huge = tmp_path / "huge.csv"
    huge.write_text(HEADER + f"x,rest_point,大,{WEST[0]},{WEST[1]},24/7\n" * 8000, encoding="utf-8")
    assert huge.stat().st_size > BODY_CAP
    sneaky = _sheet(tmp_path / "x.csv", [f"x'; DROP TABLE stations; --,rest_point,x,{WEST[0]},"
                                         f"{WEST[1]},24/7"])  # fmt: skip
    cases = [
        (_upload(server, "stations", text, admin), 400, "unsupported format"),
        (_upload(server, "stations", broken, admin), 400, "not readable as GeoJSON"),
        (_upload(server, "stations", huge, admin), 413, "at most 200,000 bytes"),
        (_upload(server, "stations", sneaky, {}), 401, ""),
        (_upload(server, "stations", sneaky, admin, crs="EPSG:0"), 400, "crs"),
        (_upload(server, "towers", sneaky, admin), 422, ""),
        (httpx.post(f"{server}/imports/stations", headers=admin, content=b"x"), 422, ""),
    ]
    for response, status, words in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert words in json.dumps(response.json(), ensure_ascii=False)
        assert "Traceback" not in response.text
    assert _rows(upload_db, "SELECT count(*) FROM stations") == before
    path_trick = _upload(server, "stations", sneaky, admin, source="../../etc")
    assert path_trick.status_code == 200 and path_trick.json()["inserted"] == 1
    assert _rows(upload_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'stations'") == [(1,)]


@pytest.mark.parametrize(("timeout_s", "body_s"), [(0.3, 0.0), (2.0, 1.75)])
def test_an_import_slower_than_the_request_limit_rolls_back(upload_db, timeout_s, body_s):
    """The client is told it timed out, so nothing may have been written behind its back, even
    when most of the time went on receiving the file (the limit counts from the arrival)."""
    source = f"slow{int(body_s * 100)}"
    admin = _token(upload_db, f"{source}-admin")
    rows = "".join(f"{source}-{i},rest_point,慢驿站{i},{WEST[0]},{WEST[1]},24/7\n"
                   for i in range(4000))  # fmt: skip
    head = (b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n")  # fmt: skip
    data = (HEADER + rows).encode() + b"\r\n--XyZ--\r\n"

    def slowly() -> Iterator[bytes]:
        yield head
        time.sleep(body_s)
        yield data

    headers = {**admin, "content-type": "multipart/form-data; boundary=XyZ",
               "content-length": str(len(head) + len(data))}  # fmt: skip
    hasty = Settings(environment="test", database_url=upload_db,
                     api=ApiSettings(request_timeout_s=timeout_s, json_logs=False))  # fmt: skip
    with served(hasty) as base:
        started = time.monotonic()
        response = httpx.post(f"{base}/imports/stations", params={"source": source},
                              headers=headers, content=slowly(), timeout=30)  # fmt: skip
        assert response.status_code in (429, 503), response.text
        assert response.headers["content-type"] == "application/problem+json"
        # The worker thread may still be importing: give it the time the import takes alone.
        time.sleep(max(0.0, body_s + 6 - (time.monotonic() - started)))
    assert _rows(upload_db, "SELECT count(*) FROM stations WHERE source = %s", source) == [(0,)]
    actor = f"{source}-admin"
    assert _rows(upload_db, "SELECT count(*) FROM audit_log WHERE actor = %s", actor) == [(0,)]


def test_an_admin_uploads_boundaries_and_history_names_them(server, upload_db, tmp_path):
    admin = _token(upload_db, "boundary-admin")
    document = json.loads((FIXTURES / "boundaries_tiny.geojson").read_text(encoding="utf-8"))
    document["features"][1]["properties"]["name"] = "西街道（改）"
    changed = tmp_path / "areas.geojson"
    changed.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    response = _upload(server, "boundaries", changed, admin)

    assert response.status_code == 200, response.text
    assert (response.json()["updated"], response.json()["unchanged"]) == (1, 2)
    history = _rows(upload_db, "SELECT changed_by FROM row_history WHERE table_name = "
                    "'boundaries' ORDER BY id DESC LIMIT 1")  # fmt: skip
    assert history == [("api:boundary-admin import:areas.geojson",)]


def test_headers_are_mapped_as_with_the_cli(server, upload_db, tmp_path):
    admin = _token(upload_db, "mapping-admin")
    sheet = tmp_path / "台账.csv"
    sheet.write_text("编号,驿站名,类型,经度,纬度,开放时间,备注\n"
                     f"m1,台账驿站,rest_point,{WEST[0]},{WEST[1]},24/7,内部备注\n",
                     encoding="utf-8")  # fmt: skip
    params = {"map": ["编号=external_id", "驿站名=name", "类型=kind", "备注="]}
    report = _upload(server, "stations", sheet, admin, **params).json()
    assert (report["inserted"], report["rejected"]) == (1, [])
    assert _rows(upload_db, "SELECT name FROM stations WHERE external_id = 'm1'") == [("台账驿站",)]
    bad = _upload(server, "stations", sheet, admin, map=["no-equals-sign"])
    assert bad.status_code == 400 and bad.json()["field"] == "map"


@pytest.mark.skipif(not SHARED_BEIJING.exists(), reason="../shared data not present")
def test_the_real_343_subdistricts_upload_like_the_cli_imports_them(upload_db):
    """Real data (../shared, read in place; 3 MB, under the default 20 MB cap), as a dry run:
    checked and reported, not kept."""
    admin = _token(upload_db, "real-admin")
    real = SHARED_BEIJING / "subdistricts.geojson"
    options = {"level": "subdistrict", "vintage": "bj-subdistricts-2023", "dry_run": "true"}
    with served(Settings(environment="test", database_url=upload_db)) as base:
        refused = _upload(base, "boundaries", real, admin, **options)
        report = _upload(base, "boundaries", real, admin, ignore_unknown="true", **options)
    assert refused.status_code == 400 and "labelPoint" in refused.json()["detail"]
    assert report.status_code == 200, report.text
    assert (report.json()["inserted"], report.json()["rejected"]) == (343, [])
    kept = "SELECT count(*) FROM boundaries WHERE vintage = 'bj-subdistricts-2023'"
    assert _rows(upload_db, kept) == [(0,)]


def test_a_population_file_is_checked_row_by_row_and_only_admins_write_it(
    server, upload_db, tmp_path
):
    path = tmp_path / "population.csv"
    path.write_text(
        "code,population,year\n110106017000,120000,2020\n110106999000,5000,2020\n"
        "110106001000,-3,2020\n110106017000,130000,2020\n",
        encoding="utf-8",
    )
    editor = _token(upload_db, "pop-editor", "district_editor", "110106000000")
    refused = _upload(server, "population", path, editor)
    assert refused.status_code == 403
    report = _upload(server, "population", path, editor, dry_run="true")
    assert report.status_code == 200, report.text
    rejected = {(r["location"], r["column"]) for r in report.json()["rejected"]}
    assert {r["location"] for r in report.json()["rejected"]} >= {"line 3", "line 4", "line 5"}
    assert len(rejected) >= 3
    assert _rows(
        upload_db, "SELECT population FROM boundaries WHERE code = %s", "110106017000"
    ) != [(120000,)]  # fmt: skip (a dry run writes nothing)


def test_a_list_without_kind_takes_a_default_kind_in_the_upload(server, upload_db, tmp_path):
    """The union's list of the CLI's --kind test, through the page's upload: same report."""
    from tests.geo.importers.test_union_list import union_list

    path = union_list(tmp_path / "union.csv", bad_system_at=5)
    admin = _token(upload_db, "kind-admin")
    ignore = {"map": ["district=", "city="], "dry_run": "true"}
    refused = _upload(server, "stations", path, admin, **ignore).json()
    columns = {r["location"]: r["column"] for r in refused["rejected"]}
    assert len(columns) == 22 and columns.pop("line 7") == "coord_system"
    assert set(columns.values()) == {"kind"}
    checked = _upload(server, "stations", path, admin, default_kind="rest_point", **ignore)
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["inserted"] == 21 and [r["location"] for r in body["rejected"]] == ["line 7"]
    assert _rows(upload_db, "SELECT count(*) FROM stations WHERE external_id LIKE %s", "ul-%") == [
        (0,)
    ]
    wrong = _upload(server, "enterprises", path, admin, default_kind="rest_point", dry_run="true")
    assert wrong.status_code == 400 and "default_kind is for stations" in wrong.text
    unknown = _upload(server, "stations", path, admin, default_kind="teahouse", dry_run="true")
    assert unknown.status_code == 422


def test_flatgeobuf_and_geoparquet_upload_and_a_lone_shapefile_is_refused(server, upload_db,
                                                                          tmp_path):  # fmt: skip
    import geopandas
    import shapely

    admin = _token(upload_db, "uploader-formats")
    frame = geopandas.GeoDataFrame(
        {"external_id": ["f-1", "f-2"], "kind": ["rest_point", "spaceship"],
         "name": ["格式驿站", "坏种类"], "opening_hours": ["24/7", "24/7"]},
        geometry=[shapely.Point(*WEST), shapely.Point(*EAST)], crs=4326,
    )  # fmt: skip
    for suffix in (".fgb", ".parquet"):
        path, source = tmp_path / f"points{suffix}", f"fmt{suffix[1:]}"
        if suffix == ".fgb":
            frame.assign(source=source).to_file(path, driver="FlatGeobuf")
        else:
            frame.assign(source=source).to_parquet(path)
        report = _upload(server, "stations", path, admin)
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["inserted"] == 1, suffix
        assert [(r["column"], "spaceship" in r["reason"]) for r in body["rejected"]] == [
            ("kind", True)]  # fmt: skip
        kept = _rows(upload_db, "SELECT name FROM stations WHERE source = %s", source)
        assert kept == [("格式驿站",)]
    lone = tmp_path / "points.shp"
    frame[["name", "geometry"]].to_file(lone)
    refused = _upload(server, "stations", lone, admin)
    assert refused.status_code == 400 and ".shp" not in refused.json()["detail"].split("use")[1]
