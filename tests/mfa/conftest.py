"""Helpers for the MFA tests: enrol a TOTP factor through the API and compute codes
for chosen time steps (each step is accepted once per factor)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tenantry.security import totp
from tests.conftest import PASSWORD, bearer, login, register


@dataclass
class Enrolled:
    user: dict[str, Any]
    token: str
    factor_id: str
    secret: str
    recovery_codes: list[str]
    step: int  # the step the confirmation used; later steps are still free

    def code(self, offset: int) -> str:
        return totp.code_at(self.secret, self.step + offset)


async def steady_step() -> int:
    """The current time step, waiting when it is about to end so a test's codes stay
    within the ±1 step window."""
    if 30 - time.time() % 30 < 4:
        await asyncio.sleep(5)
    return totp.time_step(datetime.now(UTC))


async def enrol(client: httpx.AsyncClient, user: dict[str, Any] | None = None) -> Enrolled:
    user = user or await register(client)
    token = await login(client, user["email"])
    started = await client.post("/auth/mfa/totp", json={"name": "Phone"}, headers=bearer(token))
    assert started.status_code == 201, started.text
    body = started.json()
    step = await steady_step() - 1
    confirmed = await client.post(
        f"/auth/mfa/totp/{body['factor_id']}/confirm",
        json={"code": totp.code_at(body["secret"], step)},
        headers=bearer(token),
    )
    assert confirmed.status_code == 200, confirmed.text
    return Enrolled(
        user, token, body["factor_id"], body["secret"], confirmed.json()["recovery_codes"], step
    )


async def start_login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "mfa_required"
    token: str = response.json()["mfa_token"]
    return token


@pytest.fixture
async def enrolled(client: httpx.AsyncClient) -> Enrolled:
    return await enrol(client)
