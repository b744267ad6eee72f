"""OAuth 2.0 token and revocation endpoints (RFC 6749, RFC 7009), including a real
OAuth client library against a live server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.auth.conftest import password_grant, refresh_grant
from tests.conftest import PASSWORD, bearer, register
from tests.live import live_server


async def test_password_grant_returns_an_rfc6749_token_response(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    response = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": account["email"], "password": PASSWORD},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"]
    assert body["access_token"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password", "username": "a@example.com"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        (
            {"grant_type": "password", "username": "nobody@example.com", "password": "x"},
            "invalid_grant",
        ),
        ({"grant_type": "password", "username": "not-an-email", "password": "x"}, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "nonsense"}, "invalid_grant"),
    ],
)
async def test_token_endpoint_errors_follow_rfc6749(
    client: httpx.AsyncClient, form: dict[str, str], error: str
) -> None:
    response = await client.post("/auth/token", data=form)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    assert set(response.json()) == {"error", "error_description"}
    assert response.headers["cache-control"] == "no-store"


async def test_wrong_password_and_unknown_user_answer_the_same(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    wrong = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": account["email"], "password": "nope-nope-nope"},
    )
    unknown = await client.post(
        "/auth/token",
        data={
            "grant_type": "password",
            "username": "ghost@example.com",
            "password": "nope-nope-nope",
        },
    )
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())


async def test_revoke_answers_200_always_and_ends_the_session(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    pair = await password_grant(client, account["email"])
    assert (await client.post("/auth/revoke", data={"token": "garbage"})).status_code == 200

    response = await client.post("/auth/revoke", data={"token": pair["refresh_token"]})

    assert response.status_code == 200
    assert (await refresh_grant(client, pair["refresh_token"])).status_code == 400
    assert (await client.get("/users/me", headers=bearer(pair["access_token"]))).status_code == 401
    assert (
        await client.post("/auth/revoke", data={"token": pair["refresh_token"]})
    ).status_code == 200


async def test_swagger_authorize_points_at_the_token_endpoint(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    flows = next(iter(schemes.values()))["flows"]
    assert flows["password"]["tokenUrl"] == "/auth/token"


async def test_a_standard_oauth2_client_signs_in_refreshes_and_revokes(
    settings: Any, tmp_path: Path, app: Any
) -> None:
    """authlib's httpx client, a live server process, the password and refresh grants."""
    with live_server(settings.database_url, tmp_path) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as plain:
            await register(plain, email="oauth-client@example.com")
        async with AsyncOAuth2Client(token_endpoint=f"{base_url}/auth/token") as oauth:
            token = await oauth.fetch_token(
                username="oauth-client@example.com", password=PASSWORD, grant_type="password"
            )
            assert token["token_type"] == "bearer"
            me = await oauth.get(f"{base_url}/users/me")
            assert me.status_code == 200
            assert me.json()["email"] == "oauth-client@example.com"

            refreshed = await oauth.refresh_token(f"{base_url}/auth/token")
            assert refreshed["refresh_token"] != token["refresh_token"]
            assert (await oauth.get(f"{base_url}/users/me")).status_code == 200

            revoked = await oauth.revoke_token(
                f"{base_url}/auth/revoke", token=refreshed["refresh_token"]
            )
            assert revoked.status_code == 200
            assert (await oauth.get(f"{base_url}/users/me")).status_code == 401
