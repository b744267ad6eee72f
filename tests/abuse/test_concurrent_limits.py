"""Per-IP request limits under bursts of concurrent requests (DESIGN.md §6): a moving
window `hit` is one atomic step, in memory and in Redis, so a burst gets exactly the
limit and not a request more."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.abuse.conftest import REDIS_URL, AppClient
from tests.conftest import PASSWORD, unique_email
from tests.live import live_server

WRONG = "definitely-not-the-password"


def _codes(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    """(status, code) of each answer: `code` from problem+json, `error` from OAuth."""
    return Counter(
        (r.status_code, r.json().get("code") or r.json().get("error")) for r in responses
    )


async def test_a_burst_of_logins_gets_exactly_the_per_ip_limit(
    app_client: AppClient, store: dict[str, str]
) -> None:
    async with app_client(**store, rate_limits_enabled=True) as (_app, http):
        responses = await asyncio.gather(
            *(
                http.post("/auth/login", json={"email": unique_email(), "password": WRONG})
                for _ in range(60)
            )
        )
    assert _codes(responses) == {
        (401, "invalid_credentials"): 20,
        (429, "rate_limited"): 40,
    }


async def test_login_and_the_password_grant_share_the_per_ip_limit_under_a_burst(
    app_client: AppClient, store: dict[str, str]
) -> None:
    async with app_client(**store, rate_limits_enabled=True) as (_app, http):
        logins = [
            http.post("/auth/login", json={"email": unique_email(), "password": WRONG})
            for _ in range(30)
        ]
        grants = [
            http.post(
                "/auth/token",
                data={"grant_type": "password", "username": unique_email(), "password": WRONG},
            )
            for _ in range(30)
        ]
        responses = await asyncio.gather(*logins, *grants)
    codes = _codes(responses)
    assert codes[(401, "invalid_credentials")] + codes[(400, "invalid_grant")] == 20
    assert codes[(429, "rate_limited")] == 40


def test_a_burst_across_two_processes_sharing_redis_is_verified_five_times(
    settings: Any, tmp_path: Path, app: Any, redis_prefix: str
) -> None:
    env = {"REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": redis_prefix}
    with (
        live_server(settings.database_url, tmp_path, **env) as first,
        live_server(settings.database_url, tmp_path, **env) as second,
    ):
        email = unique_email("shared-burst")
        registered = httpx.post(
            f"{first}/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201

        async def burst() -> list[int]:
            async with httpx.AsyncClient(timeout=30) as http:
                responses = await asyncio.gather(
                    *(
                        http.post(
                            f"{(first, second)[n % 2]}/auth/login",
                            json={"email": email, "password": WRONG},
                        )
                        for n in range(60)
                    )
                )
            return [response.status_code for response in responses]

        statuses = asyncio.run(burst())
        right = httpx.post(f"{second}/auth/login", json={"email": email, "password": PASSWORD})
    assert Counter(statuses) == {401: 5, 429: 55}
    assert right.status_code == 429
