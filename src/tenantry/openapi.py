"""OpenAPI descriptions of the problem responses, so `/docs` lists every error."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class ErrorItem(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details with Tenantry's stable `code`."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ErrorItem] | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }


# These two answer errors as RFC 6749 §5.2 says, not as problem+json.
OAUTH_PATHS = frozenset({"/auth/token", "/auth/revoke"})
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BAD_REQUEST = {"description": HTTPStatus.BAD_REQUEST.phrase}


ORG = "/organizations/{org_id}"
PRODUCT = f"{ORG}/products/{{product_id}}"
ROLE = f"{ORG}/roles/{{role_id}}"
INVITATION = f"{ORG}/invitations/{{invitation_id}}"
IN_THE_ORG = {"org_id": "$request.path.org_id"}


def link(method: str, path: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link (3.1 §4.8.20) to the operation at `method path`."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


def _item_links(
    noun: str, path: str, parameters: dict[str, str], writes: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Links to read, update and delete one thing; `writes` adds parameters (If-Match)
    that only the update and the delete take."""
    verbs = {"read": "get", "update": "patch", "delete": "delete"}
    return {
        f"{verb}_{noun}": link(
            method, path, **parameters, **(writes if writes and method != "get" else {})
        )
        for verb, method in verbs.items()
        if f"{method} {path}" not in NO_READ
    }


# Roles and invitations have no single-item read.
NO_READ = frozenset({f"get {ROLE}", f"get {INVITATION}", f"patch {INVITATION}"})
_ORG = {"org_id": "$response.body#/id"}
_PRODUCT = {**IN_THE_ORG, "product_id": "$response.body#/id"}
_ROLE = {**IN_THE_ORG, "role_id": "$response.body#/id"}
_INVITATION = {**IN_THE_ORG, "invitation_id": "$response.body#/id"}
_VERSION = {"header.if-match": "$response.header.ETag"}

# Links from what creates or reads a thing to what reads, changes or deletes it, so
# a client (and schemathesis' stateful run) can follow a product from birth to death.
LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("post", "/organizations", "201"): {
        **_item_links("organization", ORG, _ORG),
        "create_product": link("post", f"{ORG}/products", **_ORG),
        "list_products": link("get", f"{ORG}/products", **_ORG),
        "create_role": link("post", f"{ORG}/roles", **_ORG),
        "create_invitation": link("post", f"{ORG}/invitations", **_ORG),
        "list_members": link("get", f"{ORG}/members", **_ORG),
        "list_audit_events": link("get", f"{ORG}/audit-events", **_ORG),
    },
    ("get", ORG, "200"): _item_links("organization", ORG, _ORG),
    ("patch", ORG, "200"): _item_links("organization", ORG, _ORG),
    ("post", f"{ORG}/products", "201"): _item_links("product", PRODUCT, _PRODUCT, writes=_VERSION),
    ("get", PRODUCT, "200"): _item_links("product", PRODUCT, _PRODUCT, writes=_VERSION),
    ("patch", PRODUCT, "200"): _item_links("product", PRODUCT, _PRODUCT, writes=_VERSION),
    ("post", f"{ORG}/roles", "201"): _item_links("role", ROLE, _ROLE),
    ("patch", ROLE, "200"): _item_links("role", ROLE, _ROLE),
    ("post", f"{ORG}/invitations", "201"): _item_links("invitation", INVITATION, _INVITATION),
}


def problem_details_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Describe every error response as the problem+json body the handlers send.

    FastAPI documents 422 as `application/json` with its own `HTTPValidationError`;
    our handler answers `application/problem+json` with `Problem`, so the document
    (and the typed client generated from it) is corrected once, when first asked.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                if "requestBody" in operation and path not in OAUTH_PATHS:
                    # A body that is not UTF-8 never reaches validation: Starlette's
                    # parser refuses it with 400 `bad_request` before any route runs.
                    operation["responses"].setdefault("400", BAD_REQUEST)
                for status, response in operation.get("responses", {}).items():
                    is_error = status[:1] in {"4", "5"}
                    if is_error and (path not in OAUTH_PATHS or status == "422"):
                        response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
        for (method, path, status), links in LINKS.items():
            schema["paths"][path][method]["responses"][status]["links"] = links
        for unused in ("HTTPValidationError", "ValidationError"):
            if unused not in json.dumps(schema["paths"]):
                components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    return openapi
