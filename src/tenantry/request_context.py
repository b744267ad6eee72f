"""Who is asking, from where: the facts every audit event and log line carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from tenantry.text import scrub

USER_AGENT_MAX = 512


@dataclass(frozen=True, slots=True)
class RequestContext:
    ip: str | None
    user_agent: str | None
    request_id: str | None
    # "METHOD /path/{template}" of the route answering, for `access.denied` events.
    route: str = ""


async def get_request_context(request: Request) -> RequestContext:
    # The client address has already been corrected for trusted proxies by uvicorn.
    user_agent = request.headers.get("user-agent")
    return RequestContext(
        ip=request.client.host if request.client else None,
        # Headers arrive as latin-1, NUL and C1 bytes included (PostgreSQL refuses NUL).
        user_agent=scrub(user_agent[:USER_AGENT_MAX]) if user_agent else None,
        request_id=getattr(request.state, "request_id", None),
        route=f"{request.method} {getattr(request.scope.get('route'), 'path', request.url.path)}",
    )


Context = Annotated[RequestContext, Depends(get_request_context)]
