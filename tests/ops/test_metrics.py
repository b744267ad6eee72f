"""`GET /metrics` (DESIGN.md §5 "Operations"): the counters move by exactly what a
client did, summed over two worker processes, labelled by route template."""

from __future__ import annotations

import asyncio
from collections import Counter as Tally
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tenantry.main import create_app
from tests.conftest import PASSWORD, bearer, make_settings, unique_email
from tests.ops.conftest import REDIS_URL
from tests.ops.servers import Server, running_server, server_env

Sample = tuple[str, frozenset[tuple[str, str]]]


def scrape(base_url: str, **headers: str) -> dict[Sample, float]:
    response = httpx.get(f"{base_url}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[Sample, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def moved(
    before: dict[Sample, float], after: dict[Sample, float], name: str, **labels: str
) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def pids_that_counted(folder: Path) -> set[str]:
    """Worker pids with a counter file in the multiprocess folder (counter_<pid>.db)."""
    return {path.stem.removeprefix("counter_") for path in folder.glob("*/counter_*.db")}


@pytest.fixture
def two_workers(
    settings: Any, tmp_path: Path, redis_prefix: str, app: Any
) -> Iterator[tuple[Server, Path]]:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = server_env(
        settings.database_url,
        # Shared limits, so every count below is the same whichever worker answers.
        REDIS_URL=REDIS_URL,
        REDIS_KEY_PREFIX=redis_prefix,
        RATE_LIMIT_REGISTER="3/hour",
        LOGIN_MAX_FAILURES="3",
        REFRESH_REUSE_INTERVAL_SECONDS="0",
        # `tenantry serve` makes its multiprocess folder here, where the test can see it.
        TMPDIR=str(temporary),
    )
    with running_server(tmp_path, env, workers=2) as server:
        yield server, temporary
    assert list(temporary.glob("tenantry-metrics-*")) == [], "the metrics folder was left behind"


def test_counters_move_by_what_the_client_did_across_two_workers(
    two_workers: tuple[Server, Path],
) -> None:
    server, temporary = two_workers
    url = server.base_url
    # Fresh connections in parallel, until both workers have answered some.
    with ThreadPoolExecutor(8) as pool:
        for _ in range(10):
            list(pool.map(lambda _: httpx.get(f"{url}/healthz"), range(16)))
            if len(pids_that_counted(temporary)) >= 2:
                break
    assert len(pids_that_counted(temporary)) == 2, "one worker answered everything"

    before = scrape(url)
    statuses: Tally[tuple[str, int]] = Tally()

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(method, f"{url}{path}", **kwargs)
        statuses[(path, response.status_code)] += 1
        return response

    alice, bob, carol = (unique_email(name) for name in ("alice", "bob", "carol"))
    for email in (alice, bob, carol):
        assert (
            call("POST", "/auth/register", json={"email": email, "password": PASSWORD}).status_code
            == 201
        )
    assert (
        call(
            "POST", "/auth/register", json={"email": unique_email(), "password": PASSWORD}
        ).status_code
        == 429
    )

    assert (
        call("POST", "/auth/login", json={"email": alice, "password": PASSWORD}).status_code == 200
    )
    assert call("POST", "/auth/login", json={"email": bob, "password": PASSWORD}).status_code == 200
    pair = call(
        "POST",
        "/auth/token",
        data={"grant_type": "password", "username": alice, "password": PASSWORD},
    ).json()
    for _ in range(2):
        assert (
            call(
                "POST", "/auth/login", json={"email": alice, "password": "wrong password"}
            ).status_code
            == 401
        )
    for _ in range(3):
        assert (
            call(
                "POST", "/auth/login", json={"email": carol, "password": "wrong password"}
            ).status_code
            == 401
        )
    locked = call("POST", "/auth/login", json={"email": carol, "password": PASSWORD})
    assert locked.status_code == 429

    first_refresh = pair["refresh_token"]
    second = call(
        "POST", "/auth/token", data={"grant_type": "refresh_token", "refresh_token": first_refresh}
    )
    third = call(
        "POST",
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]},
    )
    assert third.status_code == 200
    replay = call(
        "POST", "/auth/token", data={"grant_type": "refresh_token", "refresh_token": first_refresh}
    )
    assert replay.status_code == 400

    token = third.json()["access_token"]
    other_id = call(
        "POST",
        "/auth/token",
        data={"grant_type": "password", "username": bob, "password": PASSWORD},
    )
    assert other_id.status_code == 200
    # The replay revoked alice's session: her newest access token is refused too.
    assert call("GET", "/users/me", headers=bearer(token)).status_code == 401
    bob_token = other_id.json()["access_token"]
    me = call("GET", "/users/me", headers=bearer(bob_token)).json()
    user_status = call("GET", f"/users/{me['id']}", headers=bearer(bob_token)).status_code

    after = scrape(url)

    assert moved(before, after, "tenantry_logins_total", outcome="success") == 4
    assert moved(before, after, "tenantry_logins_total", outcome="invalid_credentials") == 5
    assert moved(before, after, "tenantry_logins_total", outcome="locked") == 1
    assert moved(before, after, "tenantry_login_lockouts_total") == 1
    assert moved(before, after, "tenantry_token_refreshes_total", outcome="rotated") == 2
    assert moved(before, after, "tenantry_token_refreshes_total", outcome="refused") == 1
    assert moved(before, after, "tenantry_refresh_reuse_detected_total") == 1
    assert moved(before, after, "tenantry_rate_limited_requests_total", rule="register") == 1

    for (path, status), count in statuses.items():
        route = "/users/{user_id}" if path.startswith("/users/") and path != "/users/me" else path
        method = "GET" if path.startswith("/users") else "POST"
        labels = {"method": method, "route": route, "status": str(status)}
        assert moved(before, after, "tenantry_http_requests_total", **labels) == count, labels
        assert (
            moved(before, after, "tenantry_http_request_duration_seconds_count", **labels) == count
        )
    assert (
        moved(
            before,
            after,
            "tenantry_http_requests_total",
            method="GET",
            route="/users/{user_id}",
            status=str(user_status),
        )
        == 1
    )
    assert not any(me["id"] in dict(labels).get("route", "") for _name, labels in after), (
        "raw path as label"
    )
    assert ("tenantry_db_pool_checked_out_connections", frozenset()) in after


@pytest.fixture
async def guarded(migrated_url: str) -> Any:
    other = create_app(make_settings(migrated_url, metrics_token="scrape-token-0123456789"))
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await other.state.engine.dispose()


async def test_metrics_token_is_required_when_set(guarded: httpx.AsyncClient) -> None:
    missing = await guarded.get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await guarded.get("/metrics", headers=bearer("scrape-token-wrong"))
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    right = await guarded.get("/metrics", headers=bearer("scrape-token-0123456789"))
    assert right.status_code == 200
    assert "tenantry_http_requests_total" in right.text


async def test_unmatched_paths_share_one_label(client: httpx.AsyncClient) -> None:
    # Some are the web app's client-side routes (200), some nothing at all (404).
    for path in ("/no-such-thing", "/wp-admin/setup.php", "/auth/nothing-here"):
        assert (await client.get(path)).status_code in {200, 404}
    text = (await client.get("/metrics")).text
    assert 'route="<unmatched>"' in text
    assert "wp-admin" not in text


async def test_made_up_methods_share_one_label(client: httpx.AsyncClient) -> None:
    # Each made-up verb would otherwise become a time series of its own: memory a
    # client could grow without bound.
    for verb in ("BREW", "WHEN", "PROPFIND"):
        assert (await client.request(verb, "/healthz")).status_code == 405
    text = (await client.get("/metrics")).text
    assert 'method="OTHER"' in text
    assert "BREW" not in text
    assert "PROPFIND" not in text


def pool_waits(text: str) -> dict[tuple[str, str], float]:
    """(`count` or `sum`, pool) → value of `tenantry_db_pool_wait_seconds`."""
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for part in ("count", "sum"):
                if sample.name == f"tenantry_db_pool_wait_seconds_{part}":
                    found[(part, sample.labels["pool"])] = sample.value
    return found


async def test_every_connection_checkout_is_timed_by_pool(
    client: httpx.AsyncClient, user_token: tuple[dict[str, Any], str], is_postgres: bool
) -> None:
    _user, token = user_token
    before = pool_waits((await client.get("/metrics")).text)
    # More requests at once than either pool has connections: most of them queue.
    burst = await asyncio.gather(
        *(client.get("/users/me", headers=bearer(token)) for _ in range(60))
    )
    assert {response.status_code for response in burst} == {200}
    middle = pool_waits((await client.get("/metrics")).text)
    # Each token check takes one connection: from its own pool on PostgreSQL, from
    # SQLAlchemy's on SQLite.
    checked = "auth" if is_postgres else "main"
    assert middle[("count", checked)] - before.get(("count", checked), 0) == 60
    assert middle[("sum", checked)] > before.get(("sum", checked), 0)

    renamed = await client.patch("/users/me", headers=bearer(token), json={"full_name": "Pat"})
    assert renamed.status_code == 200
    after = pool_waits((await client.get("/metrics")).text)
    assert after[("count", "main")] > middle.get(("count", "main"), 0)
