"""With `REDIS_URL`, limits and lockouts are shared by every process (DESIGN.md §6);
without it they are per process. Two real server processes on one database."""

from __future__ import annotations

from itertools import cycle
from pathlib import Path
from typing import Any

import httpx

from tests.abuse.conftest import REDIS_URL
from tests.conftest import PASSWORD
from tests.live import live_server


def _wrong_login(base_url: str, email: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/auth/login", json={"email": email, "password": "wrong-password-1"}
    )


def test_lockout_and_ip_limits_hold_across_two_processes_sharing_redis(
    settings: Any, tmp_path: Path, app: Any, redis_prefix: str
) -> None:
    env = {
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": redis_prefix,
        "RATE_LIMIT_LOGIN": "40/minute",
    }
    with (
        live_server(settings.database_url, tmp_path, **env) as first,
        live_server(settings.database_url, tmp_path, **env) as second,
    ):
        email = "shared-lockout@example.com"
        assert (
            httpx.post(
                f"{first}/auth/register", json={"email": email, "password": PASSWORD}
            ).status_code
            == 201
        )
        servers = cycle([first, second])
        statuses = [_wrong_login(next(servers), email).status_code for _ in range(25)]
        assert statuses[:5] == [401] * 5
        assert statuses[5:] == [429] * 20
        right = httpx.post(f"{second}/auth/login", json={"email": email, "password": PASSWORD})
        assert right.status_code == 429

        # The per-IP login limit (40/minute) is shared too: 26 requests so far.
        more = [
            _wrong_login(next(servers), f"other-{n}@example.com").status_code for n in range(16)
        ]
        assert more[:14] == [401] * 14
        assert more[14:] == [429, 429]


def test_without_redis_each_process_counts_on_its_own(
    settings: Any, tmp_path: Path, app: Any
) -> None:
    """In-process storage: documented as per process, so two processes allow twice."""
    with (
        live_server(settings.database_url, tmp_path) as first,
        live_server(settings.database_url, tmp_path) as second,
    ):
        email = "per-process@example.com"
        servers = cycle([first, second])
        statuses = [_wrong_login(next(servers), email).status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


async def test_readyz_checks_redis_when_configured(app: Any, migrated_url: str) -> None:
    from tenantry.main import create_app
    from tests.conftest import make_settings

    for url, expected in ((REDIS_URL, 200), ("redis://127.0.0.1:1/0", 503)):
        other = create_app(make_settings(migrated_url, redis_url=url))
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get("/readyz")
        await other.state.engine.dispose()
        assert response.status_code == expected, response.text
        assert response.json()["checks"]["redis"] == ("ok" if expected == 200 else "unavailable")
