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
        for unused in ("HTTPValidationError", "ValidationError"):
            if unused not in json.dumps(schema["paths"]):
                components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    return openapi
