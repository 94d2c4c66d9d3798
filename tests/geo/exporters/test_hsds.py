"""HSDS export: the package a referral directory would ingest, checked by table and on disk."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid

import opening_hours
import pytest

from geo.exporters.files import STATION_FIELDS, fetch_rows
from geo.exporters.hsds import TABLES, to_hsds, weekly_hours, write_hsds

WEEK = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def station(**changes):
    row = dict.fromkeys(STATION_FIELDS)
    row.update(source="t", external_id="x1", kind="rest_point", name="测试驿站", lon=116.4,
               lat=39.9, host_type="union", status="open", amenities=[], services=[])  # fmt: skip
    row.update(changes)
    return row


def schedules_for(tables, name):
    (service,) = [s for s in tables["services"] if s["name"] == name]
    return [s for s in tables["schedules"] if s["service_id"] == service["id"]]


def days_of(schedule):
    return schedule["byday"].split(",")


@pytest.fixture
def rows(session):
    return fetch_rows(session.connection(), "stations")


def test_fixture_stations_give_one_service_location_and_link_each(rows):
    tables = to_hsds(rows)
    assert len(rows) == 3
    assert len(tables["services"]) == len(tables["locations"]) == 3
    assert len(tables["service_at_locations"]) == 3
    hosts = {(r["host_type"], r["host_name"]) for r in rows}
    assert len(hosts) == 2  # s1 and s3 share the unnamed union; s2 is the roast-duck shop
    assert len(tables["organizations"]) == len(hosts)
    assert sorted(o["name"] for o in tables["organizations"]) == sorted(["工会", "某烤鸭店"])
    assert tables["addresses"] == [] and tables["phones"] == []  # the fixture has neither
    statuses = {s["name"]: s["status"] for s in tables["services"]}
    assert statuses == {"西街道工会服务站": "active", "烤鸭店暖心驿站": "active",
                        "西街道第三工会服务站": "inactive"}  # fmt: skip


def test_every_reference_points_at_an_existing_row(rows):
    tables = to_hsds(rows)
    ids = {key: {r["id"] for r in records} for key, records in tables.items()}
    for key, records in tables.items():
        assert len(ids[key]) == len(records), f"duplicate id in {key}"
        assert all(uuid.UUID(r["id"]).version == 5 for r in records)
    for link in tables["service_at_locations"]:
        assert link["service_id"] in ids["services"]
        assert link["location_id"] in ids["locations"]
    assert {s["organization_id"] for s in tables["services"]} == ids["organizations"]
    for schedule in tables["schedules"]:
        assert schedule["service_id"] in ids["services"]
        assert schedule["location_id"] in ids["locations"]
    for attribute in tables["attributes"]:
        assert attribute["link_id"] in ids["services"]
        assert attribute["taxonomy_term_id"] in ids["taxonomy_terms"]
    assert {t["taxonomy_id"] for t in tables["taxonomy_terms"]} == ids["taxonomies"]


def test_ids_are_stable_across_exports_and_row_order(rows, session, tmp_path):
    first = to_hsds(rows)
    again = to_hsds(list(reversed(fetch_rows(session.connection(), "stations"))))
    for key in TABLES:
        assert sorted(r["id"] for r in first[key]) == sorted(r["id"] for r in again[key])
    one, two = write_hsds(rows, tmp_path / "a"), write_hsds(rows, tmp_path / "b")
    assert [p.name for p in one] == [p.name for p in two]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one, two, strict=True))


def test_amenities_become_attributes_with_chinese_terms(rows):
    tables = to_hsds(rows)
    terms = {t["id"]: t for t in tables["taxonomy_terms"]}
    (duck,) = [s for s in tables["services"] if s["name"] == "烤鸭店暖心驿站"]
    linked = {terms[a["taxonomy_term_id"]]["name"] for a in tables["attributes"]
              if a["link_id"] == duck["id"]}  # fmt: skip
    assert linked == {"热水", "微波炉", "手机充电"}
    assert duck["description"] == "暖心驿站。设施：热水、微波炉、手机充电。"
    (union,) = [s for s in tables["services"] if s["name"] == "西街道工会服务站"]
    assert "法律援助" in {terms[a["taxonomy_term_id"]]["name"] for a in tables["attributes"]
                      if a["link_id"] == union["id"]}  # fmt: skip
    assert union["description"] == "街道/乡镇工会服务站。设施：热水、座椅、卫生间。服务：法律援助。"


def test_weekdays_plus_saturday_cover_mo_to_sa_nine_to_eight(rows):
    schedules = schedules_for(to_hsds(rows), "西街道工会服务站")
    assert schedules, "Mo-Fr 09:00-20:00; Sa 09:00-20:00 must map"
    assert sorted({d for s in schedules for d in days_of(s)}, key=WEEK.index) == WEEK[:6]
    for schedule in schedules:
        assert schedule["freq"] == "WEEKLY"
        assert (schedule["opens_at"], schedule["closes_at"]) == ("09:00:00+08:00", "20:00:00+08:00")


def test_round_the_clock_is_every_day_midnight_to_23_59(rows):
    (schedule,) = schedules_for(to_hsds(rows), "烤鸭店暖心驿站")
    assert days_of(schedule) == WEEK
    assert (schedule["opens_at"], schedule["closes_at"]) == ("00:00:00+08:00", "23:59:00+08:00")
    assert schedule["description"] == "每天 全天开放"


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ("Mo-Fr 08:30-17:30", [("MO,TU,WE,TH,FR", "08:30", "17:30")]),
        ("Mo-Su 06:00-22:00", [(",".join(WEEK), "06:00", "22:00")]),
        ("Mo,We,Fr 09:00-12:00", [("MO,WE,FR", "09:00", "12:00")]),
        ("Mo-Fr 08:00-12:00,14:00-18:00",
         [("MO,TU,WE,TH,FR", "08:00", "12:00"), ("MO,TU,WE,TH,FR", "14:00", "18:00")]),
        ("Mo-Fr 09:00-18:00; Fr 09:00-12:00",  # a later rule replaces Friday, as in OSM
         [("MO,TU,WE,TH", "09:00", "18:00"), ("FR", "09:00", "12:00")]),
        ("Mo-Sa 09:00-18:00; We off", [("MO,TU,TH,FR,SA", "09:00", "18:00")]),
        ("Sa-Mo 10:00-14:00", [("MO,SA,SU", "10:00", "14:00")]),
        # An additional rule (","), which the evaluator reads as OSM does: Wednesday gets both.
        ("Mo-Fr 09:00-12:00, We 14:00-18:00",
         [("MO,TU,TH,FR", "09:00", "12:00"), ("WE", "09:00", "12:00"), ("WE", "14:00", "18:00")]),
        ("Mo-Fr 08:00-24:00", [("MO,TU,WE,TH,FR", "08:00", "23:59")]),
        ("Sa,Su 00:00-24:00", [("SA,SU", "00:00", "23:59")]),
    ],
)  # fmt: skip
def test_simple_forms_map_to_one_row_per_day_set_and_span(hours, expected):
    schedules = to_hsds([station(opening_hours=hours)])["schedules"]
    got = [(s["byday"], s["opens_at"], s["closes_at"]) for s in schedules]
    assert got == [(d, f"{o}:00+08:00", f"{c}:00+08:00") for d, o, c in expected]
    for schedule in schedules:  # ISO times with Beijing's offset, as HSDS and Table Schema want
        opens = dt.time.fromisoformat(schedule["opens_at"])
        assert opens.utcoffset() == dt.timedelta(hours=8)
    assert all(s["notes"] == f"OSM opening_hours: {hours}" for s in schedules)


@pytest.mark.parametrize(
    "hours",
    [
        "Mo-Fr 08:00-12:00,14:00-18:00; PH off",
        "sunrise-sunset",
        "Mo-Fr 22:00-02:00",
        "Jan-Mar Mo-Fr 09:00-17:00",
        "week 01-10 Mo 09:00-12:00",
        "2025 Mo-Fr 09:00-17:00",
        "Mo-Fr 09:00-17:00 unknown",
        "Su 22:00-02:00",  # past Sunday midnight into Monday
        "not hours at all",
        'Mo-Fr 09:00-17:00 "by appointment"',
        "off",
    ],
)
def test_anything_else_keeps_the_original_text_and_no_times(hours):
    (schedule,) = to_hsds([station(opening_hours=hours)])["schedules"]
    assert schedule["description"] == hours
    assert not {"byday", "freq", "opens_at", "closes_at"} & schedule.keys()


def test_no_opening_hours_gives_no_schedule():
    assert to_hsds([station(opening_hours=None)])["schedules"] == []


@pytest.mark.parametrize(
    "hours",
    ["24/7", "Mo-Fr 09:00-20:00; Sa 09:00-20:00", "Mo-Fr 08:00-12:00,14:00-18:00",
     "Mo-Sa 09:00-18:00; We off", "Mo-Fr 09:00-18:00; Fr 09:00-12:00", "Sa-Mo 10:00-14:00",
     "09:30-17:00", "Mo 09:00-12:00; Mo 14:00-18:00", "Mo-Fr 09:00-12:00, We 14:00-18:00",
     "Sa,Su 00:00-24:00"],
)  # fmt: skip
def test_mapped_hours_agree_with_the_osm_evaluator(hours):
    """Independent check: opening-hours-py must say open exactly when our rows say open."""
    week = weekly_hours(hours)
    assert week is not None
    evaluator = opening_hours.OpeningHours(hours)
    monday = dt.datetime(2024, 1, 1)  # a Monday with no holiday rules involved
    for minute in range(0, 7 * 24 * 60, 15):
        at = monday + dt.timedelta(minutes=minute)
        hhmm = at.strftime("%H:%M")
        ours = any(at.weekday() in days and opens <= hhmm and (hhmm < closes or closes == "23:59")
                   for days, opens, closes in week)  # fmt: skip
        assert ours == evaluator.is_open(at), f"{hours!r} at {at:%a %H:%M}"


@pytest.mark.parametrize(
    ("status", "hsds"),
    [("open", "active"), ("temporarily_closed", "temporarily closed"), ("closed", "defunct"),
     ("planned", "inactive"), ("under_construction", "inactive")],
)  # fmt: skip
def test_status_uses_the_hsds_enum(status, hsds):
    (service,) = to_hsds([station(status=status)])["services"]
    assert service["status"] == hsds
    assert (service["alert"] is None) == (status == "open")


def test_hosts_address_phone_and_verification_date():
    rows = [
        station(external_id="a", host_type="enterprise", host_name="顺丰速运",
                address="西城区某路1号", phone="010-12345678",
                last_verified_at=dt.datetime(2026, 3, 1, 20, tzinfo=dt.UTC)),
        station(external_id="b", host_type="enterprise", host_name="顺丰速运"),
        station(external_id="c", host_type="enterprise", host_name=None),
    ]  # fmt: skip
    tables = to_hsds(rows)
    assert sorted(o["name"] for o in tables["organizations"]) == ["企业", "顺丰速运"]
    (address,) = tables["addresses"]
    assert (address["address_1"], address["city"], address["country"]) == (
        "西城区某路1号", "北京市", "CN")  # fmt: skip
    (phone,) = tables["phones"]
    assert phone["number"] == "010-12345678"
    assert tables["services"][0]["assured_date"] == "2026-03-02"  # 20:00 UTC is next day in Beijing


def test_written_package_has_spec_headers_and_lists_every_csv(rows, tmp_path):
    out = tmp_path / "nested" / "hsds"
    paths = write_hsds([*rows, station(address="东城区某街2号", phone="12345")], out)
    assert all(p.exists() and p.parent == out for p in paths)
    package = json.loads((out / "datapackage.json").read_text("utf-8"))
    csvs = sorted(p.name for p in out.glob("*.csv"))
    assert sorted(r["path"] for r in package["resources"]) == csvs
    assert sorted(p.name for p in paths) == sorted([*csvs, "datapackage.json"])
    for resource in package["resources"]:
        raw = (out / resource["path"]).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        with (out / resource["path"]).open(newline="", encoding="utf-8") as handle:
            header, *body = list(csv.reader(handle))
        assert header == [f["name"] for f in resource["schema"]["fields"]]
        assert all(len(line) == len(header) for line in body)
    with (out / "schedules.csv").open(newline="", encoding="utf-8") as handle:
        schedule_rows = list(csv.DictReader(handle))
    assert list(schedule_rows[0]) == [
        "id", "service_id", "location_id", "service_at_location_id", "valid_from", "valid_to",
        "dtstart", "timezone", "until", "count", "wkst", "freq", "interval", "byday", "byweekno",
        "bymonthday", "byyearday", "description", "opens_at", "closes_at", "schedule_link",
        "attending_type", "notes"]  # fmt: skip
    assert {r["byday"] for r in schedule_rows} >= {"MO,TU,WE,TH,FR,SA", ",".join(WEEK)}
    with (out / "services.csv").open(newline="", encoding="utf-8") as handle:
        services = list(csv.DictReader(handle))
    assert list(services[0])[:9] == [
        "id",
        "organization_id",
        "program_id",
        "name",
        "alternate_name",
        "description",
        "url",
        "email",
        "status",
    ]
    assert {s["name"] for s in services} >= {"西街道工会服务站", "烤鸭店暖心驿站"}
    with (out / "locations.csv").open(newline="", encoding="utf-8") as handle:
        located = {r["name"]: (r["latitude"], r["longitude"]) for r in csv.DictReader(handle)}
    assert located["西街道工会服务站"] == ("39.85", "116.22")
    with (out / "addresses.csv").open(newline="", encoding="utf-8") as handle:
        (address,) = csv.DictReader(handle)
    assert (address["address_1"], address["state_province"]) == ("东城区某街2号", "北京市")


PARSERS = {
    "number": float,
    "date": dt.date.fromisoformat,
    "datetime": dt.datetime.fromisoformat,
    "time": lambda v: dt.datetime.strptime(v[:8], "%H:%M:%S") and dt.time.fromisoformat(v),
}


def test_every_written_cell_fits_its_declared_field(rows, tmp_path):
    """What a Table Schema validator checks: types, uuid format, required cells, foreign keys."""
    paths = write_hsds([*rows, station(address="某路3号", phone="010-2")], tmp_path)
    package = json.loads(paths[-1].read_text("utf-8"))
    ids = {}
    for resource in package["resources"]:
        with (tmp_path / resource["path"]).open(newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle))
        ids[resource["name"]] = {r["id"] for r in records}
        for field in resource["schema"]["fields"]:
            for record in records:
                value = record[field["name"]]
                if field.get("constraints", {}).get("required"):
                    assert value, f"{resource['name']}.{field['name']} is required"
                if value and field["type"] in PARSERS:
                    PARSERS[field["type"]](value)
                if value and field.get("format") == "uuid":
                    uuid.UUID(value)
        resource["records"] = records
    for resource in package["resources"]:
        for key in resource["schema"].get("foreignKeys", []):
            target = ids[key["reference"]["resource"]]
            assert all(r[key["fields"]] in target for r in resource["records"] if r[key["fields"]])


def _package(tmp_path, rows):
    write_hsds(rows, tmp_path)
    return tmp_path / "datapackage.json"


def test_the_package_passes_frictionless_validation(rows, tmp_path):
    """Frictionless (the Data Package reference validator) checks every table against its
    Table Schema: types, required fields, primary and foreign keys."""
    from frictionless import validate

    varied = [*rows,
              station(external_id="h1", opening_hours="Mo-Fr 09:00-12:00, We 14:00-18:00",
                      address="丰台区某路1号", phone="010-12345678", amenities=["toilet"]),
              station(external_id="h2", opening_hours="Mo-Fr 08:00-17:00; PH off",
                      status="temporarily_closed", host_type="enterprise", host_name="某公司"),
              station(external_id="h3", opening_hours="24/7", status="planned")]  # fmt: skip
    report = validate(_package(tmp_path, varied))
    problems = [f"{t.name}: {e.message}" for t in report.tasks for e in t.errors]
    assert report.valid, problems[:5]
    assert {t.name for t in report.tasks} >= {"service", "location", "schedule", "organization"}


def test_frictionless_would_catch_a_broken_table(rows, tmp_path):
    """The validation above is not vacuous: a location with a text latitude fails it."""
    from frictionless import validate

    package = _package(tmp_path, rows)
    locations = tmp_path / "locations.csv"
    lines = locations.read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    first = next(csv.reader([lines[1]]))
    first[header.index("latitude")] = "north"
    with locations.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, first, *csv.reader(lines[2:])])
    report = validate(package)
    assert not report.valid
    assert any(e.type == "type-error" for t in report.tasks for e in t.errors)
