"""Redis killed and restarted under a live server (DESIGN.md §6 limits stay shared):
the routes that need the limiter fail closed with `503 service_unavailable`, quickly;
the rest keep working; everything recovers by itself when Redis returns."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.faults.conftest import PostgresCluster, RedisServer
from tests.faults.traffic import (
    GENEROUS_LIMITS,
    assert_no_unhandled_errors,
    assert_unavailable,
    burst,
    forgot,
    login,
    password_grant,
    poll,
    register,
    register_response,
    statuses,
    timed,
)
from tests.live import live_server_process

FAST = 2.0  # seconds: an answer while Redis is down may take no longer


async def test_redis_killed_fails_closed_fast_and_recovers(
    postgres: PostgresCluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = {"REDIS_URL": redis_server.url, "REDIS_KEY_PREFIX": "faults", **GENEROUS_LIMITS}
    with live_server_process(postgres.url(), tmp_path, **env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            email = await register(http)
            signed_in = await login(http, email)
            assert signed_in.status_code == 200
            bearer = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

            # Restarted with no request in between: every pooled connection is stale.
            redis_server.kill()
            redis_server.start()
            assert (await login(http, email)).status_code == 200

            redis_server.kill()
            audit_before = (await postgres.fetch("SELECT count(*) FROM audit_events"))[0][0]
            for call in (
                lambda: login(http, email),
                lambda: password_grant(http, email),
                lambda: register_response(http),
                lambda: forgot(http, email),
            ):
                started = time.monotonic()
                response = await call()
                assert timed(started) < FAST, response.request.url
                assert_unavailable(response)
            # Failing closed: no password was checked, nothing was decided or recorded.
            assert (await postgres.fetch("SELECT count(*) FROM audit_events"))[0][0] == audit_before

            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"] == {
                "database": "ok",
                "database_auth": "ok",
                "redis": "unavailable",
            }
            # What does not need the limiter goes on.
            assert (await http.get("/users/me", headers=bearer)).status_code == 200

            redis_server.start()
            await poll(lambda: login(http, email), lambda r: r.status_code == 200)
            assert (await http.get("/readyz")).status_code == 200
            # One account each: concurrent sign-ins of one account beyond the lockout's
            # slots are told to retry (429, by design), which is not what is tested here.
            accounts = [await register(http) for _ in range(30)]
            answers = await burst(
                [lambda email=email: login(http, email) for email in accounts[:15]]
                + [lambda email=email: password_grant(http, email) for email in accounts[15:]]
                + [lambda: register_response(http) for _ in range(10)]
                + [lambda: forgot(http, email) for _ in range(10)]
            )
            assert statuses(answers) == {200: 30, 201: 10, 202: 10}

            metrics = (await http.get("/metrics")).text
            assert 'tenantry_dependency_unavailable_total{dependency="redis"}' in metrics
        assert_no_unhandled_errors(server.log_path)
