"""Request limits and the per-email login lockout (DESIGN.md §6).

Both live in one `limits` storage: in process memory by default, or Redis when
`REDIS_URL` is set, so that every worker and instance shares the same counters.
Emails are hashed before they become keys: the store never holds an address.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from tenantry.config import Settings
from tenantry.errors import ProblemError
from tenantry.observability import metrics


class RateLimited(ProblemError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, *, retry_after: int, limit: int, detail: str | None = None) -> None:
        super().__init__(
            detail or f"Too many requests; retry after {retry_after} seconds.",
            headers={
                "Retry-After": str(retry_after),
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(retry_after),
            },
        )
        self.retry_after = retry_after


class TooManyAttempts(RateLimited):
    code = "too_many_attempts"
    title = "Too many attempts"


def _email_key(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]


def create_storage(settings: Settings) -> Storage:
    if settings.redis_url:
        uri = "async+" + settings.redis_url
        return RedisStorage(
            uri,
            implementation="redispy",
            key_prefix=settings.redis_key_prefix,
            # Every failure arrives as `limits.errors.StorageError`: a 503 (errors.py).
            wrap_exceptions=True,
            **_redis_client_options(settings),
        )
    return MemoryStorage()


def _redis_client_options(settings: Settings) -> dict[str, Any]:
    """A Redis that is away fails the request fast; one that came back is used at once.

    redis-py's clients made from a URL never retry: after a Redis restart each pooled
    connection failed one request before it was replaced. One immediate retry on a
    connection error reconnects a stale connection; a Redis that is really down fails
    the retry as fast (connection refused) and the request answers 503. Timeouts are not
    retried, so a Redis that hangs costs one timeout, not several.
    """
    return {
        "socket_timeout": settings.redis_socket_timeout_seconds,
        "socket_connect_timeout": settings.redis_socket_timeout_seconds,
        "retry": Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
    }


class RequestLimits:
    """Named per-client limits; `RATE_LIMITS_ENABLED=false` switches them all off."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.enabled = settings.rate_limits_enabled
        self._limiter = MovingWindowRateLimiter(storage)
        self._rules: dict[str, list[RateLimitItem]] = {
            "login": parse_many(settings.rate_limit_login),
            "register": parse_many(settings.rate_limit_register),
            "refresh": parse_many(settings.rate_limit_refresh),
            "mail-email": parse_many(settings.rate_limit_mail_per_email),
            "mail-ip": parse_many(settings.rate_limit_mail_per_ip),
            "invitation-inviter": parse_many(settings.rate_limit_invitations_per_inviter),
            "invitation-organization": parse_many(settings.rate_limit_invitations_per_organization),
        }

    async def hit(self, rule: str, identifier: str | None) -> None:
        """Count one request against `rule` for `identifier`, or raise `RateLimited`."""
        if not self.enabled:
            return
        key = identifier or "unknown"
        for item in self._rules[rule]:
            if not await self._limiter.hit(item, rule, key):
                stats = await self._limiter.get_window_stats(item, rule, key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                metrics.RATE_LIMITED.labels(rule).inc()
                raise RateLimited(retry_after=retry_after, limit=item.amount)

    async def hit_email(self, rule: str, email: str) -> None:
        await self.hit(rule, _email_key(email))


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_failures: int
    window_seconds: int
    first_lockout_seconds: int
    max_lockout_seconds: int
    max_consecutive_failures: int
    # Consecutive-failure counters outlive any lockout: only a success, a reset or this
    # lifetime ends them. The setting's default, for a policy built without settings.
    consecutive_failures_ttl_seconds: int = Settings.model_fields[
        "login_consecutive_failures_ttl_seconds"
    ].default

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        return cls(
            max_failures=settings.login_max_failures,
            window_seconds=settings.login_failure_window_seconds,
            first_lockout_seconds=settings.login_lockout_seconds,
            max_lockout_seconds=settings.login_lockout_max_seconds,
            max_consecutive_failures=settings.login_max_consecutive_failures,
            consecutive_failures_ttl_seconds=settings.login_consecutive_failures_ttl_seconds,
        )

    def lockout_seconds(self, level: int) -> int:
        """1 minute, then doubling on each further lockout, up to the maximum."""
        doubled: int = self.first_lockout_seconds * 2 ** max(0, level - 1)
        return min(doubled, self.max_lockout_seconds)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One password verification, reserved before the hash runs; settle it with
    `LoginLockout.failed` or `LoginLockout.succeeded`."""

    subject: str
    epoch: int  # the run of attempts it belongs to; a lockout or a success ends a run
    position: int  # its place in that run


class LoginLockout:
    """Failed logins counted per normalized email, whether or not the account exists,
    so that a lockout reveals nothing about which addresses are registered.

    Every attempt takes a numbered slot *before* its password is verified (reserve,
    then settle). Slots come from one atomic `incr`, so a burst of concurrent guesses
    gets at most `max_failures` verifications, in memory and in Redis alike; the attempt
    holding the last slot starts the lockout if it fails. Slots are counted per epoch:
    a lockout or a success starts a new epoch instead of clearing a counter, so a slot
    taken in a race with the lockout can never be counted into the next run.

    A subject is either an email, or an email together with a client address from which
    the account has signed in before (a known source). A known source keeps counters of
    its own, so a stranger who locks the email out does not lock the owner out.
    """

    def __init__(self, policy: LockoutPolicy, storage: Storage) -> None:
        self.policy = policy
        self._storage = storage

    @staticmethod
    def email_subject(email: str) -> str:
        return f"email:{_email_key(email)}"

    @staticmethod
    def source_subject(email: str, ip: str, generation: str) -> str:
        """`generation` changes with the password, so a reset starts every known source
        afresh without having to find their keys."""
        return f"source:{_email_key(chr(0).join((email, ip, generation)))}"

    def _refusal(self, retry_after: int) -> TooManyAttempts:
        metrics.LOGINS.labels("locked").inc()
        return TooManyAttempts(
            retry_after=retry_after,
            limit=self.policy.max_failures,
            detail=f"Too many failed sign-ins; try again in {retry_after} seconds.",
        )

    async def _lock_refusal(self, subject: str) -> TooManyAttempts | None:
        lock_key = f"lock:{subject}"
        if await self._storage.get(lock_key) <= 0:
            return None
        remaining = await self._storage.get_expiry(lock_key) - time.time()
        return self._refusal(max(1, math.ceil(remaining)))

    async def reserve(self, subject: str, *, stored_consecutive: int = 0) -> Attempt:
        """Take one verification slot, or raise `TooManyAttempts`.

        `stored_consecutive` is the account's durable failure count from the database;
        past the consecutive limit only a password reset unlocks it (NIST SP 800-63B).
        Refusals during a lockout add nothing to the consecutive counts.
        """
        if refusal := await self._lock_refusal(subject):
            raise refusal
        epoch = await self._storage.get(f"lock-epoch:{subject}")
        attempts_key = f"lock-attempts:{subject}:{epoch}"
        position = await self._storage.incr(attempts_key, self.policy.window_seconds)
        if refusal := await self._lock_refusal(subject):
            # A lockout began after the first look: the epoch read may already be the
            # one after it, whose slots belong to the attempts once it ends.
            await self._storage.incr(attempts_key, self.policy.window_seconds, amount=-1)
            raise refusal
        if position > self.policy.max_failures:
            # Every slot is held by an attempt still being verified: if the last one
            # fails it starts the lockout, if any succeeds the count starts afresh. A
            # client that only sent several right passwords at once gets in on a retry.
            raise self._refusal(1)
        consecutive = await self._storage.incr(
            f"lock-consecutive:{subject}", self.policy.consecutive_failures_ttl_seconds
        )
        limit = self.policy.max_consecutive_failures
        if consecutive > limit or stored_consecutive >= limit:
            raise self._refusal(self.policy.max_lockout_seconds)
        return Attempt(subject=subject, epoch=epoch, position=position)

    async def failed(self, attempt: Attempt) -> int | None:
        """Settle a wrong password; return the lockout in seconds when this one starts it.

        Only the attempt that held the last slot of the current epoch starts a lockout,
        so concurrent failures start exactly one.
        """
        subject = attempt.subject
        if attempt.position != self.policy.max_failures:
            return None
        if await self._storage.get(f"lock-epoch:{subject}") != attempt.epoch:
            return None  # a success came first
        level = await self._storage.incr(
            f"lock-level:{subject}", self.policy.window_seconds + self.policy.max_lockout_seconds
        )
        seconds = self.policy.lockout_seconds(level)
        lock_key = f"lock:{subject}"
        await self._storage.clear(lock_key)
        await self._storage.incr(lock_key, seconds)
        # Locked first, then a new epoch: the next lockout comes after as many failures.
        await self._storage.incr(
            f"lock-epoch:{subject}", self.policy.consecutive_failures_ttl_seconds
        )
        return seconds

    async def release(self, attempt: Attempt) -> None:
        """Give back the slot of a check that was neither a failure nor a success (a
        right password still waiting for its second factor, DESIGN.md §10): the
        failure counts stay as they were before it."""
        window = self.policy.window_seconds
        await self._storage.incr(
            f"lock-attempts:{attempt.subject}:{attempt.epoch}", window, amount=-1
        )
        await self._storage.incr(
            f"lock-consecutive:{attempt.subject}",
            self.policy.consecutive_failures_ttl_seconds,
            amount=-1,
        )

    async def succeeded(self, attempt: Attempt, *, email: str) -> None:
        """The right password, from anywhere, resets the email's counts (DESIGN.md §6)."""
        for subject in {attempt.subject, self.email_subject(email)}:
            await self.clear(subject)

    async def clear(self, subject: str) -> None:
        await self._storage.incr(
            f"lock-epoch:{subject}", self.policy.consecutive_failures_ttl_seconds
        )
        for key in ("lock", "lock-level", "lock-consecutive"):
            await self._storage.clear(f"{key}:{subject}")

    async def reset(self, email: str) -> None:
        """A password reset: forget every failure of this email."""
        await self.clear(self.email_subject(email))
