"""PostgreSQL stopped under load and restarted, and pooled connections killed by the
server: never a 500, `503 service_unavailable` (fast, with Retry-After) while the
database is away, and recovery by itself when it returns, with no stray errors after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tests.faults.conftest import PostgresCluster
from tests.faults.traffic import (
    GENEROUS_LIMITS,
    RECOVERY_TIMEOUT,
    assert_no_unhandled_errors,
    assert_unavailable,
    burst,
    create_product,
    login,
    poll,
    register,
    sign_in_with_organization,
    statuses,
)
from tests.live import live_server_process

FAST = 3.0  # seconds: no answer may take longer while the database is down
CLIENTS_PER_CALL = 2

Call = Callable[[], Awaitable[httpx.Response]]

_APP_BACKENDS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = 'tenantry' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""
_KILL_APP_BACKENDS = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = 'tenantry' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""


class Load:
    """A few clients repeating their calls until stopped; every answer is kept."""

    def __init__(self, calls: list[Call]) -> None:
        self.calls = calls
        self.answers: list[tuple[int, float]] = []  # (status or 0 for no answer, seconds)
        self._stop = asyncio.Event()
        self._answered = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []

    async def _client(self, call: Call) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                status = (await call()).status_code
            except httpx.TransportError:
                status = 0
            async with self._answered:
                self.answers.append((status, time.monotonic() - started))
                self._answered.notify_all()
            await asyncio.sleep(0.01)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._client(call)) for call in self.calls]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def wait_for(self, status: int, count: int, since: int = 0) -> None:
        """Until `count` answers with `status` came after answer number `since`."""

        def seen() -> bool:
            return sum(1 for s, _ in self.answers[since:] if s == status) >= count

        async with asyncio.timeout(RECOVERY_TIMEOUT), self._answered:
            await self._answered.wait_for(seen)


async def test_postgres_stopped_under_load_answers_503_then_recovers(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    with live_server_process(postgres.url(), tmp_path, **GENEROUS_LIMITS) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            email, bearer, organization_id = await sign_in_with_organization(http)
            calls: list[Call] = [
                lambda: http.get("/users/me", headers=bearer),
                lambda: create_product(http, bearer, organization_id),
                lambda: http.get(f"/organizations/{organization_id}/products", headers=bearer),
                lambda: login(http, email),
            ] * CLIENTS_PER_CALL
            load = Load(calls)
            load.start()
            try:
                await load.wait_for(200, 20)
                await asyncio.to_thread(postgres.stop)
                down_from = len(load.answers)
                await load.wait_for(503, 3 * len(calls), since=down_from)
                down = load.answers[down_from:]
                assert_unavailable(await http.get("/users/me", headers=bearer))
                assert_unavailable(await login(http, email))
                ready = await http.get("/readyz")
                assert ready.status_code == 503
                assert ready.json()["checks"]["database"] == "unavailable"
                assert ready.json()["checks"]["database_auth"] == "unavailable"

                await asyncio.to_thread(postgres.start)
                up_from = len(load.answers)
                await load.wait_for(201, 5, since=up_from)
            finally:
                await load.stop()
            # Never a 500, and never a connection left without an answer.
            assert set(statuses_of(load)) <= {200, 201, 503}, statuses_of(load)
            assert max(seconds for _, seconds in down) < FAST

            await poll(lambda: http.get("/readyz"), lambda r: r.status_code == 200)
            accounts = [await register(http) for _ in range(10)]
            answers = await burst(
                [lambda: http.get("/users/me", headers=bearer) for _ in range(20)]
                + [lambda: create_product(http, bearer, organization_id) for _ in range(20)]
                + [lambda email=email: login(http, email) for email in accounts]
            )
            assert statuses(answers) == {200: 30, 201: 20}

            metrics = (await http.get("/metrics")).text
            assert 'tenantry_dependency_unavailable_total{dependency="database"}' in metrics
        assert_no_unhandled_errors(server.log_path)


async def test_pooled_connections_killed_by_the_server_cause_no_errors(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    # No idle ping: a connection the server cut must be noticed without a round trip.
    env = {**GENEROUS_LIMITS, "DATABASE_PING_IDLE_SECONDS": "3600"}
    with live_server_process(postgres.url(), tmp_path, **env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            _email, bearer, organization_id = await sign_in_with_organization(http)
            # One account per sign-in: concurrent sign-ins of one account beyond the
            # lockout's slots are told to retry (429, by design), not what is tested here.
            accounts = [await register(http) for _ in range(10)]

            def mixed() -> list[Call]:
                return (
                    [lambda: http.get("/users/me", headers=bearer) for _ in range(20)]
                    + [lambda: create_product(http, bearer, organization_id) for _ in range(20)]
                    + [lambda email=email: login(http, email) for email in accounts]
                )

            assert statuses(await burst(mixed())) == {200: 30, 201: 20}  # pools filled
            assert (await postgres.fetch(_APP_BACKENDS))[0][0] >= 3
            await postgres.fetch(_KILL_APP_BACKENDS)
            await poll_database(postgres, lambda count: count == 0)
            assert statuses(await burst(mixed())) == {200: 30, 201: 20}

            # Killed in the middle of a burst: a request on a dying connection may be
            # refused with 503, none fails with 500, and the next burst is clean.
            during = asyncio.ensure_future(burst(mixed()))
            await asyncio.sleep(0.05)
            await postgres.fetch(_KILL_APP_BACKENDS)
            answers = await during
            assert set(statuses(answers)) <= {200, 201, 503}, statuses(answers)
            for response in answers:
                if response.status_code == 503:
                    assert_unavailable(response)
            assert statuses(await burst(mixed())) == {200: 30, 201: 20}
        assert_no_unhandled_errors(server.log_path)


async def poll_database(postgres: PostgresCluster, accept: Callable[[int], bool]) -> None:
    deadline = time.monotonic() + 30
    while not accept((await postgres.fetch(_APP_BACKENDS))[0][0]):
        assert time.monotonic() < deadline, "backends still there"
        await asyncio.sleep(0.05)


def statuses_of(load: Load) -> dict[int, int]:
    counted: dict[int, int] = {}
    for status, _ in load.answers:
        counted[status] = counted.get(status, 0) + 1
    return counted
