from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, register


@pytest.fixture
async def account(client: httpx.AsyncClient) -> dict[str, Any]:
    return await register(client)


async def password_grant(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post(
        "/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh_grant(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )
