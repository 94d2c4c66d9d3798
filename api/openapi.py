"""The OpenAPI document says, per operation, who may call it and which problems it can answer.

* **Security.** An operation that depends on :func:`api.editing.auth.current_principal` (an
  editor's bearer token, or the console's session cookie) carries both schemes; every other
  operation is public and says so by having none.
* **Errors.** Each operation lists the problem+json answers it can actually give, from what it
  is: 500 and 503 for all (our fault; database down, overloaded or timed out); 400 and 422 when
  it takes parameters or a body; 413 with a body; 409 when it writes to a resource; 401 when it
  needs a token, 403 when it also writes or is for admins; 404 when its path names a resource;
  and what its handler raises beyond these (:data:`RAISES`).
  The contract test (schemathesis) fails on any answer an operation does not document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api.editing.auth import current_principal, require_admin
from api.schemas import ALSO_DOCUMENTED, PROBLEM_RESPONSES, Problem

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "nx_<id>_<secret>",
               "description": "an editor's API token (`nuanxin users add`)"},
    "session": {"type": "apiKey", "in": "cookie", "name": "nx_session",
                "description": "the staff console's session, from POST /console/session; "
                               "writes also need its X-CSRF-Token"},
}  # fmt: skip
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# What handlers raise beyond the rules: a lookup of what a parameter or body names (a
# boundary code, a stored run, a page URL: 404), a limit on work or attempts (active jobs,
# sign-in attempts, reports per client, uploads at once: 429), a token in a body (401).
RAISES: dict[str, set[int]] = {
    "/coverage": {404}, "/coverage/what-if": {404}, "/coverage/national": {404},
    "/siting/national": {404}, "/oembed": {404}, "/jobs/siting": {404, 429},
    "/console/session": {401, 429}, "/stations/{station_id}/reports": {429},
    "/imports/{kind}": {429}, "/imports/population": {429},
}  # fmt: skip


def _depends_on(dependant: Dependant, call: object) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _parameters(dependant: Dependant) -> bool:
    if dependant.query_params or dependant.path_params or dependant.body_params:
        return True
    return any(_parameters(d) for d in dependant.dependencies)


def problem_codes(route: APIRoute, method: str) -> set[int]:
    """The problem statuses one operation can answer (see the module's rules)."""
    codes = {500, 503}
    writes, body = method in WRITES, bool(route.dependant.body_params)
    if _parameters(route.dependant):
        codes |= {400, 422}
    if body:
        codes.add(413)
    if writes and (body or route.dependant.path_params):
        codes.add(409)  # the resource's state: already decided, changed meanwhile, not done
    if _depends_on(route.dependant, current_principal):
        codes.add(401)
        if writes or _depends_on(route.dependant, require_admin):
            codes.add(403)  # outside a district editor's district, admins only, no CSRF token
    if route.dependant.path_params:
        codes.add(404)
    return codes | RAISES.get(route.path, set())


def _add_models(schemas: dict[str, Any]) -> None:
    """The models that answers name beside FastAPI's own (see :func:`api.schemas.answer`)."""
    mode: JsonSchemaMode = "serialization"  # as FastAPI documents a response's model
    models = [(model, mode) for model in ALSO_DOCUMENTED.values()]
    _, found = models_json_schema(models, ref_template="#/components/schemas/{model}")
    for name, schema in found.get("$defs", {}).items():
        schemas.setdefault(name, schema)


def document_operations(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Replace FastAPI's document with one whose operations (those of ``routers``, as the app
    includes them) carry their own errors and security, and the Problem schema."""
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    generate = app.openapi
    done: list[dict[str, Any]] = []  # built once, on first use

    def openapi() -> dict[str, Any]:
        if done:
            return done[0]
        document = generate()
        components = document.setdefault("components", {})
        components.setdefault("schemas", {}).setdefault("Problem", Problem.model_json_schema())
        _add_models(components["schemas"])
        components["securitySchemes"] = SECURITY_SCHEMES
        for route in routes:
            if not route.include_in_schema:
                continue
            for method in route.methods or ():
                operation = document["paths"][route.path_format].get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for status in problem_codes(route, method):
                    declared = responses.setdefault(str(status), dict(PROBLEM_RESPONSES[status]))
                    declared.setdefault("content", PROBLEM_RESPONSES[status]["content"])
                if "422" in responses:  # ours is a problem, not FastAPI's HTTPValidationError
                    responses["422"] = dict(PROBLEM_RESPONSES[422])
                for status, declared in responses.items():  # a route's own, e.g. 409 not done
                    if status.isdigit() and int(status) >= 400:
                        declared["content"] = PROBLEM_RESPONSES[422]["content"]
                if _depends_on(route.dependant, current_principal):
                    operation["security"] = [{"bearer": []}, {"session": []}]
        for unused in ("HTTPValidationError", "ValidationError"):
            components["schemas"].pop(unused, None)
        done.append(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
