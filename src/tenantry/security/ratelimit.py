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

from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from tenantry.config import Settings
from tenantry.errors import ProblemError
from tenantry.observability import metrics

# Consecutive-failure counters outlive any lockout: only a success or a reset clears them.
CONSECUTIVE_FAILURES_TTL = 30 * 24 * 3600


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

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        return cls(
            max_failures=settings.login_max_failures,
            window_seconds=settings.login_failure_window_seconds,
            first_lockout_seconds=settings.login_lockout_seconds,
            max_lockout_seconds=settings.login_lockout_max_seconds,
            max_consecutive_failures=settings.login_max_consecutive_failures,
        )

    def lockout_seconds(self, level: int) -> int:
        """1 minute, then doubling on each further lockout, up to the maximum."""
        doubled: int = self.first_lockout_seconds * 2 ** max(0, level - 1)
        return min(doubled, self.max_lockout_seconds)


class LoginLockout:
    """Failed logins counted per normalized email, whether or not the account exists,
    so that a lockout reveals nothing about which addresses are registered."""

    def __init__(self, policy: LockoutPolicy, storage: Storage) -> None:
        self.policy = policy
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._failures = RateLimitItemPerSecond(policy.max_failures, policy.window_seconds)

    @staticmethod
    def _keys(email: str) -> tuple[str, str, str]:
        hashed = _email_key(email)
        return f"lock:{hashed}", f"lock-level:{hashed}", f"lock-consecutive:{hashed}"

    async def retry_after(self, email: str, *, stored_consecutive: int = 0) -> int | None:
        """Seconds until this email may try again, or None when it is not locked.

        `stored_consecutive` is the account's durable failure count from the database;
        past the consecutive limit only a password reset unlocks it (NIST SP 800-63B).
        """
        lock_key, _level_key, consecutive_key = self._keys(email)
        consecutive = max(stored_consecutive, await self._storage.get(consecutive_key))
        if consecutive >= self.policy.max_consecutive_failures:
            return self.policy.max_lockout_seconds
        if await self._storage.get(lock_key) > 0:
            remaining = await self._storage.get_expiry(lock_key) - time.time()
            return max(1, math.ceil(remaining))
        return None

    async def record_failure(self, email: str) -> int | None:
        """Count a failure; return the lockout in seconds when this failure starts one."""
        lock_key, level_key, consecutive_key = self._keys(email)
        await self._storage.incr(consecutive_key, CONSECUTIVE_FAILURES_TTL)
        if await self._limiter.hit(self._failures, "login-failures", _email_key(email)):
            stats = await self._limiter.get_window_stats(
                self._failures, "login-failures", _email_key(email)
            )
            if stats.remaining > 0:
                return None
        level = await self._storage.incr(
            level_key, self.policy.window_seconds + self.policy.max_lockout_seconds
        )
        seconds = self.policy.lockout_seconds(level)
        await self._storage.clear(lock_key)
        await self._storage.incr(lock_key, seconds)
        # A fresh count after each lockout: the next one comes after as many failures.
        await self._limiter.clear(self._failures, "login-failures", _email_key(email))
        return seconds

    async def reset(self, email: str) -> None:
        """A success or a password reset: forget every failure of this email."""
        for key in self._keys(email):
            await self._storage.clear(key)
        await self._limiter.clear(self._failures, "login-failures", _email_key(email))
