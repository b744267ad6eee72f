"""`LoginLockout` itself, on both storages (in-process memory and the shared Redis):
slots are reserved atomically, exactly one failure starts each lockout, and a slot
taken in a race with the lockout never leaks into the next run of attempts."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from tenantry.security.ratelimit import Attempt, LockoutPolicy, LoginLockout, TooManyAttempts

REDIS_URL = "redis://127.0.0.1:6379/0"
POLICY = LockoutPolicy(
    max_failures=5,
    window_seconds=900,
    first_lockout_seconds=1,
    max_lockout_seconds=2,
    max_consecutive_failures=1000,
)


class UnevenStorage(MemoryStorage):
    """The memory storage, with each call taking a varying number of event-loop turns,
    as calls to a busy Redis do: it makes the interleavings of a race likely."""

    def __init__(self) -> None:
        super().__init__()
        self._turns = random.Random(13)

    async def _delay(self) -> None:
        for _ in range(self._turns.randrange(4)):
            await asyncio.sleep(0)

    async def get(self, key: str) -> int:
        await self._delay()
        return await super().get(key)

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        await self._delay()
        return await super().incr(key, expiry, amount)

    async def clear(self, key: str) -> None:
        await self._delay()
        await super().clear(key)


@pytest.fixture(params=["memory", "uneven-memory", "redis"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    if request.param == "uneven-memory":
        yield UnevenStorage()
        return
    prefix = f"tenantry-test-{uuid.uuid4().hex[:12]}"
    yield RedisStorage("async+" + REDIS_URL, implementation="redispy", key_prefix=prefix)
    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(match=f"{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


async def _try(lockout: LoginLockout, subject: str) -> Attempt | None:
    try:
        return await lockout.reserve(subject)
    except TooManyAttempts:
        return None


async def _try_later(lockout: LoginLockout, subject: str, turns: int) -> Attempt | None:
    for _ in range(turns):  # spread the guesses over the event loop's turns
        await asyncio.sleep(0)
    return await _try(lockout, subject)


async def _burst(lockout: LoginLockout, subject: str, size: int) -> list[Attempt]:
    reserved = await asyncio.gather(*(_try(lockout, subject) for _ in range(size)))
    return [attempt for attempt in reserved if attempt is not None]


async def _wait_unlocked(storage: Storage, subject: str) -> None:
    deadline = time.monotonic() + 10
    while await storage.get(f"lock:{subject}") > 0:
        assert time.monotonic() < deadline, "the lockout did not end"
        await asyncio.sleep(0.05)


async def test_a_burst_reserves_exactly_max_failures_slots(storage: Storage) -> None:
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject("burst@example.com")

    granted = await _burst(lockout, subject, 100)

    assert sorted(attempt.position for attempt in granted) == [1, 2, 3, 4, 5]
    locks = await asyncio.gather(*(lockout.failed(attempt) for attempt in granted))
    assert sorted(locks, key=str) == [1, None, None, None, None]
    with pytest.raises(TooManyAttempts):
        await lockout.reserve(subject)


async def test_slots_raced_against_the_lockout_never_leak_into_the_next_run(
    storage: Storage,
) -> None:
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject("race@example.com")
    for _round in range(3):
        granted = await _burst(lockout, subject, POLICY.max_failures)
        assert len(granted) == POLICY.max_failures

        # The failures settle while a burst of guesses races them: not one gets a slot.
        settled: list[Any] = await asyncio.gather(
            *(lockout.failed(attempt) for attempt in granted),
            *(_try_later(lockout, subject, turns) for turns in range(50)),
        )
        assert settled[POLICY.max_failures :] == [None] * 50
        assert sum(1 for seconds in settled[: POLICY.max_failures] if seconds) == 1

        await _wait_unlocked(storage, subject)


async def test_a_success_starts_a_fresh_count_and_stale_failures_lock_nothing(
    storage: Storage,
) -> None:
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject("success@example.com")
    granted = await _burst(lockout, subject, 5)
    last = max(granted, key=lambda attempt: attempt.position)

    await lockout.succeeded(granted[0], email="success@example.com")

    assert await lockout.failed(last) is None  # from before the success
    assert len(await _burst(lockout, subject, 20)) == POLICY.max_failures


async def test_a_run_of_consecutive_failures_is_forgotten_after_its_lifetime(
    storage: Storage,
) -> None:
    # `LOGIN_CONSECUTIVE_FAILURES_TTL_SECONDS`: past it, an unknown email's reset-only
    # lock ends, and the next failure starts a new run.
    policy = dataclasses.replace(
        POLICY, max_failures=100, max_consecutive_failures=2, consecutive_failures_ttl_seconds=1
    )
    lockout = LoginLockout(policy, storage)
    subject = lockout.email_subject("forgotten@example.com")
    for _ in range(2):
        attempt = await lockout.reserve(subject)
        await lockout.failed(attempt)
    with pytest.raises(TooManyAttempts):
        await lockout.reserve(subject)  # the third in a row: reset-only

    await asyncio.sleep(1.2)

    attempt = await lockout.reserve(subject)
    await lockout.failed(attempt)
    assert await storage.get(f"lock-consecutive:{subject}") == 1
