"""The built web app (frontend/dist) served at `/` (DESIGN.md §5 "Operations", §7).

The app is a fallback behind the API: it answers only requests that no API route
matched, so every API path keeps its own answers, and a GET under an API prefix that
matches nothing keeps its problem+json `404` rather than receiving the app's HTML.

- `/assets/…` holds files whose names carry a content hash: cached for a year, immutable.
- Other files of the build (`/favicon.svg`) are served as they are, revalidated every time.
- Any other GET or HEAD without a dot in its last segment is a client-side route:
  `index.html`, revalidated every time (`no-cache`), so a new deployment is picked up
  on the next load.
- Every response of the app carries a strict Content-Security-Policy: scripts, styles and
  connections only from this origin, no inline code, no framing, no plugins, no `<base>`.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from fastapi import FastAPI
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger("tenantry.spa")

# The repository's build output, when the service runs from a checkout.
REPOSITORY_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"

# Paths the API owns: the app never answers under them (DESIGN.md §5).
API_PREFIXES = (
    "/auth",
    "/users",
    "/organizations",
    "/invitations",
    "/permissions",
    "/audit-events",
    "/docs",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
    "/.well-known",
)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    )
)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def is_api_path(path: str) -> bool:
    """True for an API prefix and everything below it (`/auth`, `/auth/x`, not `/authors`)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_PREFIXES)


def find_spa_dir(configured: Path | None) -> Path | None:
    """The directory to serve: `SPA_DIR` when set, else the checkout's build if present."""
    if configured is not None:
        return configured
    return REPOSITORY_DIST if (REPOSITORY_DIST / "index.html").is_file() else None


class SinglePageApp:
    """The router's fallback: files of the build, else `index.html`, else `not_found`."""

    def __init__(self, directory: Path, not_found: ASGIApp) -> None:
        self.root = directory.resolve()
        self.not_found = not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["type"] != "http" or scope["method"] not in {"GET", "HEAD"} or is_api_path(path):
            await self.not_found(scope, receive, send)
            return
        response = self.response_for(path)
        if response is None:
            await self.not_found(scope, receive, send)
            return
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        await response(scope, receive, send)

    def response_for(self, path: str) -> Response | None:
        file = self._file(path)
        if path.startswith("/assets/"):
            # A missing hashed asset is an old or mistyped name: 404, never the HTML page
            # (a browser would try to run the HTML as a script).
            return FileResponse(file, headers={"Cache-Control": IMMUTABLE}) if file else None
        if file is None:
            if "." in path.rsplit("/", 1)[-1]:
                # A missing file (`/favicon.ico`), not a route: client routes have no dots.
                return None
            file = self._file("/index.html")
            if file is None:
                return None
        return FileResponse(file, headers={"Cache-Control": REVALIDATE})

    def _file(self, path: str) -> Path | None:
        """The file under the root named by `path`; None for directories, traversal, absence."""
        relative = path.lstrip("/")
        if not relative:
            return None
        try:
            candidate = (self.root / relative).resolve()
            if not candidate.is_relative_to(self.root) or not candidate.is_file():
                return None
        except (OSError, ValueError):  # a NUL byte, a name too long for the file system
            return None
        return candidate


def mount_spa(app: FastAPI, directory: Path | None) -> bool:
    """Serve the app at `/` from `directory` (or the checkout's build); False when absent.

    Call after every API router is included: the app is the router's fallback, so it is
    reached only when no route matched the path.
    """
    found = find_spa_dir(directory)
    if found is None:
        return False
    if not (found / "index.html").is_file():
        log.warning("spa_missing", directory=str(found), reason="no index.html")
        return False
    app.router.default = SinglePageApp(found, app.router.default)
    return True
