"""One pass over every request: a structured log line and the request metrics.

The log line holds only the path, never the query string, headers, cookies or body:
those are where tokens and passwords travel (DESIGN.md §1.2).
"""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.observability.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS, route_label

log = structlog.get_logger("tenantry.access")


class RequestObservationMiddleware:
    """Outermost layer (pure ASGI: no buffering, no extra task), so it sees every
    answer, the 413s and 429s of the layers inside included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed = time.perf_counter() - started
            # The router and the inner layers write into this same scope dict.
            labels = (scope["method"], route_label(scope), str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_REQUEST_DURATION.labels(*labels).observe(elapsed)
            state = scope.get("state", {})
            client = scope.get("client")
            user_id = state.get("user_id")
            log.info(
                "request",
                request_id=state.get("request_id"),
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                user_id=str(user_id) if user_id else None,
                client=client[0] if client else None,
            )
