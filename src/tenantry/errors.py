"""Problem details (RFC 9457): every error the API answers has this one shape.

Domains raise `ProblemError` subclasses that carry their status and stable `code`;
the handlers installed by `install_error_handlers` render them, FastAPI's validation
errors, Starlette's HTTP errors and any unhandled exception the same way.

Over 300 lines on purpose: the error types, their rendering and the outage
classification (which failures are a 503) belong together, so every answer that is
not a route's own comes from this one file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
import limits.errors
import redis.exceptions
import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from tenantry.headers import SECURITY_HEADERS
from tenantry.observability.metrics import DEPENDENCY_UNAVAILABLE

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
        # RFC 9457 extension members a subclass adds to the body, after `code`.
        self.extensions: dict[str, Any] = {}


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
    extensions: Mapping[str, Any] | None = None,
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
    body.update(extensions or {})
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
        exc.status,
        exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        extensions=exc.extensions,
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


@cache
def _path_pattern(path: str) -> re.Pattern[str]:
    return compile_path(path)[0]


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (RFC 9110 §15.5.6). Each method is
    its own route, and Starlette's 405 names only those of the first route that matched
    the path."""
    path = request.scope["path"]
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.methods and route.path and _path_pattern(route.path).match(path):
            methods.update(route.methods)
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allow := _allowed_methods(request)):
        headers["Allow"] = allow
    return problem_response(exc.status_code, code, detail=detail, headers=headers)


def log_unhandled(exc: Exception, *, request_id: str | None, method: str, path: str) -> None:
    """The traceback goes into the structured log line (`exception`), never beside it."""
    log.error("unhandled_exception", request_id=request_id, method=method, path=path, exc_info=exc)


def internal_error(headers: Mapping[str, str] | None = None) -> JSONResponse:
    return problem_response(
        500,
        "internal_error",
        detail="An unexpected error occurred; it has been logged.",
        headers=headers,
    )


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    """The last resort, for a failure of the edge layer itself, which answers every
    other unhandled exception (middleware.EdgeMiddleware)."""
    request_id = getattr(request.state, "request_id", None)
    log_unhandled(exc, request_id=request_id, method=request.method, path=request.url.path)
    # Starlette sends this answer from outside every middleware, so it adds their
    # headers itself: the security headers, and the id that finds the log line.
    headers = dict(SECURITY_HEADERS)
    if request_id:
        headers["X-Request-ID"] = request_id
    return internal_error(headers)


# Failures that say "PostgreSQL or Redis cannot be reached now", not "this request is
# wrong": the limits storage (wrapped or raw redis errors), a connection refused, cut or
# timed out (OSError covers TimeoutError), the server shutting down or starting up
# (asyncpg's operator-intervention class, SQLSTATE 57), a full pool.
_REDIS_UNAVAILABLE = (
    limits.errors.StorageError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
_DATABASE_UNAVAILABLE = (
    OSError,
    # A backend terminated while its connection sat idle sends an error message and
    # then closes the socket; between the two, asyncpg's connection is stuck waiting for
    # a sync point and refuses every statement with this error.
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.OperationalError,
)
# Roots under which the handler looks for one of the failures above.
_DEPENDENCY_ERROR_ROOTS = (
    *_REDIS_UNAVAILABLE,
    *_DATABASE_UNAVAILABLE,
    redis.exceptions.RedisError,
    sqlalchemy.exc.DBAPIError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def unavailable_dependency(exc: BaseException) -> str | None:
    """`redis` or `database` when `exc` (or what it wraps) says that dependency cannot
    be reached, else None: an error of the request or of our code stays a 500."""
    if isinstance(exc, _REDIS_UNAVAILABLE):
        return "redis"
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return "database"
        if isinstance(current, _DATABASE_UNAVAILABLE):
            return "database"
        # asyncpg says this, and only this, of a connection the server already closed.
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return "database"
        current = current.__cause__ or current.__context__
    return None


def unavailable_response(
    dependency: str,
    exc: BaseException,
    *,
    retry_after: int,
    request_id: str | None,
    method: str,
    path: str,
) -> JSONResponse:
    """`503 service_unavailable` for an outage of `dependency` (`database` or `redis`)."""
    DEPENDENCY_UNAVAILABLE.labels(dependency).inc()
    # A warning without a traceback: an outage makes one per request, all alike.
    log.warning(
        "dependency_unavailable",
        dependency=dependency,
        error=type(exc).__name__,
        request_id=request_id,
        method=method,
        path=path,
    )
    return problem_response(
        503,
        "service_unavailable",
        title="Service unavailable",
        detail=f"A service this request needs is unavailable; retry after {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


async def _dependency_error(request: Request, exc: Exception) -> JSONResponse:
    dependency = unavailable_dependency(exc)
    if dependency is None:
        raise exc  # not an outage: the edge layer logs it with its traceback, as a 500
    return unavailable_response(
        dependency,
        exc,
        retry_after=request.app.state.settings.service_unavailable_retry_after_seconds,
        request_id=getattr(request.state, "request_id", None),
        method=request.method,
        path=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error_class in _DEPENDENCY_ERROR_ROOTS:
        app.add_exception_handler(error_class, _dependency_error)
    app.add_exception_handler(Exception, _unhandled_error)
