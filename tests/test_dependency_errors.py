"""A dependency that cannot be reached is `503 service_unavailable` with `Retry-After`,
fast, never a 500; an error that is not an outage stays a 500. The live outages
(servers stopped, killed and restarted) are in tests/faults/."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI

from tenantry.errors import unavailable_dependency
from tenantry.main import create_app
from tenantry.security.jwt import TokenSigner
from tests.conftest import PASSWORD, make_settings
from tests.live import free_port

FAST = 2.0  # seconds


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "7"


@pytest.fixture
async def app_without(migrated_url: str) -> AsyncIterator[Any]:
    """An app whose Redis, or whose database, listens nowhere (a port nobody holds)."""
    apps: list[FastAPI] = []

    def build(*, redis: bool = False, database: bool = False, limits: bool = True) -> FastAPI:
        url = migrated_url
        if database:
            url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone"
        overrides: dict[str, Any] = {"service_unavailable_retry_after_seconds": 7}
        if redis:
            overrides |= {"redis_url": f"redis://127.0.0.1:{free_port()}/0"}
            overrides |= {"rate_limits_enabled": limits}
        built = create_app(make_settings(url, **overrides))
        apps.append(built)
        return built

    yield build
    for built in apps:
        await built.state.principal_reader.close()
        await built.state.engine.dispose()


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_unreachable_redis_fails_closed_on_the_limited_routes(app_without: Any) -> None:
    email = f"gone-{uuid.uuid4().hex[:8]}@example.com"
    async with client_of(app_without(redis=True)) as http:
        for method, path, kwargs in (
            ("post", "/auth/login", {"json": {"email": email, "password": PASSWORD}}),
            (
                "post",
                "/auth/token",
                {"data": {"grant_type": "password", "username": email, "password": PASSWORD}},
            ),
            ("post", "/auth/register", {"json": {"email": email, "password": PASSWORD}}),
            ("post", "/auth/password/forgot", {"json": {"email": email}}),
        ):
            started = time.monotonic()
            response = await getattr(http, method)(path, **kwargs)
            assert time.monotonic() - started < FAST, path
            assert_unavailable(response)
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"] == "unavailable"


async def test_unreachable_redis_refuses_login_with_request_limits_off(
    app_without: Any,
) -> None:
    # The per-email lockout stays on without the request limits, and it needs Redis:
    # no password is checked while it cannot say whether the email is locked.
    async with client_of(app_without(redis=True, limits=False)) as http:
        response = await http.post(
            "/auth/login", json={"email": "someone@example.com", "password": PASSWORD}
        )
        assert_unavailable(response)


async def test_unreachable_database_is_503_on_every_kind_of_route(app_without: Any) -> None:
    app = app_without(database=True)
    signer: TokenSigner = app.state.signer
    token = signer.issue(user_id=uuid.uuid4(), session_id=uuid.uuid4())
    async with client_of(app) as http:
        for response in (
            await http.get("/users/me", headers={"Authorization": f"Bearer {token}"}),
            await http.post("/auth/login", json={"email": "a@example.com", "password": PASSWORD}),
            await http.post("/organizations", headers={"Authorization": f"Bearer {token}"}),
        ):
            assert_unavailable(response)
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "unavailable", "database_auth": "unavailable"}


@pytest.mark.parametrize(
    ("error", "dependency"),
    [
        (redis.exceptions.ConnectionError("refused"), "redis"),
        (redis.exceptions.TimeoutError("slow"), "redis"),
        (ConnectionRefusedError(111, "refused"), "database"),
        (TimeoutError(), "database"),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), "database"),
        (asyncpg.exceptions.AdminShutdownError("terminating"), "database"),
        (asyncpg.exceptions.InternalClientError("another operation (2) in progress"), "database"),
        (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("gone")), "database"),
        (sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate")), None),
        (sqlalchemy.exc.ProgrammingError("SELEC", {}, Exception("syntax")), None),
        (redis.exceptions.ResponseError("WRONGTYPE"), None),
        (asyncpg.InterfaceError("another operation is in progress"), None),
        (ValueError("a bug"), None),
    ],
)
def test_only_outages_count_as_an_unavailable_dependency(
    error: Exception, dependency: str | None
) -> None:
    assert unavailable_dependency(error) == dependency


def test_an_outage_wrapped_by_sqlalchemy_is_found_in_the_chain() -> None:
    wrapped = sqlalchemy.exc.DBAPIError("SELECT 1", {}, Exception("wrapped"))
    wrapped.__cause__ = ConnectionResetError(104, "reset by peer")
    assert unavailable_dependency(wrapped) == "database"
