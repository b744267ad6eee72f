"""One structured log line per request (DESIGN.md §1.2: nothing secret in it).

Only the path is logged, never the query string, headers, cookies or body: those
are where tokens and passwords travel.
"""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("tenantry.access")


class AccessLogMiddleware:
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
            state = scope.get("state", {})
            client = scope.get("client")
            user_id = state.get("user_id")
            log.info(
                "request",
                request_id=state.get("request_id"),
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                user_id=str(user_id) if user_id else None,
                client=client[0] if client else None,
            )
