"""Cross-origin access for a browser app on another origin (DESIGN.md §7).

Closed unless `CORS_ORIGINS` lists origins. Credentials are always allowed (the
refresh cookie), which is exactly why only listed origins are ever echoed: the
settings refuse `*` in every environment.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Message, Send

ALLOWED_METHODS = ("GET", "POST", "PATCH", "DELETE")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-CSRF-Token", "If-Match", "X-Request-ID")
EXPOSED_HEADERS = (
    "ETag",
    "Retry-After",
    "X-Request-ID",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)


def cors_options(origins: list[str], *, max_age_seconds: int) -> dict[str, Any]:
    """Keyword arguments for Starlette's `CORSMiddleware`."""
    if "*" in origins:
        raise ValueError("CORS with credentials never allows every origin")
    return {
        "allow_origins": list(origins),
        "allow_credentials": True,
        "allow_methods": list(ALLOWED_METHODS),
        "allow_headers": list(ALLOWED_HEADERS),
        "expose_headers": list(EXPOSED_HEADERS),
        "max_age": max_age_seconds,
    }


class StrictCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, except that an origin not listed gets no CORS header at all
    (Starlette still sends it the credentials and method lists): a foreign origin
    learns nothing of what the API accepts."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 200:
            for name in [key for key in response.headers if key.startswith("access-control-")]:
                del response.headers[name]
        return response

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("Origin")
        if (
            message["type"] == "http.response.start"
            and origin is not None
            and not self.is_allowed_origin(origin=origin)
        ):
            message.setdefault("headers", [])
            # The answer differs by origin, so caches must key on it.
            MutableHeaders(scope=message).add_vary_header("Origin")
            await send(message)
            return
        await super().send(message, send, request_headers)
