"""The OpenAPI document says who may call each operation and which problems it answers: the
security it declares is what the server enforces, and the errors differ by operation."""

from __future__ import annotations

import re

import pytest

from tests.api.editing.test_private_fields import EDITORS_ONLY

pytestmark = pytest.mark.anyio


async def _operations(client) -> list[tuple[str, str, dict]]:
    document = (await client.get("/openapi.json")).json()
    return [(method.upper(), path, operation)
            for path, methods in document["paths"].items()
            for method, operation in methods.items()]  # fmt: skip


async def test_bearer_and_session_schemes_on_exactly_the_operations_that_need_a_token(client):
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["session"] == schemes["session"] | {"in": "cookie", "name": "nx_session"}
    operations = await _operations(client)
    secured = {(m, p) for m, p, o in operations if o.get("security")}
    assert {p for m, p in secured if m == "GET"} == EDITORS_ONLY  # what answers 401 to GET
    assert ("POST", "/stations") in secured and ("GET", "/stations") not in secured
    assert ("POST", "/console/session") not in secured  # signing in takes the token in the body
    assert 12 <= len(secured) < len(operations)


async def test_every_secured_operation_refuses_a_caller_without_a_token(client):
    refused = 0
    for method, path, operation in await _operations(client):
        if not operation.get("security"):
            continue
        url = re.sub(r"\{[^}]+\}", "1", path).replace("/imports/1", "/imports/stations")
        url = url.replace("/reports/1/1", "/reports/1/accept")
        answer = await client.request(method, url, json={})
        assert answer.status_code == 401, (method, url, answer.status_code, answer.text[:200])
        assert answer.headers["content-type"].startswith("application/problem+json")
        refused += 1
    assert refused >= 12


async def test_errors_are_each_operations_own(client):
    codes = {(m, p): set(o["responses"]) for m, p, o in await _operations(client)}
    assert codes[("GET", "/healthz")] == {"200", "500", "503"}
    assert {"401", "403", "409", "413", "422"} <= codes[("POST", "/stations")]
    assert "429" not in codes[("POST", "/stations")]
    assert "429" in codes[("POST", "/jobs/siting")] and "401" not in codes[("POST", "/jobs/siting")]
    assert "404" in codes[("GET", "/ogc/collections/{collectionId}")]
    assert "404" not in codes[("GET", "/stations")]
    assert len({frozenset(c) for c in codes.values()}) >= 8  # not the same list everywhere


async def test_every_error_is_a_problem_and_fastapis_validation_schema_is_gone(client):
    document = (await client.get("/openapi.json")).json()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                content = response.get("content", {})
                assert list(content) == ["application/problem+json"], (method, path, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def _any_object(schema: dict, components: dict) -> bool:
    """Whether ``schema`` (its $refs resolved) is an object with no properties, as FastAPI
    makes of ``dict[str, Any]``, or a list of them, or may be one (anyOf, oneOf)."""
    while "$ref" in schema:
        schema = components.get(schema["$ref"].rpartition("/")[2], {})
    if schema.get("type") == "array":
        return _any_object(schema.get("items", {}), components)
    if "anyOf" in schema or "oneOf" in schema:
        return any(_any_object(s, components) for s in schema.get("anyOf", schema.get("oneOf")))
    return schema.get("type") == "object" and not schema.get("properties")


def _without_schema(document: dict) -> set[tuple[str, str]]:
    """Operations with a 2xx JSON answer (application/json, geo+json, schema+json, ...) whose
    schema is empty, names a component the document does not have, or says only "an object"."""
    components = document.get("components", {}).get("schemas", {})
    found = set()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                for media, content in (response.get("content") or {}).items():
                    if not status.startswith("2") or not media.split(";")[0].endswith("json"):
                        continue
                    schema = content.get("schema") or {}
                    ref = schema.get("$ref", "")
                    missing = ref and ref.rpartition("/")[2] not in components
                    if not schema or missing or _any_object(schema, components):
                        found.add((method.upper(), path))
    return found


async def test_every_json_success_answer_names_a_schema(client):
    document = (await client.get("/openapi.json")).json()
    assert _without_schema(document) == set()
    # The check can fail: an empty schema, or a $ref to nothing, is found.
    answers = document["paths"]["/stations"]["get"]["responses"]["200"]["content"]
    answers["application/geo+json"] = {}
    answers["application/json"] = {"schema": {"$ref": "#/components/schemas/Nothing"}}
    assert _without_schema(document) == {("GET", "/stations")}
    # ... and so is "any object", alone or as the items of a list.
    anything = {"type": "object", "additionalProperties": True}
    for path, schema in (("/plan/areas", anything),
                         ("/audit", {"type": "array", "items": anything})):  # fmt: skip
        answer = document["paths"][path]["get"]["responses"]["200"]["content"]
        answer["application/json"] = {"schema": schema}
    assert _without_schema(document) == {("GET", "/stations"), ("GET", "/plan/areas"),
                                         ("GET", "/audit")}  # fmt: skip


# What answers only GeoJSON (and maybe files such as CSV or HTML), never application/json.
GEOJSON_ONLY = {"/stations", "/boundaries", "/ogc/collections/{collectionId}/items",
                "/ogc/collections/{collectionId}/items/{featureId}", "/plan/stations",
                "/coverage/national", "/siting/national", "/jobs/{job_id}/result"}  # fmt: skip


async def test_geojson_answers_are_documented_as_geojson_and_not_as_json(client):
    """A client generated from the document must not expect application/json where the
    server sends application/geo+json (FastAPI lists application/json by default)."""
    document = (await client.get("/openapi.json")).json()
    for path in GEOJSON_ONLY:
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert "application/json" not in content, path
        schema = content["application/geo+json"]["schema"]
        assert set(schema) == {"$ref"}, (path, schema)  # the model alone, not a "string"
    # What the public ones serve, on an empty database: exactly the documented type.
    for url in ("/stations", "/boundaries", "/ogc/collections/stations/items", "/plan/stations"):
        served = await client.get(url)
        assert served.status_code == 200, (url, served.text[:200])
        assert served.headers["content-type"].split(";")[0] == "application/geo+json", url
    # Where both are served, both stay documented: /coverage's table is JSON, its map GeoJSON.
    coverage = document["paths"]["/coverage"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "application/geo+json"} <= set(coverage)
