"""The scale-out topology of docs/deployment.md (DESIGN.md §1.1, §1.7, §6): two
instances with two workers each, on one database and one Redis, under a mixed
workload spread over both. Then every invariant is checked: revocation is immediate
everywhere, limits are shared, and no audit event is lost.

On SQLite the same runs on one database file (WAL mode lets four processes share it);
on PostgreSQL it uses the suite's test database."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, bearer, unique_email
from tests.ops.conftest import REDIS_URL
from tests.ops.servers import Server, query, running_servers, server_env

USERS = 6
LOGIN_MAX_FAILURES = 5
AUDITED = (
    "user.registered",
    "auth.login.succeeded",
    "auth.login.failed",
    "auth.locked",
    "auth.refresh.reuse_detected",
    "auth.logout",
)


class Observed:
    """What the clients saw, counted across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: Tally[str] = Tally()
        self.requests = 0

    def count(self, action: str) -> None:
        with self._lock:
            self.events[action] += 1

    def request(self, server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._lock:
            self.requests += 1
        return httpx.request(method, f"{server.base_url}{path}", timeout=60, **kwargs)


def audit_counts(database_url: str) -> Tally[str]:
    rows = query(database_url, "SELECT action, COUNT(*) FROM audit_events GROUP BY action")
    return Tally({action: count for action, count in rows if action in AUDITED})


@pytest.fixture
def instances(settings: Any, tmp_path: Path, redis_prefix: str, app: Any) -> Iterator[list[Server]]:
    env = server_env(
        settings.database_url,
        REDIS_URL=REDIS_URL,
        REDIS_KEY_PREFIX=redis_prefix,
        # Every request comes from 127.0.0.1: per-IP limits high enough for the workload,
        # except registration, whose shared limit is checked at the end.
        RATE_LIMIT_LOGIN="1000/minute",
        RATE_LIMIT_REFRESH="1000/minute",
        RATE_LIMIT_REGISTER=f"{USERS + 1}/hour",
        LOGIN_MAX_FAILURES=str(LOGIN_MAX_FAILURES),
        REFRESH_REUSE_INTERVAL_SECONDS="0",
    )
    with running_servers(tmp_path, [env, env], workers=2) as servers:
        yield servers


def refused_everywhere(observed: Observed, servers: list[Server], token: str) -> bool:
    """Three tries on each instance, so with two workers each most workers are asked."""
    statuses = {
        observed.request(server, "GET", "/users/me", headers=bearer(token)).status_code
        for server in servers
        for _ in range(3)
    }
    return statuses == {401}


def user_journey(index: int, servers: list[Server], observed: Observed) -> None:
    """One user's mixed workload, alternating instances at every step."""
    here, there = servers[index % 2], servers[(index + 1) % 2]
    email = unique_email(f"scale{index}")
    assert (
        observed.request(
            here, "POST", "/auth/register", json={"email": email, "password": PASSWORD}
        ).status_code
        == 201
    )
    observed.count("user.registered")

    grant = observed.request(
        there,
        "POST",
        "/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    assert grant.status_code == 200, grant.text
    observed.count("auth.login.succeeded")
    browser = observed.request(
        here, "POST", "/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert browser.status_code == 200, browser.text
    observed.count("auth.login.succeeded")
    wrong = observed.request(
        there, "POST", "/auth/login", json={"email": email, "password": "not it at all"}
    )
    assert wrong.status_code == 401
    observed.count("auth.login.failed")

    for server in servers:
        me = observed.request(
            server, "GET", "/users/me", headers=bearer(grant.json()["access_token"])
        )
        assert me.status_code == 200

    first = grant.json()["refresh_token"]
    second = observed.request(
        here, "POST", "/auth/token", data={"grant_type": "refresh_token", "refresh_token": first}
    )
    assert second.status_code == 200, second.text
    third = observed.request(
        there,
        "POST",
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]},
    )
    assert third.status_code == 200, third.text
    newest = third.json()["access_token"]
    assert all(
        observed.request(server, "GET", "/users/me", headers=bearer(newest)).status_code == 200
        for server in servers
    )

    # Logout through one instance: the browser session's token is dead on both at once.
    browser_token = browser.json()["access_token"]
    assert (
        observed.request(there, "POST", "/auth/logout", headers=bearer(browser_token)).status_code
        == 204
    )
    observed.count("auth.logout")
    assert refused_everywhere(observed, servers, browser_token)

    # A replayed refresh token revokes its whole family, everywhere, at once.
    replay = observed.request(
        here, "POST", "/auth/token", data={"grant_type": "refresh_token", "refresh_token": first}
    )
    assert replay.status_code == 400
    observed.count("auth.refresh.reuse_detected")
    assert refused_everywhere(observed, servers, newest)


def test_two_instances_share_revocation_limits_and_audit(
    instances: list[Server], settings: Any
) -> None:
    first, second = instances
    before = audit_counts(settings.database_url)
    observed = Observed()

    with ThreadPoolExecutor(USERS) as pool:
        list(pool.map(lambda index: user_journey(index, instances, observed), range(USERS)))

    # Lockout is shared: failures spread over both instances lock the email on both.
    email = unique_email("locked")
    assert (
        observed.request(
            first, "POST", "/auth/register", json={"email": email, "password": PASSWORD}
        ).status_code
        == 201
    )
    observed.count("user.registered")
    for attempt in range(LOGIN_MAX_FAILURES):
        server = instances[attempt % 2]
        wrong = observed.request(
            server, "POST", "/auth/login", json={"email": email, "password": "wrong guess"}
        )
        assert wrong.status_code == 401
        observed.count("auth.login.failed")
    observed.count("auth.locked")
    for server in instances:
        locked = observed.request(
            server, "POST", "/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert locked.status_code == 429
        assert locked.json()["code"] == "too_many_attempts"
        assert int(locked.headers["retry-after"]) > 0

    # Per-IP limits are shared: the registrations above used up the limit on both.
    refused = observed.request(
        second, "POST", "/auth/register", json={"email": unique_email(), "password": PASSWORD}
    )
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"

    after = audit_counts(settings.database_url)
    assert after - before == observed.events, "audit events lost or invented"
    assert observed.requests < 400  # the workload stays bounded
