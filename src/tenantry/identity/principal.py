"""Who is signed in: the access token checked against its live session (DESIGN.md §4).

This runs on every authenticated request, so it is kept to the bare work: the token is
validated in memory, then one primary-key query on sessions ⋈ users, outside any
transaction (no `BEGIN`/`ROLLBACK` round trips), on a connection that goes back to
its pool at once. The result is plain data; no ORM object is built. Routes that change
the user load its row in their own session (`auth.dependencies.UserRow`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db import postgres_timeouts, utcnow
from tenantry.errors import InvalidToken
from tenantry.identity.models import Session, User
from tenantry.observability import metrics
from tenantry.security.jwt import TokenError, TokenSigner

log = structlog.get_logger("tenantry.auth")


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """The signed-in user as read by the token check (no password hash: it is not needed)."""

    id: uuid.UUID
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    email_verified_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Principal:
    user: SignedInUser
    session_id: uuid.UUID
    # From the token (DESIGN.md §10), for step-up: no extra query.
    auth_time: int | None = None
    amr: tuple[str, ...] = ()
    acr: str | None = None


# Built once; SQLAlchemy caches its compiled form.
_PRINCIPAL_QUERY = (
    select(
        Session.user_id.label("session_user_id"),
        Session.revoked_at,
        Session.expires_at,
        User.id,
        User.email,
        User.full_name,
        User.is_active,
        User.is_superuser,
        User.email_verified_at,
        User.created_at,
        User.updated_at,
    )
    .join(User, User.id == Session.user_id)
    .where(Session.id == bindparam("session_id"))
)


class PrincipalReader(ABC):
    """Runs the principal query. Two implementations, one statement (`_PRINCIPAL_QUERY`)."""

    @abstractmethod
    async def fetch(self, session_id: uuid.UUID) -> Mapping[str, Any] | None:
        """The row of `_PRINCIPAL_QUERY` for this session id, or None."""

    @abstractmethod
    async def close(self) -> None:
        """Release the reader's connections (the app's lifespan calls this at shutdown)."""


class SqlAlchemyPrincipalReader(PrincipalReader):
    """SQLite, and any backend without a dedicated reader: the engine's own pool, with
    the statement run outside a transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def fetch(self, session_id: uuid.UUID) -> Mapping[str, Any] | None:
        async with self._engine.connect() as connection:
            result = await connection.execute(_PRINCIPAL_QUERY, {"session_id": session_id})
            row = result.one_or_none()
        return None if row is None else row._asdict()

    async def close(self) -> None:
        """Nothing of its own: it borrows the engine's pool, which the app disposes."""


# Connection errors after which the query is tried once more, on another connection:
# the server restarted or terminated the backend, or a firewall cut an idle connection.
_LOST_CONNECTION = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    # Terminated while idle: the error message arrived, the socket's end not yet
    # (errors.py `_DATABASE_UNAVAILABLE`).
    asyncpg.exceptions.InternalClientError,
    OSError,
)


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """asyncpg resets a connection on release with a round trip (`RESET ALL`, `UNLISTEN
    *`, ...). These connections only ever run one SELECT, outside a transaction: no
    session state to undo. (An open transaction would still be rolled back by asyncpg.)"""


class AsyncpgPrincipalReader(PrincipalReader):
    """PostgreSQL: a small asyncpg pool of its own, queried directly.

    Measured in bench/ (issue 8): SQLAlchemy's asyncio layer (a greenlet and a fresh
    frame stack per call, connection and result wrappers) cost more than the query
    itself on this path. The statement is still `_PRINCIPAL_QUERY`, compiled once by
    SQLAlchemy for asyncpg; the connection settings are the engine's own. A separate
    pool also means token checks never queue behind requests holding transactions.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        pool_size: int,
        connect_timeout: float,
        command_timeout: float,
    ) -> None:
        compiled = _PRINCIPAL_QUERY.compile(dialect=engine.dialect)
        if compiled.positiontup != ["session_id"]:
            raise RuntimeError("the principal query must take exactly one parameter")
        self._sql = str(compiled)
        _args, connect_kwargs = engine.dialect.create_connect_args(engine.url)
        # Options of SQLAlchemy's adapter, not of asyncpg.connect().
        for option in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            connect_kwargs.pop(option, None)
        # Named, so operators can tell these connections apart in pg_stat_activity.
        server_settings: dict[str, str] = dict(connect_kwargs.pop("server_settings", None) or {})
        server_settings.setdefault("application_name", "tenantry-auth")
        connect_kwargs["server_settings"] = server_settings
        connect_kwargs.update(postgres_timeouts(connect=connect_timeout, command=command_timeout))
        self._connect_kwargs: dict[str, Any] = dict(connect_kwargs)
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        # First come, first served. asyncpg's pool lets a newcomer take a connection
        # released for a request already waiting, which sends that one to the back of
        # the queue: with 32 requests on 4 connections, p99 was 4 times the median. This
        # semaphore (FIFO since Python 3.11) admits requests in arrival order, and
        # never more than there are connections, so `acquire` itself never waits.
        self._turns = asyncio.Semaphore(pool_size)

    async def _open(self) -> asyncpg.Pool:
        # Opened on first use, in the worker's own event loop (after uvicorn forks).
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    # No floor: asyncpg restores a floor from a background task that,
                    # while the server is down, logs a traceback every second or so. A
                    # request opens what it needs; the first after a long idle spell
                    # pays one connect.
                    min_size=0,
                    max_size=self._pool_size,
                    reset=_nothing_to_reset,
                    **self._connect_kwargs,
                )
            return self._pool

    async def fetch(self, session_id: uuid.UUID) -> Mapping[str, Any] | None:
        pool = self._pool or await self._open()
        # The wait for a turn is the pool wait here: `acquire` itself never waits.
        waiting_since = time.perf_counter()
        async with self._turns:
            try:
                return await self._fetch_once(pool, session_id, waiting_since)
            except TimeoutError:
                raise  # the server is slow, not gone: trying again would double the wait
            except _LOST_CONNECTION:
                # One connection lost means its siblings were most likely lost with it
                # (a restart): each is replaced on its next use instead of failing a
                # request first. The broken one was dropped on release.
                await pool.expire_connections()
                return await self._fetch_once(pool, session_id, None)

    async def _fetch_once(
        self, pool: asyncpg.Pool, session_id: uuid.UUID, waiting_since: float | None
    ) -> Mapping[str, Any] | None:
        async with pool.acquire() as connection:
            if waiting_since is not None:
                metrics.AUTH_POOL_WAIT.observe(time.perf_counter() - waiting_since)
            metrics.DB_AUTH_POOL_CHECKED_OUT.inc()
            try:
                row: Mapping[str, Any] | None = await connection.fetchrow(self._sql, session_id)
            finally:
                metrics.DB_AUTH_POOL_CHECKED_OUT.dec()
            return row

    async def check(self) -> None:
        """Raise unless the pool can serve a query now (`/readyz`)."""
        pool = self._pool or await self._open()
        async with self._turns, pool.acquire() as connection:
            await connection.fetchval("SELECT 1")

    @property
    def pool(self) -> asyncpg.Pool | None:
        """The pool, once the first token check opened it."""
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def principal_reader(engine: AsyncEngine, settings: Settings) -> PrincipalReader:
    if engine.dialect.driver == "asyncpg":
        return AsyncpgPrincipalReader(
            engine,
            pool_size=settings.database_auth_pool_size,
            connect_timeout=settings.database_connect_timeout_seconds,
            command_timeout=settings.database_auth_command_timeout_seconds,
        )
    return SqlAlchemyPrincipalReader(engine)


async def authenticate(reader: PrincipalReader, signer: TokenSigner, token: str) -> Principal:
    """Validate an access token and load its live session and user, or raise 401.

    A revoked session, an expired one or a deactivated user fails here, at once,
    whatever the token's own expiry says.
    """
    try:
        claims = signer.validate(token)
    except TokenError as exc:
        log.info("access_token_rejected", reason=str(exc))
        raise InvalidToken() from exc
    row = await reader.fetch(claims.session_id)
    if (
        row is None
        or row["session_user_id"] != claims.user_id
        or row["revoked_at"] is not None
        or row["expires_at"] <= utcnow()
        or not row["is_active"]
    ):
        raise InvalidToken()
    user = SignedInUser(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        is_active=row["is_active"],
        is_superuser=row["is_superuser"],
        email_verified_at=row["email_verified_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
    return Principal(
        user=user,
        session_id=claims.session_id,
        auth_time=claims.auth_time,
        amr=claims.amr,
        acr=claims.acr,
    )
