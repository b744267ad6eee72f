"""Requests the fault tests send, and how they judge the answers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tests.conftest import PASSWORD

# The limits stay on (they are what needs Redis) but never trip in these tests.
GENEROUS_LIMITS = {
    "RATE_LIMIT_LOGIN": "100000/minute",
    "RATE_LIMIT_REGISTER": "100000/hour",
    "RATE_LIMIT_REFRESH": "100000/minute",
    "RATE_LIMIT_MAIL_PER_EMAIL": "100000/hour",
    "RATE_LIMIT_MAIL_PER_IP": "100000/hour",
}
RECOVERY_TIMEOUT = 60.0  # seconds; one generous deadline for a dependency to come back


def unique_email() -> str:
    return f"fault-{uuid.uuid4().hex[:12]}@example.com"


def assert_unavailable(response: httpx.Response) -> None:
    """A dependency is down: 503 problem+json with a stable code and Retry-After."""
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) >= 1


async def register(http: httpx.AsyncClient, email: str | None = None) -> str:
    email = email or unique_email()
    response = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email


async def login(http: httpx.AsyncClient, email: str) -> httpx.Response:
    return await http.post("/auth/login", json={"email": email, "password": PASSWORD})


async def password_grant(http: httpx.AsyncClient, email: str) -> httpx.Response:
    return await http.post(
        "/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}
    )


async def forgot(http: httpx.AsyncClient, email: str) -> httpx.Response:
    return await http.post("/auth/password/forgot", json={"email": email})


async def register_response(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post("/auth/register", json={"email": unique_email(), "password": PASSWORD})


async def poll(
    call: Callable[[], Awaitable[httpx.Response]],
    accept: Callable[[httpx.Response], bool],
) -> list[int]:
    """Call until `accept` holds, with a short pause between calls, failing after one
    generous deadline; return every status seen on the way (0: no answer)."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    seen: list[int] = []
    while True:
        try:
            response = await call()
        except httpx.TransportError:
            seen.append(0)
        else:
            seen.append(response.status_code)
            if accept(response):
                return seen
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no recovery within {RECOVERY_TIMEOUT} s; statuses seen: {seen[-20:]}"
            )
        await asyncio.sleep(0.1)


async def burst(calls: list[Callable[[], Awaitable[httpx.Response]]]) -> list[httpx.Response]:
    return list(await asyncio.gather(*(call() for call in calls)))


def statuses(responses: list[httpx.Response]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for response in responses:
        counted[response.status_code] = counted.get(response.status_code, 0) + 1
    return counted


def timed(started: float) -> float:
    return time.monotonic() - started


async def sign_in_with_organization(http: httpx.AsyncClient) -> tuple[str, dict[str, str], str]:
    """A new user, their bearer header and an organization they own."""
    email = await register(http)
    signed_in = await login(http, email)
    assert signed_in.status_code == 200, signed_in.text
    bearer = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    created = await http.post("/organizations", headers=bearer, json={"name": "Faults"})
    assert created.status_code == 201, created.text
    return email, bearer, created.json()["id"]


async def create_product(
    http: httpx.AsyncClient, bearer: dict[str, str], organization_id: str
) -> httpx.Response:
    return await http.post(
        f"/organizations/{organization_id}/products",
        headers=bearer,
        json={"name": f"Widget {uuid.uuid4().hex[:8]}", "price_cents": 100, "currency": "EUR"},
    )


def assert_no_unhandled_errors(log_path: Path) -> None:
    """The server logged no 500 and no traceback: outages are warnings, nothing more."""
    log = log_path.read_text(errors="replace")
    assert "unhandled_exception" not in log, log[-4000:]
    assert "Traceback" not in log, log[-4000:]
