"""CORS is closed unless `CORS_ORIGINS` lists origins, and then open to exactly those,
with credentials, never to `*` (DESIGN.md §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tenantry.main import create_app
from tenantry.security.cors import cors_options
from tests.conftest import make_settings

SPA = "https://app.example.com"
DEV_SPA = "http://localhost:5173"
EVIL = "https://evil.example"


@pytest.fixture
async def cors_client(migrated_url: str) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(make_settings(migrated_url, cors_origins=f"{SPA},{DEV_SPA}"))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await application.state.engine.dispose()


def _preflight(origin: str, method: str = "POST", headers: str = "content-type") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


@pytest.mark.parametrize("origin", [SPA, DEV_SPA])
async def test_preflight_from_a_listed_origin_is_allowed(
    cors_client: httpx.AsyncClient, origin: str
) -> None:
    response = await cors_client.options(
        "/auth/refresh", headers=_preflight(origin, headers="content-type,x-csrf-token")
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    methods = set(response.headers["access-control-allow-methods"].split(", "))
    assert {"GET", "POST", "PATCH", "DELETE"} <= methods
    assert "PUT" not in methods
    allowed = {h.lower() for h in response.headers["access-control-allow-headers"].split(", ")}
    assert {"authorization", "content-type", "x-csrf-token", "if-match", "x-request-id"} <= allowed
    assert "origin" in response.headers["vary"].lower()
    # The preflight answer still carries the security headers and a request id.
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


async def test_preflight_from_another_origin_gets_no_allowance(
    cors_client: httpx.AsyncClient,
) -> None:
    for origin in (EVIL, "https://app.example.com.evil.example", "null", SPA.upper()):
        response = await cors_client.options("/auth/login", headers=_preflight(origin))
        assert response.status_code == 400, origin
        assert _cors_headers(response) == {}


async def test_preflight_for_a_header_the_api_does_not_use_is_refused(
    cors_client: httpx.AsyncClient,
) -> None:
    response = await cors_client.options(
        "/auth/login", headers=_preflight(SPA, headers="content-type,x-evil")
    )
    assert response.status_code == 400
    assert _cors_headers(response) == {}


async def test_responses_to_a_listed_origin_expose_the_api_headers(
    cors_client: httpx.AsyncClient,
) -> None:
    ok = await cors_client.get("/healthz", headers={"Origin": SPA})
    refused = await cors_client.get("/users/me", headers={"Origin": SPA})

    for response in (ok, refused):  # a browser app must be able to read errors too
        assert response.headers["access-control-allow-origin"] == SPA
        assert response.headers["access-control-allow-credentials"] == "true"
        exposed = {h.lower() for h in response.headers["access-control-expose-headers"].split(",")}
        assert {"etag", "retry-after", "x-request-id", "ratelimit-remaining"} <= {
            h.strip() for h in exposed
        }
    assert refused.status_code == 401


async def test_responses_to_another_origin_carry_no_cors_headers(
    cors_client: httpx.AsyncClient,
) -> None:
    for origin in (EVIL, "null"):
        response = await cors_client.get("/healthz", headers={"Origin": origin})
        assert response.status_code == 200
        assert _cors_headers(response) == {}
        assert response.headers["vary"] == "Origin"


async def test_cors_is_closed_when_no_origin_is_configured(
    app: Any, client: httpx.AsyncClient
) -> None:
    assert app.state.settings.cors_origins == []

    preflight = await client.options("/auth/login", headers=_preflight(SPA))
    simple = await client.get("/healthz", headers={"Origin": SPA})

    assert preflight.status_code == 405
    assert _cors_headers(preflight) == {}
    assert simple.status_code == 200
    assert _cors_headers(simple) == {}


def test_cors_options_never_combine_a_wildcard_with_credentials() -> None:
    with pytest.raises(ValueError, match="never"):
        cors_options(["*"], max_age_seconds=600)
    assert cors_options([SPA], max_age_seconds=600)["allow_origins"] == [SPA]


async def test_preflight_answers_may_be_cached_for_the_configured_time(migrated_url: str) -> None:
    application = create_app(make_settings(migrated_url, cors_origins=SPA, cors_max_age_seconds=42))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.options("/auth/login", headers=_preflight(SPA))
    await application.state.engine.dispose()

    assert response.status_code == 200
    assert response.headers["access-control-max-age"] == "42"


async def test_the_key_set_may_be_cached_for_the_configured_time(migrated_url: str) -> None:
    application = create_app(make_settings(migrated_url, jwks_max_age_seconds=120))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/.well-known/jwks.json")
    await application.state.engine.dispose()

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=120"
