"""Engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator
from starlette.types import ASGIApp, Receive, Scope, Send

from tenantry.config import Settings
from tenantry.errors import unavailable_dependency
from tenantry.observability.metrics import MeasuredPool

log = structlog.get_logger("tenantry.db")

# Explicit constraint names make migrations deterministic on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Uuid7Clock:
    """Millisecond and counter of the last uuid7 this process made (RFC 9562 §6.2,
    method 1): ids made within one millisecond keep the order they were made in, so
    lists sorted by id (the audit trail, newest first) show a burst as it happened."""

    COUNTER_BITS = 12  # the `rand_a` field

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._millis = 0
        self._counter = 0

    def next(self) -> tuple[int, int]:
        millis = time.time_ns() // 1_000_000
        with self._lock:
            if millis > self._millis:
                # A random start with the top bit clear leaves room to count (§6.2).
                counter = secrets.randbits(self.COUNTER_BITS - 1)
            else:
                # The same millisecond, or the clock stepped back: keep counting.
                millis, counter = self._millis, self._counter + 1
                if counter >> self.COUNTER_BITS:
                    millis, counter = millis + 1, secrets.randbits(self.COUNTER_BITS - 1)
            self._millis, self._counter = millis, counter
        return millis, counter


_uuid7_clock = _Uuid7Clock()


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7): new rows land at the end of indexes."""
    millis, counter = _uuid7_clock.next()
    value = (
        (millis & ((1 << 48) - 1)) << 80
        | 0x7 << 76  # version 7
        | counter << 64
        | 0x2 << 62  # RFC 4122 variant
        | secrets.randbits(62)
    )
    return uuid.UUID(int=value)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Pre-ping, but only connections that sat idle in the pool.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: on PostgreSQL that doubled
    the cost of an authenticated request. A connection returned moments ago is alive
    as far as a ping can tell; one idle longer may have been cut by a database
    restart or a firewall, so it is pinged, and a dead one is replaced before use
    (the pool retries the checkout on `DisconnectionError`). A connection whose socket
    the server already closed is replaced too, whatever its idle time: that costs no
    round trip.
    """

    def remember_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in_at"] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        # Free to ask: asyncpg saw the server close the socket (a restart, a terminated
        # backend) while the connection sat in the pool, so it is replaced without a
        # failed request, however recently it was used.
        is_closed = getattr(getattr(dbapi_connection, "driver_connection", None), "is_closed", None)
        if callable(is_closed) and is_closed():  # asyncpg's; other drivers name it otherwise
            raise DisconnectionError()
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:  # any failure means the connection is gone
            raise DisconnectionError() from exc

    event.listen(engine.sync_engine, "checkin", remember_checkin)
    event.listen(engine.sync_engine, "checkout", ping_if_idle)


def postgres_timeouts(*, connect: float, command: float) -> dict[str, float]:
    """asyncpg's connection options for the time allowed to connect and per statement
    (a statement past it raises `TimeoutError`, and is cancelled on the server)."""
    return {"timeout": connect, "command_timeout": command}


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": 30},
            poolclass=MeasuredPool,
            pool_pre_ping=True,
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        settings.database_url,
        # Errors and logs must never quote parameters: they hold hashes and digests.
        hide_parameters=True,
        poolclass=MeasuredPool,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout_seconds,
        # A database that is away must fail requests fast (503), not hold them.
        connect_args=postgres_timeouts(
            connect=settings.database_connect_timeout_seconds,
            command=settings.database_command_timeout_seconds,
        ),
    )
    _ping_idle_connections(engine, settings.database_ping_idle_seconds)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class _RequestSession:
    """The request's database session, made on first use."""

    __slots__ = ("_session", "_sessionmaker")

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None

    def get(self) -> AsyncSession:
        if self._session is None:
            self._session = self._sessionmaker()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class DbSessionMiddleware:
    """Gives each request one session, closed (and any open transaction rolled back)
    when the request is over.

    A plain middleware rather than a `yield` dependency: FastAPI wraps every `yield`
    dependency in an exit stack and a shielded cancel scope, a measurable share of an
    authenticated request that only reads.
    """

    def __init__(self, app: ASGIApp, *, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.app = app
        self.sessionmaker = sessionmaker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder = _RequestSession(self.sessionmaker)
        scope.setdefault("state", {})["db"] = holder
        try:
            await self.app(scope, receive, send)
        finally:
            try:
                await holder.close()
            except Exception as exc:
                if unavailable_dependency(exc) is None:
                    raise
                # The connection died with the database mid-request: there is nothing
                # left to roll back, SQLAlchemy has discarded it, and the answer (a 503)
                # is already on its way. Raising here would only add a stray 500.
                log.warning("session_close_failed", error=type(exc).__name__)


async def release_connection(db: AsyncSession) -> None:
    """End the session's read-only transaction before slow work (password hashing),
    so its connection serves other requests meanwhile; loaded objects stay usable
    (`expire_on_commit=False`) and the next statement opens a new transaction."""
    if db.in_transaction():
        await db.commit()


async def get_db(request: Request) -> AsyncSession:
    holder: _RequestSession = request.state.db
    return holder.get()


DbSession = Annotated[AsyncSession, Depends(get_db)]
