from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
import redis

from tenantry.main import create_app
from tests.conftest import make_settings

REDIS_URL = "redis://127.0.0.1:6379/0"
AppClient = Callable[..., AbstractAsyncContextManager[tuple[Any, httpx.AsyncClient]]]


@pytest.fixture
def app_client(app: Any, migrated_url: str) -> AppClient:
    """A client on an app with its own limit settings, sharing the test database."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
        other = create_app(make_settings(migrated_url, **overrides))
        transport = httpx.ASGITransport(app=other, client=("198.51.100.20", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield other, http
        await other.state.engine.dispose()

    return factory


@pytest.fixture
def redis_prefix() -> Any:
    """A key prefix of this test's own in the shared Redis; its keys are removed after."""
    prefix = f"tenantry-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(match=f"{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings for each limits storage: in process, and the shared Redis (with this
    test's own key prefix)."""
    if request.param == "memory":
        return {}
    prefix: str = request.getfixturevalue("redis_prefix")
    # A burst of 60 on a loaded two-core machine (under coverage, beside other jobs) can
    # wait past the 1 s default for Redis's replies; these tests count answers, so a
    # slow reply must not turn into a 503 (tests/faults covers a Redis that is gone).
    return {
        "redis_url": REDIS_URL,
        "redis_key_prefix": prefix,
        "redis_socket_timeout_seconds": "10",
    }
