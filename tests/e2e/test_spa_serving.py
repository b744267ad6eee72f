"""The service serves the built app: client routes, cached assets, strict CSP, and the
API keeping its own answers. The first tests use a small stand-in build (no browser, no
Node.js needed); the last one checks the real build on the live server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import make_settings
from tests.e2e.conftest import LiveServer

from tenantry.main import create_app
from tenantry.spa import CONTENT_SECURITY_POLICY, is_api_path

INDEX = "<!doctype html><title>app</title><script type=module src=/assets/app-1a2b.js></script>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "app-1a2b.js").write_text("console.log('app')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("outside the build")
    return tmp_path


@pytest.fixture
async def http(dist: Path, migrated_url: str) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(make_settings(migrated_url, spa_dir=dist))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await application.state.engine.dispose()


@pytest.mark.parametrize("path", ["/", "/orgs", "/orgs/1/products/2", "/reset-password"])
async def test_client_routes_get_index_html_revalidated_with_a_strict_csp(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path, params={"token": "abc"})
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_policy_allows_nothing_inline_or_foreign() -> None:
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


async def test_hashed_assets_are_cached_for_a_year(http: httpx.AsyncClient) -> None:
    response = await http.get("/assets/app-1a2b.js")
    assert response.status_code == 200
    assert response.text == "console.log('app')"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    head = await http.head("/assets/app-1a2b.js")
    assert head.status_code == 200
    assert head.content == b""


async def test_assets_stay_cacheable_for_a_signed_in_browser(http: httpx.AsyncClient) -> None:
    """A signed-in browser always sends the CSRF cookie; it authenticates nothing."""
    response = await http.get("/assets/app-1a2b.js", headers={"Cookie": "tenantry_csrf=abc"})
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_missing_files_are_404_not_the_html_page(http: httpx.AsyncClient) -> None:
    for path in ["/assets/app-0000.js", "/favicon.ico", "/robots.txt"]:
        response = await http.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    assert (await http.get("/favicon.svg")).text == "<svg/>"


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/a%00b"]
)
async def test_nothing_outside_the_build_is_served(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert "outside the build" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/auth/nothing",
        "/users/nothing/here",
        "/organizations/not-a-uuid/nothing",
        "/invitations",
        "/permissions/x",
        "/audit-events/x/y",
        "/docs/x",
        "/healthz/x",
        "/readyz/x",
        "/metrics/x",
        "/.well-known/nothing",
    ],
)
async def test_api_paths_keep_their_own_404(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code in {401, 404, 405}, path
    assert response.headers["content-type"] == "application/problem+json"
    assert "content-security-policy" not in response.headers


async def test_only_get_and_head_reach_the_app(http: httpx.AsyncClient) -> None:
    response = await http.post("/orgs", json={})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_api_answers_as_before(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/organizations")).status_code == 401
    assert (await http.get("/openapi.json")).json()["info"]["title"] == "Tenantry"


async def test_without_a_build_only_the_api_answers(tmp_path: Path, migrated_url: str) -> None:
    application = create_app(make_settings(migrated_url, spa_dir=tmp_path))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/orgs")
    await application.state.engine.dispose()
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_api_prefixes_match_whole_segments() -> None:
    assert is_api_path("/auth")
    assert is_api_path("/auth/login")
    assert is_api_path("/.well-known/jwks.json")
    assert not is_api_path("/authors")
    assert not is_api_path("/orgs")
    assert not is_api_path("/")


async def test_the_real_build_is_served_by_the_live_service(live_server: LiveServer) -> None:
    async with live_server.api() as http:
        page = await http.get("/orgs/some/client/route")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-cache"
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        # Vite writes no inline script or style: everything the CSP must allow is a file.
        assert "<script>" not in page.text
        assert "<style" not in page.text
        script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
        assert script is not None
        asset = await http.get(script.group(1))
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
