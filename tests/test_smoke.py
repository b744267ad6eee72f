from __future__ import annotations

import httpx

from tests.conftest import bearer, login, register


async def test_register_login_me(client: httpx.AsyncClient) -> None:
    user = await register(client, email=" Alice@Example.com ")
    assert user["email"] == "alice@example.com"
    token = await login(client, "alice@example.com")
    response = await client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["id"] == user["id"]
    assert response.headers["cache-control"] == "no-store"
