"""Export stations as an Open Referral HSDS 3.0 tabular data package (CSV files + datapackage.json).

HSDS is what referral directories and service aggregators ingest, so publishing in it lets them
list our stations without a bespoke integration. Table and column names, column order, CSV paths
and enums follow the HSDS "version": "3.0.0" ``datapackage.json`` (openreferral/specification, as
regenerated from the 3.0 core schemas in openreferral/hsds_example_profile); 24-hour opening uses
the spec's 00:00–23:59 convention (specification ``docs/hsds/schedules.md``). Columns 3.0
deprecates (tax_status, tax_id, wait_time, fees, licenses) are left out.

Pure: rows from ``fetch_rows(conn, "stations")`` in, dicts and files out; nothing here opens a
database session. Ids are uuid5 of a fixed namespace and the station's source/external_id (or
the host's identity), so re-exports give the same ids and consumers can update in place.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import re
import uuid
from pathlib import Path
from typing import Any

import opening_hours

from geo.standards import BEIJING
from geo.vocab import LABELS_ZH, Amenity, HostType, Service, StationKind, StationStatus

HSDS_VERSION = "3.0.0"
NAMESPACE = uuid.UUID("6a5507ec-4fef-4083-8c45-5c83f5b0e2e7")  # never change: ids derive from it
# HSDS asks opens_at/closes_at to carry their UTC offset (bare times read as UTC), and the
# datapackage types them Table Schema "time", whose default format needs seconds: 09:00:00+08:00.
TIME_SUFFIX = ":00+08:00"

# key → (resource name, CSV path, columns in spec order). "!" marks a column the spec requires and
# we always fill; ":type" a non-string Table Schema type. address.postal_code is required by the
# spec, but stations carry no postal code and we leave it empty rather than guess one.
TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "organizations": ("organization", "organizations.csv", (
        "id!", "name!", "alternate_name", "description!", "email", "website",
        "year_incorporated:number", "legal_status", "logo", "uri", "parent_organization_id")),
    "services": ("service", "services.csv", (
        "id!", "organization_id!", "program_id", "name!", "alternate_name", "description", "url",
        "email", "status!", "interpretation_services", "application_process", "fees_description",
        "accreditations", "eligibility_description", "minimum_age:number", "maximum_age:number",
        "assured_date:date", "assurer_email", "alert", "last_modified:datetime")),
    "locations": ("location", "locations.csv", (
        "id!", "location_type!", "url", "organization_id", "name", "alternate_name", "description",
        "transportation", "latitude:number", "longitude:number", "external_identifier",
        "external_identifier_type")),
    "service_at_locations": ("service_at_location", "service_at_location.csv", (
        "id!", "service_id!", "location_id!", "description")),
    "addresses": ("address", "addresses.csv", (
        "id!", "location_id", "attention", "address_1!", "address_2", "city!", "region",
        "state_province!", "postal_code", "country!", "address_type!")),
    "phones": ("phone", "phones.csv", (
        "id!", "location_id", "service_id", "organization_id", "contact_id",
        "service_at_location_id", "number!", "extension:number", "type", "description")),
    "schedules": ("schedule", "schedules.csv", (
        "id!", "service_id", "location_id", "service_at_location_id", "valid_from:date",
        "valid_to:date", "dtstart:date", "timezone:number", "until:date", "count:number", "wkst",
        "freq", "interval:number", "byday", "byweekno", "bymonthday", "byyearday", "description",
        "opens_at:time", "closes_at:time", "schedule_link", "attending_type", "notes")),
    "attributes": ("attribute", "attributes.csv", (
        "id!", "link_id!", "taxonomy_term_id!", "link_type", "link_entity!", "value")),
    "taxonomies": ("taxonomy", "taxonomies.csv", (
        "id!", "name!", "description!", "uri", "version")),
    "taxonomy_terms": ("taxonomy_term", "taxonomy_terms.csv", (
        "id!", "code", "name!", "description!", "parent_id", "taxonomy", "language", "taxonomy_id",
        "term_uri")),
}  # fmt: skip
FOREIGN_KEYS = {"organization_id": "organization", "parent_organization_id": "organization",
                "service_id": "service", "location_id": "location",
                "service_at_location_id": "service_at_location",
                "taxonomy_term_id": "taxonomy_term", "parent_id": "taxonomy_term",
                "taxonomy_id": "taxonomy"}  # fmt: skip

# HSDS 3.0 service.status enum: active, inactive, defunct, "temporarily closed".
STATUS = {StationStatus.OPEN: "active", StationStatus.TEMPORARILY_CLOSED: "temporarily closed",
          StationStatus.CLOSED: "defunct", StationStatus.PLANNED: "inactive",
          StationStatus.UNDER_CONSTRUCTION: "inactive"}  # fmt: skip
# row field (a list of vocab codes) → (vocabulary, taxonomy name, taxonomy description)
TAXONOMIES = {"amenities": (Amenity, "暖心站点设施", "站点为户外劳动者提供的设施"),
              "services": (Service, "工会服务项目", "站点提供的工会服务")}  # fmt: skip

ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
Week = list[tuple[tuple[int, ...], str, str]]
DAY_MIN = 24 * 60
WEEK_MIN = 7 * DAY_MIN
# A year of weeks the rules are evaluated over: an exact weekly schedule gives all of them alike.
REFERENCE_MONDAYS = tuple(dt.datetime(2025, 1, 6) + dt.timedelta(weeks=k) for k in range(52))
# What a weekly HSDS row cannot say, though the evaluator would give an answer for a week:
# holidays (evaluated without a holiday calendar here), the sun (a fixed default time without a
# position), Easter, and rules bound to given years.
_NOT_WEEKLY = re.compile(r"\b(?:PH|SH|sunrise|sunset|dawn|dusk|easter|(?:19|20)\d\d)\b", re.I)


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def _open_minutes(rules: opening_hours.OpeningHours,
                  monday: dt.datetime) -> tuple[tuple[int, int], ...] | None:  # fmt: skip
    """The week's open stretches as minutes since Monday 00:00, one stretch wrapping past
    Sunday midnight joined up; ``None`` if any part is unknown or carries a comment."""
    stretches = []
    for start, end, state, comment in rules.intervals(monday, monday + dt.timedelta(days=7)):
        if comment or state == opening_hours.State.UNKNOWN:
            return None
        if state == opening_hours.State.OPEN:
            stretches.append((int((start - monday).total_seconds()) // 60,
                              int((end - monday).total_seconds()) // 60))  # fmt: skip
    if len(stretches) > 1 and stretches[0][0] == 0 and stretches[-1][1] == WEEK_MIN:
        (_, first_end), (last_start, _) = stretches[0], stretches[-1]
        stretches = [*stretches[1:-1], (last_start, WEEK_MIN + first_end)]
    return tuple(stretches)


def _hhmm(minute: int) -> str:
    return "23:59" if minute == DAY_MIN else f"{minute // 60:02d}:{minute % 60:02d}"


@functools.lru_cache(maxsize=4096)
def weekly_hours(text: str) -> Week | None:
    """(days 0=Mo, opens, closes) per HSDS row, when the OSM hours are one weekly schedule.

    The hours are evaluated by opening-hours-py (the OSM evaluator the project uses everywhere)
    over every week of a reference year; they map when all weeks are alike, no part is unknown
    or commented, and no stretch runs past midnight except whole days (HSDS rows are one span
    within one day; the spec's 24-hour convention ends at 23:59). Anything else (holidays,
    sunrise, months, week numbers, years, comments, 22:00-02:00) returns None: the caller keeps
    the original string as description rather than guessing.
    """
    if _NOT_WEEKLY.search(text):
        return None
    try:
        rules = opening_hours.OpeningHours(text)
    except (opening_hours.ParserError, SyntaxError):  # type: ignore[attr-defined]
        return None
    weeks = {_open_minutes(rules, monday) for monday in REFERENCE_MONDAYS}
    if len(weeks) != 1 or (stretches := weeks.pop()) is None:
        return None
    week: dict[int, list[tuple[str, str]]] = {}
    for start, end in stretches:
        if end - start >= WEEK_MIN:  # open all week
            for day in range(7):
                week.setdefault(day, []).append(("00:00", "23:59"))
            continue
        crosses = start // DAY_MIN != (end - 1) // DAY_MIN
        if crosses and (start % DAY_MIN or end % DAY_MIN):
            return None  # past midnight: not one row
        for day in range(start // DAY_MIN, (end - 1) // DAY_MIN + 1):
            since, until = max(start, day * DAY_MIN), min(end, (day + 1) * DAY_MIN)
            week.setdefault(day % 7, []).append((_hhmm(since - day * DAY_MIN),
                                                 _hhmm(until - day * DAY_MIN)))  # fmt: skip
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for day in sorted(week):
        groups.setdefault(tuple(sorted(week[day])), []).append(day)
    rows = [(tuple(days), o, c) for spans, days in groups.items() for o, c in spans]
    return rows or None  # never open at all is not a schedule HSDS can express


def _when_zh(days: tuple[int, ...], opens: str, closes: str) -> str:
    if len(days) == 7:
        label = "每天"
    elif len(days) >= 3 and list(days) == list(range(days[0], days[-1] + 1)):
        label = f"{ZH_DAYS[days[0]]}至{ZH_DAYS[days[-1]]}"
    else:
        label = "、".join(ZH_DAYS[d] for d in days)
    hours = "全天开放" if (opens, closes) == ("00:00", "23:59") else f"{opens}-{closes}"
    return f"{label} {hours}"


def _schedules(
    text: str | None, key: str, service_id: str, location_id: str
) -> list[dict[str, Any]]:
    if not text:
        return []
    links = {"service_id": service_id, "location_id": location_id}
    week = weekly_hours(text)
    if week is None:
        return [{"id": _id("schedule", key, 0), **links, "description": text}]
    return [{"id": _id("schedule", key, i), **links, "timezone": 8, "freq": "WEEKLY",
             "byday": ",".join(ICAL_DAYS[d] for d in days), "description": _when_zh(days, o, c),
             "opens_at": o + TIME_SUFFIX, "closes_at": c + TIME_SUFFIX,
             "notes": f"OSM opening_hours: {text}"}
            for i, (days, o, c) in enumerate(week)]  # fmt: skip


def _organization(row: dict[str, Any]) -> dict[str, Any]:
    host_type = HostType(row.get("host_type") or HostType.UNION)
    name = (row.get("host_name") or "").strip()
    label = LABELS_ZH[host_type]
    return {
        "id": _id("organization", host_type.value, name),
        "name": name or label,
        "description": f"主办单位类型：{label}" + ("" if name else "（未登记具体名称）"),
    }


def _local_date(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return (value.astimezone(BEIJING) if value.tzinfo else value).date().isoformat()
    return value.isoformat() if isinstance(value, dt.date) else value


def _service(row: dict[str, Any], sid: str, oid: str) -> dict[str, Any]:
    status = StationStatus(row["status"])
    parts = [LABELS_ZH[StationKind(row["kind"])]]
    for title, enum, field in (("设施", Amenity, "amenities"), ("服务", Service, "services")):
        if row.get(field):
            parts.append(f"{title}：" + "、".join(LABELS_ZH[enum(c)] for c in row[field]))
    return {"id": sid, "organization_id": oid, "name": row["name"], "status": STATUS[status],
            "description": "。".join(parts) + "。",
            "alert": None if status is StationStatus.OPEN else LABELS_ZH[status],
            "assured_date": _local_date(row.get("last_verified_at"))}  # fmt: skip


def _station(row: dict[str, Any], org_id: str) -> dict[str, list[dict[str, Any]]]:
    key = f"{row['source']}/{row['external_id']}"
    sid, lid = _id("service", key), _id("location", key)
    kind = LABELS_ZH[StationKind(row["kind"])]
    out: dict[str, list[dict[str, Any]]] = {
        "services": [_service(row, sid, org_id)],
        "locations": [{"id": lid, "location_type": "physical", "organization_id": org_id,
                       "name": row["name"], "description": kind,
                       "latitude": round(float(row["lat"]), 7),
                       "longitude": round(float(row["lon"]), 7),
                       "external_identifier": row["external_id"],
                       "external_identifier_type": row["source"]}],
        "service_at_locations": [{"id": _id("service_at_location", key), "service_id": sid,
                                  "location_id": lid}],
        "addresses": [{"id": _id("address", key), "location_id": lid,
                       "address_1": row["address"], "city": "北京市", "state_province": "北京市",
                       "country": "CN", "address_type": "physical"}] if row.get("address") else [],
        "phones": [{"id": _id("phone", key), "location_id": lid, "service_id": sid,
                    "number": row["phone"]}] if row.get("phone") else [],
        "schedules": _schedules(row.get("opening_hours"), key, sid, lid),
        "attributes": [{"id": _id("attribute", key, taxonomy, code), "link_id": sid,
                        "taxonomy_term_id": _id("taxonomy_term", taxonomy, code),
                        "link_entity": "service"}
                       for taxonomy in TAXONOMIES for code in row.get(taxonomy) or []],
    }  # fmt: skip
    return out


def to_hsds(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """HSDS tables keyed as in ``TABLES``; each station is one service at one physical location.

    Organizations are the distinct hosts (host_type + host_name; an unnamed host is one
    organization per host_type, e.g. "工会"). Amenities and union services become ``attributes``
    pointing at two published taxonomies whose terms are our vocab codes with Chinese names.
    """
    tables: dict[str, list[dict[str, Any]]] = {key: [] for key in TABLES}
    organizations: dict[str, dict[str, Any]] = {}
    for row in rows:
        host = _organization(row)
        organizations.setdefault(host["id"], host)
        for key, records in _station(row, host["id"]).items():
            tables[key] += records
    tables["organizations"] = sorted(organizations.values(), key=lambda o: str(o["id"]))
    for taxonomy, (enum, name, description) in TAXONOMIES.items():
        tid = _id("taxonomy", taxonomy)
        tables["taxonomies"].append({"id": tid, "name": name, "description": description})
        tables["taxonomy_terms"] += [
            {"id": _id("taxonomy_term", taxonomy, m.value), "code": m.value, "name": LABELS_ZH[m],
             "description": f"{description}：{LABELS_ZH[m]}", "taxonomy": name, "language": "zh",
             "taxonomy_id": tid} for m in enum]  # fmt: skip
    return tables


def _field(spec: str) -> dict[str, Any]:
    name, _, kind = spec.rstrip("!").partition(":")
    field: dict[str, Any] = {"name": name, "type": kind or "string"}
    if name == "id" or name.endswith("_id"):
        field["format"] = "uuid"
    if spec.endswith("!"):
        field["constraints"] = {"required": True}
    return field


def _resource(key: str) -> dict[str, Any]:
    name, path, columns = TABLES[key]
    fields = [_field(c) for c in columns]
    present = {resource for resource, _, _ in TABLES.values()}
    keys = [{"fields": f["name"], "reference": {"resource": FOREIGN_KEYS[f["name"]],
                                                "fields": "id"}}
            for f in fields if FOREIGN_KEYS.get(f["name"]) in present]  # fmt: skip
    schema = {"fields": fields, "primaryKey": "id", **({"foreignKeys": keys} if keys else {})}
    return {"name": name, "path": path, "profile": "tabular-data-resource", "format": "csv",
            "mediatype": "text/csv", "encoding": "utf-8", "schema": schema}  # fmt: skip


def write_hsds(rows: list[dict[str, Any]], directory: Path) -> list[Path]:
    """Write one CSV per HSDS table plus ``datapackage.json`` into ``directory``; return the paths.

    Every table is written, header-only when empty, so the package shape never depends on the
    data. Plain UTF-8 without BOM: the readers are HSDS/Frictionless tools, not Excel.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, records in to_hsds(rows).items():
        _, path, columns = TABLES[key]
        names = [_field(c)["name"] for c in columns]
        with (directory / path).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=names, extrasaction="raise")
            writer.writeheader()
            writer.writerows({n: "" if r.get(n) is None else r[n] for n in names} for r in records)
        written.append(directory / path)
    package = {
        "name": "nuanxin-stations-hsds", "title": "北京工会服务站点与暖心驿站（HSDS）",
        "description": f"Open Referral HSDS {HSDS_VERSION} tabular data package",
        "profile": "tabular-data-package", "hsds_version": HSDS_VERSION,
        "resources": [_resource(key) for key in TABLES],
    }  # fmt: skip
    descriptor = directory / "datapackage.json"
    descriptor.write_text(json.dumps(package, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return [*written, descriptor]
