"""Success bodies match the schemas /openapi.json publishes, on the answers schemathesis cannot
reach: the secured operations (it has no token), the siting job's result (it never waits for
one) and the stored national runs (its database has none). Each answer is validated with
``jsonschema`` against its operation's schema for that status and content type, ``$ref``s
resolved in the document's components."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from geo.store.db import make_engine
from tests.conftest import token_headers
from tests.geo.national.conftest import needs_census
from tests.national_runs import bth_runs, stored

FENGTAI = "110106000000"
STATION = {"kind": "rest_point", "name": "卢沟桥南暖心驿站", "lon": 116.2135, "lat": 39.8496}
ENTERPRISE = {"name": "北京某某物流有限公司", "lon": 116.2135, "lat": 39.8496}


class Contract:
    """The published document, and a check of one answer against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.checked: set[tuple[str, str]] = set()

    def schema(self, method: str, path: str, status: int, media: str) -> dict[str, Any]:
        responses = self.document["paths"][path][method.lower()]["responses"]
        content = responses[str(status)].get("content") or {}
        assert content.get(media, {}).get("schema"), (method, path, status, media, "no schema")
        # The components beside the schema, so that "#/components/schemas/X" resolves.
        return content[media]["schema"] | {"components": self.document["components"]}

    def validate(self, method: str, path: str, body: Any, status: int, media: str) -> None:
        schema = self.schema(method, path, status, media)
        jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        ).validate(body)

    def check(self, method: str, path: str, answer: httpx.Response, status: int = 200) -> Any:
        """Assert ``answer`` succeeded as documented; its body, validated."""
        assert answer.status_code == status, (method, path, answer.status_code, answer.text[:300])
        responses = self.document["paths"][path][method.lower()]["responses"]
        assert str(status) in responses, (method, path, status, "status not documented")
        self.checked.add((method, path))
        if status == 204:
            assert not answer.content and not responses["204"].get("content")
            return None
        media = answer.headers["content-type"].split(";")[0]
        body = answer.json()
        self.validate(method, path, body, status, media)
        return body


@pytest.fixture(scope="module")
def http(bundled_server):
    with httpx.Client(base_url=bundled_server, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def contract(request, http) -> Iterator[Contract]:
    """The document; once the whole file has run, every operation that needs a token must
    have been checked (with ``-k`` or a failure, some never ran: nothing to conclude)."""
    contract = Contract(http.get("/openapi.json").json())
    failures = request.session.testsfailed
    yield contract
    here = {name for name in vars(request.module) if name.startswith("test_")}
    ran = {item.name for item in request.session.items if item.path == request.node.path}
    if ran == here and request.session.testsfailed == failures:
        paths = contract.document["paths"]
        secured = {(method.upper(), path) for path, methods in paths.items()
                   for method, operation in methods.items()
                   if operation.get("security")}  # fmt: skip
        assert secured - contract.checked == set(), "secured operations no test here checked"


@pytest.fixture(scope="module")
def admin(bundled_database_url) -> dict[str, str]:
    return token_headers(bundled_database_url, "schema-admin", "admin")


def test_a_wrong_body_is_refused(contract):
    """The check can fail: a row missing its columns, a receipt with another status."""
    with pytest.raises(jsonschema.ValidationError):
        contract.validate("POST", "/stations", {"id": 1}, 201, "application/json")
    receipt = {"id": 1, "status": "accepted"}
    with pytest.raises(jsonschema.ValidationError):
        contract.validate("POST", "/stations/{station_id}/reports", receipt, 202,
                          "application/json")  # fmt: skip
    contract.validate("POST", "/stations/{station_id}/reports", receipt | {"status": "pending"},
                      202, "application/json")  # fmt: skip
    # Formats are checked too: a date-time without its offset is not RFC 3339.
    due = {"id": 1, "name": "x", "kind": "rest_point", "lon": 116.4, "lat": 39.9}
    contract.validate("GET", "/stations/due", [due | {"last_verified_at": None}], 200,
                      "application/json")  # fmt: skip
    with pytest.raises(jsonschema.ValidationError, match="date-time"):
        contract.validate("GET", "/stations/due", [due | {"last_verified_at": "2026-12-07 10:30"}],
                          200, "application/json")  # fmt: skip


def test_editors_writes_reports_and_audit_answer_as_documented(http, contract, admin):
    c = contract
    row = c.check("POST", "/stations", http.post("/stations", headers=admin, json=STATION), 201)
    sid, one = row["id"], "/stations/{station_id}"
    c.check("PATCH", one, http.patch(f"/stations/{sid}", headers=admin, json={"seats": 4}))
    receipt = c.check("POST", f"{one}/reports", http.post(
        f"/stations/{sid}/reports", json={"kind": "confirmed_open"}), 202)  # fmt: skip
    c.check("GET", "/reports", http.get("/reports", headers=admin))
    c.check("POST", "/reports/{report_id}/{decision}",
            http.post(f"/reports/{receipt['id']}/accept", headers=admin))  # fmt: skip
    decided = c.check("GET", "/reports", http.get("/reports", headers=admin,
                                                  params={"status": "accepted"}))  # fmt: skip
    assert decided[0]["moderated_at"], "a moderated report was validated"
    service = c.check("GET", "/districts/service", http.get("/districts/service"))
    assert any(d["reports"]["received"] for d in service["districts"])
    c.check("POST", f"{one}/close", http.post(f"/stations/{sid}/close", headers=admin))
    c.check("GET", "/stations/due", http.get("/stations/due", headers=admin))
    entries = c.check(
        "GET",
        "/audit",
        http.get("/audit", headers=admin, params={"row_id": sid, "table": "stations"}),
    )
    c.check("POST", "/audit/{entry_id}/revert",
            http.post(f"/audit/{entries[0]['id']}/revert", headers=admin))  # fmt: skip
    c.check("DELETE", one, http.delete(f"/stations/{sid}", headers=admin), 204)

    made = c.check("POST", "/enterprises",
                   http.post("/enterprises", headers=admin, json=ENTERPRISE), 201)  # fmt: skip
    ent = "/enterprises/{enterprise_id}"
    c.check(
        "PATCH",
        ent,
        http.patch(
            f"/enterprises/{made['id']}",
            headers=admin,
            json={"employees": 12, "union_status": "unionised"},
        ),
    )
    c.check("DELETE", ent, http.delete(f"/enterprises/{made['id']}", headers=admin), 204)


def test_uploads_answer_as_documented(http, contract, admin):
    c = contract
    sheet = "external_id,kind,name,lon,lat,opening_hours\ns-1,rest_point,西站,116.21,39.85,24/7\n"
    people = "code,population,year\n110106017000,120000,2020\n"
    for kind, path, text in (("stations", "/imports/{kind}", sheet),
                             ("population", "/imports/population", people)):  # fmt: skip
        files = {"file": (f"{kind}.csv", text.encode(), "text/csv")}
        answer = http.post(f"/imports/{kind}", params={"dry_run": "true", "source": "schema"},
                           headers=admin, files=files)  # fmt: skip
        c.check("POST", path, answer)


def test_the_console_answers_as_documented(http, contract, admin):
    c = contract
    token = admin["Authorization"].removeprefix("Bearer ")
    with httpx.Client(base_url=str(http.base_url), timeout=30) as browser:  # its own cookies
        c.check("POST", "/console/session", browser.post("/console/session", json={"token": token}))
        c.check("GET", "/console/session", browser.get("/console/session"))
    c.check("GET", "/console/places", http.get("/console/places", headers=admin))
    c.check("GET", "/console/places/{station_id}/history",
            http.get("/console/places/1/history", headers=admin))  # fmt: skip
    c.check(
        "POST",
        "/console/hours",
        http.post("/console/hours", headers=admin, json={"opening_hours": "Mo-Fr 08:00-18:00"}),
    )
    wrong = c.check(
        "POST",
        "/console/hours",
        http.post("/console/hours", headers=admin, json={"opening_hours": "Mo-Zz"}),
    )
    assert wrong["valid"] is False and wrong["error"]
    c.check("GET", "/console/editors", http.get("/console/editors", headers=admin))
    editor = c.check("POST", "/console/editors", http.post(
        "/console/editors", headers=admin, json={"name": "schema-ed", "district_code": FENGTAI}
    ), 201)  # fmt: skip
    c.check("DELETE", "/console/editors/{token_id}",
            http.delete(f"/console/editors/{editor['id']}", headers=admin))  # fmt: skip


def test_a_siting_job_and_the_planners_reads_answer_as_documented(http, contract, admin):
    c = contract
    job = c.check("POST", "/jobs/siting",
                  http.post("/jobs/siting", json={"boundary": [FENGTAI], "p": 2}), 202)  # fmt: skip
    deadline = time.monotonic() + 120
    while (state := c.check("GET", "/jobs/{job_id}", http.get(f"/jobs/{job['id']}")))["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, state
        time.sleep(0.3)
    assert state["status"] == "succeeded", state["error"]
    result = c.check("GET", "/jobs/{job_id}/result", http.get(f"/jobs/{job['id']}/result"))
    assert result["features"], "a result with proposals was validated"
    cancel = http.post("/jobs/siting", json={"boundary": [FENGTAI], "p": 20, "model": "backup"})
    c.check("DELETE", "/jobs/{job_id}", http.delete(f"/jobs/{cancel.json()['id']}"))
    c.check("GET", "/plan/stations", http.get("/plan/stations", headers=admin))
    c.check("GET", "/plan/areas", http.get("/plan/areas"))
    what_if = {"scope": {"boundary": [FENGTAI]},
               "changes": [{"action": "add", "lon": 116.2187, "lat": 39.8512}]}  # fmt: skip
    c.check("POST", "/coverage/what-if", http.post("/coverage/what-if", json=what_if))
    for f in ("geojson", "json"):
        c.check("GET", "/coverage", http.get("/coverage", params={"boundary": FENGTAI, "f": f}))


@needs_census
def test_stored_national_runs_answer_as_documented(http, contract, bundled_database_url):
    c = contract
    engine = make_engine(bundled_database_url)
    try:
        with stored(engine, bth_runs(resolution=6, stations=300, p=5)):
            for level in ("county", "province"):
                c.check("GET", "/coverage/national",
                        http.get("/coverage/national", params={"level": level}))  # fmt: skip
            sites = c.check("GET", "/siting/national", http.get("/siting/national"))
            assert sites["features"]
            c.check("GET", "/coverage/national/runs", http.get("/coverage/national/runs"))
    finally:
        engine.dispose()


def test_signing_out_answers_as_documented(http, contract):
    signed_out = http.delete("/console/session")  # no session: a 204 all the same
    contract.check("DELETE", "/console/session", signed_out, 204)
