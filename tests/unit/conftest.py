"""Fixtures for the unit tests: no app, no database, no HTTP.

`storage` gives each test both `limits` storages the service can run on: process
memory, and the shared Redis at 127.0.0.1:6379 under a key prefix of the test's own,
whose keys are deleted afterwards. Tests taking it must behave the same on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from limits.aio.storage import MemoryStorage, RedisStorage, Storage

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"tenantry-unit-{uuid.uuid4().hex[:12]}"
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(match=f"{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> Storage:
    if request.param == "memory":
        return MemoryStorage()
    prefix: str = request.getfixturevalue("redis_prefix")
    return RedisStorage("async+" + REDIS_URL, implementation="redispy", key_prefix=prefix)


def redis_keys(prefix: str) -> list[str]:
    """Every key this test wrote to Redis, as text."""
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        return [key.decode() for key in connection.scan_iter(match=f"{prefix}*")]
    finally:
        connection.close()
