"""Pure ASGI middleware (no per-request task or body buffering): the edge layer
(request ids, security headers, access log and metrics) and the request-body cap."""

from __future__ import annotations

import re
import time
import uuid

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.errors import (
    internal_error,
    log_unhandled,
    problem_response,
    unavailable_dependency,
    unavailable_response,
)
from tenantry.headers import SECURITY_HEADERS
from tenantry.observability.access_log import observe_request

_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}\Z")

_SECURITY_HEADERS_RAW = [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in SECURITY_HEADERS.items()
]
# Only ever sent over HTTPS (RFC 6797 §7.2).
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class EdgeMiddleware:
    """The outermost layer: what every answer needs, in one pass.

    - a request id: a well-formed `X-Request-ID` from the client, or a new one, set in
      `scope["state"]` before anything logs, and echoed on the answer;
    - the headers of DESIGN.md §7, and `Cache-Control: no-store` on anything tied to a
      credential;
    - the access log line and the request metrics (observability/access_log.py), for
      every answer, the 413s and 429s of the layers inside included;
    - the 500 for an exception nothing inside handled. Left to Starlette, that answer
      comes from its outermost layer, which then re-raises: uvicorn prints the
      traceback as plain text and closes the connection, which a proxy may be sharing
      between many clients. Here the traceback goes into the structured log line and
      the connection stays open for the next request.

    One layer rather than three: each layer of middleware wraps every `send` again, a
    measured cost on the path every API call takes (issue 8). Pure ASGI: no extra task,
    no body buffering.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        incoming = b""
        authenticated = False
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value
            elif name == b"authorization":
                authenticated = True
        # An id from outside is logged, so it must not be able to forge a log line.
        request_id = (
            incoming.decode("latin-1") if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        # Token responses and every answer to an authenticated request (DESIGN.md §5).
        # The CSRF cookie alone authenticates nothing, so static assets stay cacheable.
        no_store = authenticated or scope["path"].startswith("/auth/")
        extra = [*_SECURITY_HEADERS_RAW, (b"x-request-id", request_id.encode("latin-1"))]
        if scope.get("scheme") == "https":
            extra.append(_HSTS)
        status = 500
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _value in headers}
                if no_store:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                headers.extend(h for h in extra if h[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # An outage met outside the routes (a session closing on a lost connection)
            # is a 503 like one met inside them; anything else is ours, a logged 500.
            dependency = unavailable_dependency(exc)
            if dependency is None:
                log_unhandled(
                    exc, request_id=request_id, method=scope["method"], path=scope["path"]
                )
                response = internal_error()
            else:
                response = unavailable_response(
                    dependency,
                    exc,
                    retry_after=scope["app"].state.settings.service_unavailable_retry_after_seconds,
                    request_id=request_id,
                    method=scope["method"],
                    path=scope["path"],
                )
            # Half an answer cannot be completed: returning without finishing it makes
            # the server drop this one connection, with the error already logged.
            if not started:
                await response(scope, receive, send_with_headers)
        finally:
            observe_request(scope, status, time.perf_counter() - started_at)


class BodySizeLimitMiddleware:
    """Refuse request bodies over the limit with `413`, before reading them whole."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "payload_too_large",
            detail=f"Request bodies are limited to {self.max_bytes} bytes.",
        )
        await response(scope, receive, send)


class _BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing re-raises it instead of answering 400."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="The request body is too large.")
