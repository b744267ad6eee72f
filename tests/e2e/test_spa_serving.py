"""The service serves the built app: client routes, cached assets, strict CSP."""

from __future__ import annotations

import re

from tests.e2e.conftest import LiveServer


async def test_client_routes_and_assets_are_served_with_strict_headers(
    live_server: LiveServer,
) -> None:
    async with live_server.api() as http:
        page = await http.get("/orgs/some/client/route")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
        assert script is not None
        asset = await http.get(script.group(1))
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        # API paths keep their own answers.
        missing = await http.get("/auth/nothing-here")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert (await http.get("/organizations")).status_code == 401
