"""Headers every answer carries, whoever writes it: the edge middleware on every
response, and the last-resort error handler Starlette calls outside all middleware."""

from __future__ import annotations

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
