"""Problem details (RFC 9457): every error the API answers has this one shape.

Domains raise `ProblemError` subclasses that carry their status and stable `code`;
the handlers installed by `install_error_handlers` render them, FastAPI's validation
errors, Starlette's HTTP errors and any unhandled exception the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("tenantry.errors")


class ProblemError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, *, headers: Mapping[str, str] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = dict(headers or {})


class NotFound(ProblemError):
    status = 404
    code = "not_found"
    title = "Not found"


class Forbidden(ProblemError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class Conflict(ProblemError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unauthorized(ProblemError):
    """401 with the `WWW-Authenticate` challenge RFC 9110 §11.6.1 requires."""

    status = 401
    code = "not_authenticated"
    title = "Not authenticated"

    def __init__(self, detail: str | None = None, *, token_sent: bool = False):
        challenge = 'Bearer error="invalid_token"' if token_sent else "Bearer"
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class InvalidToken(Unauthorized):
    code = "invalid_token"
    title = "Invalid or expired token"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, token_sent=True)


def problem_response(
    status: int,
    code: str,
    *,
    title: str | None = None,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail or title or phrase,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


# Starlette raises these for routing; give each a stable code.
_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def _problem_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status, exc.code, title=exc.title, detail=exc.detail, headers=exc.headers
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Never echo the submitted input: FastAPI's default would put passwords in responses.
    errors = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "Invalid value")),
            "type": str(error.get("type", "value_error")),
        }
        for error in exc.errors()
    ]
    return problem_response(
        422,
        "validation_error",
        title="Validation error",
        detail="The request is not valid; see `errors`.",
        errors=errors,
    )


def allowed_methods(request: Request) -> str:
    """Every documented method of the request's path, for the `Allow` of a 405.

    FastAPI makes one route per method, and Starlette's 405 names only the first route
    whose path matched, so `Allow` would omit the path's other methods (RFC 9110 §10.2.1
    wants all of them).
    """
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _path_pattern(template).fullmatch(request.url.path):
            methods.update(method.upper() for method in operations)
    return ", ".join(sorted(methods))


@functools.cache
def _path_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allow := allowed_methods(request)):
        headers["Allow"] = allow
    return problem_response(exc.status_code, code, detail=detail, headers=headers)


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    from tenantry.middleware import SECURITY_HEADERS  # middleware imports this module

    request_id = getattr(request.state, "request_id", None)
    log.error(
        "unhandled_exception",
        request_id=request_id,
        method=request.method,
        path=request.url.path,
        exc_info=exc,
    )
    # Starlette sends this answer from outside every middleware, so it adds their
    # headers itself: the security headers, and the id that finds the log line.
    headers = dict(SECURITY_HEADERS)
    if request_id:
        headers["X-Request-ID"] = request_id
    return problem_response(
        500,
        "internal_error",
        detail="An unexpected error occurred; it has been logged.",
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
