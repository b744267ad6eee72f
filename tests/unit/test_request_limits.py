"""`RequestLimits` and `create_storage` on their own, on process memory and on Redis.

A limit is only worth its counters: a burst of concurrent requests must get exactly
the allowance and not one more, on either storage, and a refusal must say how long
to wait.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.errors import StorageError
from prometheus_client import REGISTRY

from tenantry.security.ratelimit import RateLimited, RequestLimits, create_storage
from tests.conftest import make_settings
from tests.unit.conftest import REDIS_URL, redis_keys


def _limits(storage: Storage, **overrides: Any) -> RequestLimits:
    values: dict[str, Any] = {"rate_limits_enabled": True, **overrides}
    return RequestLimits(make_settings("sqlite+aiosqlite://", **values), storage)


async def _allowed(limits: RequestLimits, rule: str, identifier: str | None) -> bool:
    try:
        await limits.hit(rule, identifier)
    except RateLimited:
        return False
    return True


async def test_the_limit_admits_exactly_its_amount_then_refuses(storage: Storage) -> None:
    limits = _limits(storage, rate_limit_login="3/minute")

    for _ in range(3):
        await limits.hit("login", "198.51.100.1")
    with pytest.raises(RateLimited) as refused:
        await limits.hit("login", "198.51.100.1")

    assert refused.value.status == 429
    assert refused.value.code == "rate_limited"
    headers = refused.value.headers
    assert headers["RateLimit-Limit"] == "3"
    assert headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert headers["RateLimit-Reset"] == headers["Retry-After"]
    assert refused.value.retry_after == int(headers["Retry-After"])


@pytest.mark.parametrize("burst", [50, 100])
async def test_a_concurrent_burst_gets_exactly_the_allowance(storage: Storage, burst: int) -> None:
    limits = _limits(storage, rate_limit_register="10/hour")

    outcomes = await asyncio.gather(
        *(_allowed(limits, "register", "203.0.113.9") for _ in range(burst))
    )

    assert outcomes.count(True) == 10
    assert not await _allowed(limits, "register", "203.0.113.9")


async def test_concurrent_bursts_from_many_clients_are_counted_apart(storage: Storage) -> None:
    limits = _limits(storage, rate_limit_refresh="4/minute")
    clients = [f"192.0.2.{n}" for n in range(10)]

    outcomes = await asyncio.gather(
        *(_allowed(limits, "refresh", client) for client in clients for _ in range(8))
    )

    per_client = [outcomes[i * 8 : (i + 1) * 8].count(True) for i in range(len(clients))]
    assert per_client == [4] * len(clients)


async def test_each_rule_counts_on_its_own(storage: Storage) -> None:
    limits = _limits(storage, rate_limit_login="1/minute", rate_limit_register="1/minute")
    await limits.hit("login", "198.51.100.2")
    await limits.hit("register", "198.51.100.2")  # the same client, another rule
    with pytest.raises(RateLimited):
        await limits.hit("login", "198.51.100.2")


async def test_every_rule_of_a_multi_window_limit_applies(storage: Storage) -> None:
    # The longer window refuses although the shorter one would still allow.
    limits = _limits(storage, rate_limit_login="100/minute;2/hour")
    await limits.hit("login", "198.51.100.3")
    await limits.hit("login", "198.51.100.3")
    with pytest.raises(RateLimited) as refused:
        await limits.hit("login", "198.51.100.3")
    assert refused.value.headers["RateLimit-Limit"] == "2"
    assert 60 < refused.value.retry_after <= 3600


async def test_requests_without_a_client_address_share_one_bucket(storage: Storage) -> None:
    limits = _limits(storage, rate_limit_login="2/minute")
    await limits.hit("login", None)
    await limits.hit("login", "")
    with pytest.raises(RateLimited):
        await limits.hit("login", None)


async def test_per_email_limits_count_each_address_apart(storage: Storage) -> None:
    limits = _limits(storage, rate_limit_mail_per_email="2/hour")
    for _ in range(2):
        await limits.hit_email("mail-email", "victim@example.com")
    with pytest.raises(RateLimited):
        await limits.hit_email("mail-email", "victim@example.com")
    await limits.hit_email("mail-email", "other@example.com")


async def test_limits_switched_off_never_refuse(storage: Storage) -> None:
    limits = _limits(storage, rate_limits_enabled=False, rate_limit_login="1/hour")
    outcomes = await asyncio.gather(*(_allowed(limits, "login", "198.51.100.4") for _ in range(50)))
    assert all(outcomes)


async def test_a_refusal_is_counted_in_the_metrics_by_rule(storage: Storage) -> None:
    labels = {"rule": "invitation-inviter"}
    before = REGISTRY.get_sample_value("tenantry_rate_limited_requests_total", labels) or 0.0
    limits = _limits(storage, rate_limit_invitations_per_inviter="1/hour")
    await limits.hit("invitation-inviter", "member-1")
    for _ in range(3):
        with pytest.raises(RateLimited):
            await limits.hit("invitation-inviter", "member-1")
    after = REGISTRY.get_sample_value("tenantry_rate_limited_requests_total", labels)
    assert after == before + 3


async def test_redis_keys_hold_no_email_address(redis_prefix: str) -> None:
    storage = RedisStorage("async+" + REDIS_URL, implementation="redispy", key_prefix=redis_prefix)
    limits = _limits(storage)
    await limits.hit_email("mail-email", "private.person@example.com")

    keys = redis_keys(redis_prefix)
    assert keys
    assert not any("private" in key or "@" in key or "example" in key for key in keys)


def test_without_redis_url_the_storage_is_process_memory() -> None:
    assert isinstance(create_storage(make_settings("sqlite+aiosqlite://")), MemoryStorage)


async def test_with_redis_url_the_storage_uses_the_configured_key_prefix(
    redis_prefix: str,
) -> None:
    settings = make_settings(
        "sqlite+aiosqlite://",
        redis_url=REDIS_URL,
        redis_key_prefix=redis_prefix,
        rate_limits_enabled=True,
        rate_limit_login="1/minute",
    )
    storage = create_storage(settings)
    assert isinstance(storage, RedisStorage)

    limits = RequestLimits(settings, storage)
    await limits.hit("login", "198.51.100.5")
    # A second storage made from the same settings (another worker) sees the count.
    with pytest.raises(RateLimited):
        await RequestLimits(settings, create_storage(settings)).hit("login", "198.51.100.5")
    assert redis_keys(redis_prefix)


async def test_a_redis_that_is_away_fails_fast_as_a_storage_error() -> None:
    settings = make_settings(
        "sqlite+aiosqlite://",
        redis_url="redis://127.0.0.1:1/0",  # nothing listens on port 1
        rate_limits_enabled=True,
        redis_socket_timeout_seconds=0.5,
    )
    limits = RequestLimits(settings, create_storage(settings))
    started = time.monotonic()
    with pytest.raises(StorageError):
        await limits.hit("login", "198.51.100.6")
    assert time.monotonic() - started < 3
