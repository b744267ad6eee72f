"""What every answered request leaves behind: a structured log line and the request
metrics. Called once per request by `middleware.EdgeMiddleware`.

The log line holds only the path, never the query string, headers, cookies or body:
those are where tokens and passwords travel (DESIGN.md §1.2).
"""

from __future__ import annotations

import logging
from typing import Any

import structlog
from starlette.types import Scope

from tenantry.observability.logging import writes
from tenantry.observability.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS, route_label

log = structlog.get_logger("tenantry.access")

# Any other method shares one label: a client cannot mint a time series per made-up verb.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The metric children per (method, route, status): `labels()` takes a lock and checks
# its arguments on every call. Bounded: methods above, route templates, status codes.
_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    method = scope["method"] if scope["method"] in _METHODS else "OTHER"
    # The router and the inner layers have written the matched route into this scope.
    labels = (method, route_label(scope), str(status))
    children = _children.get(labels)
    if children is None:
        children = _children[labels] = (
            HTTP_REQUESTS.labels(*labels),
            HTTP_REQUEST_DURATION.labels(*labels),
        )
    children[0].inc()
    children[1].observe(seconds)
    if not writes(logging.INFO):
        return
    state = scope.get("state", {})
    client = scope.get("client")
    user_id = state.get("user_id")
    log.info(
        "request",
        request_id=state.get("request_id"),
        method=scope["method"],
        path=scope["path"],
        status=status,
        duration_ms=round(seconds * 1000, 2),
        user_id=str(user_id) if user_id else None,
        client=client[0] if client else None,
    )
