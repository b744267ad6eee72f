"""Cross-site request checks for the endpoints that set or use auth cookies (DESIGN.md §6).

SameSite=Strict already keeps the refresh cookie off cross-site requests in current
browsers; these checks are the second wall for older browsers and same-site attacks.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

from tenantry.config import Settings


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(settings: Settings) -> set[str]:
    """The configured origins only. The request's own `Host` is chosen by the client:
    behind a proxy that passes any `Host`, or after DNS rebinding, a page on the
    attacker's origin would otherwise count as our own."""
    return {origin_of(settings.frontend_url), *(o.lower() for o in settings.cors_origins)}


def is_cross_site(request: Request, settings: Settings) -> bool:
    """True when the browser says the request comes from another site."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False  # not a browser's cross-origin request (curl, or a same-origin GET)
    return origin.lower() not in allowed_origins(settings)
