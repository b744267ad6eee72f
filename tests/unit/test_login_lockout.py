"""`LoginLockout` on its own, on process memory and on Redis alike (DESIGN.md §6).

tests/security/test_lockout_counters.py proves the slot race (one burst on one
subject, failures racing new guesses, a success in the middle). These tests pin the
rest an attacker would probe: the thresholds exactly at the limit, growing lockouts,
the consecutive-failure lock, known sources, and bursts spread over several subjects.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from limits.aio.storage import Storage

from tenantry.security.ratelimit import (
    Attempt,
    LockoutPolicy,
    LoginLockout,
    RateLimited,
    TooManyAttempts,
)
from tests.conftest import make_settings

EMAIL = "owner@example.com"
POLICY = LockoutPolicy(
    max_failures=3,
    window_seconds=900,
    first_lockout_seconds=1,
    max_lockout_seconds=2,
    max_consecutive_failures=1000,
)


async def _fail(lockout: LoginLockout, subject: str, **reserve: int) -> int | None:
    """One wrong password: reserve a slot, then settle it as a failure."""
    return await lockout.failed(await lockout.reserve(subject, **reserve))


async def _try(lockout: LoginLockout, subject: str) -> Attempt | None:
    try:
        return await lockout.reserve(subject)
    except TooManyAttempts:
        return None


async def _wait_unlocked(lockout: LoginLockout, subject: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        attempt = await _try(lockout, subject)
        if attempt is not None:
            await lockout.succeeded(attempt, email=EMAIL)
            return
        assert time.monotonic() < deadline, "the lockout did not end"
        await asyncio.sleep(0.1)


# --- thresholds ---


async def test_one_failure_below_the_limit_locks_nothing(storage: Storage) -> None:
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject(EMAIL)

    for _ in range(POLICY.max_failures - 1):
        assert await _fail(lockout, subject) is None

    await lockout.reserve(subject)  # the last slot is still there


async def test_the_failure_exactly_at_the_limit_starts_the_first_lockout(storage: Storage) -> None:
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject(EMAIL)
    for _ in range(POLICY.max_failures - 1):
        await _fail(lockout, subject)

    assert await _fail(lockout, subject) == POLICY.first_lockout_seconds

    with pytest.raises(TooManyAttempts) as refused:
        await lockout.reserve(subject)
    assert refused.value.status == 429
    assert refused.value.code == "too_many_attempts"
    assert isinstance(refused.value, RateLimited)
    assert 1 <= refused.value.retry_after <= POLICY.first_lockout_seconds
    assert refused.value.headers["RateLimit-Limit"] == str(POLICY.max_failures)


async def test_a_success_just_before_the_limit_starts_the_count_afresh(storage: Storage) -> None:
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject(EMAIL)
    for _ in range(POLICY.max_failures - 1):
        await _fail(lockout, subject)

    await lockout.succeeded(await lockout.reserve(subject), email=EMAIL)

    for _ in range(POLICY.max_failures - 1):
        assert await _fail(lockout, subject) is None
    assert await _fail(lockout, subject) == POLICY.first_lockout_seconds


async def _lock_out(lockout: LoginLockout, subject: str) -> int | None:
    """A full run of wrong passwords; the lockout it started, in seconds."""
    started = [await _fail(lockout, subject) for _ in range(POLICY.max_failures)]
    assert started[:-1] == [None] * (POLICY.max_failures - 1)
    return started[-1]


async def test_a_second_lockout_lasts_twice_as_long_as_the_first(storage: Storage) -> None:
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject(EMAIL)

    first = await _lock_out(lockout, subject)
    await asyncio.sleep(POLICY.first_lockout_seconds + 0.2)  # the lockout runs out
    second = await _lock_out(lockout, subject)

    assert (first, second) == (1, 2)
    with pytest.raises(TooManyAttempts) as refused:
        await lockout.reserve(subject)
    assert refused.value.retry_after == 2


async def test_a_success_after_a_lockout_resets_its_length(storage: Storage) -> None:
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject(EMAIL)
    assert await _lock_out(lockout, subject) == 1
    await asyncio.sleep(POLICY.first_lockout_seconds + 0.2)

    await lockout.succeeded(await lockout.reserve(subject), email=EMAIL)

    assert await _lock_out(lockout, subject) == 1


async def test_a_password_reset_ends_a_lockout_at_once(storage: Storage) -> None:
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject(EMAIL)
    await _lock_out(lockout, subject)

    await lockout.reset(EMAIL)

    await lockout.reserve(subject)


# --- the consecutive-failure lock (NIST SP 800-63B) ---

STRICT = LockoutPolicy(
    max_failures=10,
    window_seconds=900,
    first_lockout_seconds=1,
    max_lockout_seconds=2,
    max_consecutive_failures=4,
)


async def test_past_the_consecutive_limit_only_a_reset_lets_guesses_in(storage: Storage) -> None:
    lockout = LoginLockout(STRICT, storage)
    subject = lockout.email_subject(EMAIL)
    for _ in range(STRICT.max_consecutive_failures):
        assert await _fail(lockout, subject) is None

    for _ in range(3):
        with pytest.raises(TooManyAttempts):
            await lockout.reserve(subject)

    await lockout.reset(EMAIL)
    await lockout.reserve(subject)


async def test_the_first_refusal_past_the_consecutive_limit_asks_for_the_longest_wait(
    storage: Storage,
) -> None:
    lockout = LoginLockout(STRICT, storage)
    subject = lockout.email_subject(EMAIL)
    for _ in range(STRICT.max_consecutive_failures):
        await _fail(lockout, subject)
    with pytest.raises(TooManyAttempts) as refused:
        await lockout.reserve(subject)
    assert refused.value.retry_after == STRICT.max_lockout_seconds


@pytest.mark.parametrize(("stored", "allowed"), [(0, True), (3, True), (4, False), (10_000, False)])
async def test_the_accounts_stored_failure_count_locks_exactly_at_the_limit(
    storage: Storage, stored: int, allowed: bool
) -> None:
    # The durable count outlives the storage (a Redis flush, a restart of one worker).
    lockout = LoginLockout(STRICT, storage)
    subject = lockout.email_subject(EMAIL)
    if allowed:
        await lockout.reserve(subject, stored_consecutive=stored)
    else:
        with pytest.raises(TooManyAttempts):
            await lockout.reserve(subject, stored_consecutive=stored)


async def test_refusals_during_a_lockout_add_nothing_to_the_consecutive_count(
    storage: Storage,
) -> None:
    policy = LockoutPolicy(
        max_failures=2,
        window_seconds=900,
        first_lockout_seconds=1,
        max_lockout_seconds=2,
        max_consecutive_failures=4,
    )
    lockout = LoginLockout(policy, storage)
    subject = lockout.email_subject(EMAIL)
    await _fail(lockout, subject)
    assert await _fail(lockout, subject) == 1  # consecutive: 2

    for _ in range(20):  # a guesser hammering the locked account
        with pytest.raises(TooManyAttempts):
            await lockout.reserve(subject)
    await asyncio.sleep(policy.first_lockout_seconds + 0.2)

    # Two more wrong passwords fit under the consecutive limit of 4.
    assert await _fail(lockout, subject) is None
    assert await _fail(lockout, subject) == 2


async def test_a_concurrent_burst_past_the_consecutive_limit_gets_exactly_the_limit(
    storage: Storage,
) -> None:
    policy = LockoutPolicy(
        max_failures=1000,
        window_seconds=900,
        first_lockout_seconds=1,
        max_lockout_seconds=2,
        max_consecutive_failures=20,
    )
    lockout = LoginLockout(policy, storage)
    subject = lockout.email_subject(EMAIL)

    granted = await asyncio.gather(*(_try(lockout, subject) for _ in range(60)))

    assert sum(1 for attempt in granted if attempt is not None) == 20


# --- known sources ---


def test_subjects_are_stable_distinct_per_address_and_password_and_hold_no_email() -> None:
    subjects = {
        LoginLockout.email_subject(EMAIL),
        LoginLockout.source_subject(EMAIL, "198.51.100.7", "gen-1"),
        LoginLockout.source_subject(EMAIL, "198.51.100.8", "gen-1"),
        LoginLockout.source_subject(EMAIL, "198.51.100.7", "gen-2"),
        LoginLockout.source_subject("other@example.com", "198.51.100.7", "gen-1"),
    }
    assert len(subjects) == 5
    assert LoginLockout.email_subject(EMAIL) == LoginLockout.email_subject(EMAIL)
    assert not any("owner" in subject or "@" in subject for subject in subjects)


async def test_a_stranger_locking_the_email_out_does_not_lock_out_a_known_source(
    storage: Storage,
) -> None:
    lockout = LoginLockout(POLICY, storage)
    email_subject = lockout.email_subject(EMAIL)
    owner = lockout.source_subject(EMAIL, "198.51.100.7", "gen-1")
    await _lock_out(lockout, email_subject)

    with pytest.raises(TooManyAttempts):
        await lockout.reserve(email_subject)
    attempt = await lockout.reserve(owner)

    # The owner's success from there clears the email's lockout for everyone.
    await lockout.succeeded(attempt, email=EMAIL)
    await lockout.reserve(email_subject)


async def test_a_known_source_has_its_own_lockout(storage: Storage) -> None:
    lockout = LoginLockout(POLICY, storage)
    owner = lockout.source_subject(EMAIL, "198.51.100.7", "gen-1")
    other_place = lockout.source_subject(EMAIL, "198.51.100.8", "gen-1")
    await _lock_out(lockout, owner)

    with pytest.raises(TooManyAttempts):
        await lockout.reserve(owner)
    await lockout.reserve(other_place)
    await lockout.reserve(lockout.email_subject(EMAIL))


async def test_a_new_password_starts_every_known_source_afresh(storage: Storage) -> None:
    lockout = LoginLockout(POLICY, storage)
    before = lockout.source_subject(EMAIL, "198.51.100.7", "gen-1")
    await _lock_out(lockout, before)

    await lockout.reset(EMAIL)

    with pytest.raises(TooManyAttempts):  # the old generation's subject is left to expire
        await lockout.reserve(before)
    await lockout.reserve(lockout.source_subject(EMAIL, "198.51.100.7", "gen-2"))


async def test_bursts_on_several_subjects_at_once_each_get_exactly_their_slots(
    storage: Storage,
) -> None:
    lockout = LoginLockout(POLICY, storage)
    subjects = [lockout.email_subject(EMAIL)] + [
        lockout.source_subject(EMAIL, f"198.51.100.{n}", "gen-1") for n in range(3)
    ]

    reserved = await asyncio.gather(*(_try(lockout, s) for _ in range(25) for s in subjects))
    granted = [attempt for attempt in reserved if attempt is not None]

    for subject in subjects:
        positions = sorted(a.position for a in granted if a.subject == subject)
        assert positions == list(range(1, POLICY.max_failures + 1)), subject
    locks = await asyncio.gather(*(lockout.failed(attempt) for attempt in granted))
    assert sorted(locks, key=str) == [1] * len(subjects) + [None] * (len(granted) - len(subjects))
    for subject in subjects:
        with pytest.raises(TooManyAttempts):
            await lockout.reserve(subject)


async def test_a_burst_of_right_passwords_gets_in_without_starting_a_lockout(
    storage: Storage,
) -> None:
    # Several tabs signing in at once: the slot holders succeed, nobody is locked out.
    lockout = LoginLockout(POLICY, storage)
    subject = lockout.email_subject(EMAIL)

    reserved = await asyncio.gather(*(_try(lockout, subject) for _ in range(50)))
    granted = [attempt for attempt in reserved if attempt is not None]
    assert len(granted) == POLICY.max_failures
    await asyncio.gather(*(lockout.succeeded(a, email=EMAIL) for a in granted))

    assert await lockout.reserve(subject)


def test_lockout_seconds_double_from_the_first_and_stop_at_the_maximum() -> None:
    policy = LockoutPolicy(
        max_failures=5,
        window_seconds=900,
        first_lockout_seconds=60,
        max_lockout_seconds=900,
        max_consecutive_failures=100,
    )
    assert [policy.lockout_seconds(level) for level in range(0, 7)] == [
        60,
        60,
        120,
        240,
        480,
        900,
        900,
    ]


def test_the_policy_is_read_from_the_settings() -> None:
    settings = make_settings(
        "sqlite+aiosqlite://",
        login_max_failures=7,
        login_failure_window_seconds=600,
        login_lockout_seconds=30,
        login_lockout_max_seconds=480,
        login_max_consecutive_failures=50,
    )
    assert LockoutPolicy.from_settings(settings) == LockoutPolicy(7, 600, 30, 480, 50)
