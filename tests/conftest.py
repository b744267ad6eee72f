"""Shared fixtures: a real database (SQLite by default, PostgreSQL when
`TEST_DATABASE_URL` names one), migrated with Alembic, emptied after every test."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import delete, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.cli import upgrade_database
from tenantry.config import Settings
from tenantry.main import create_app
from tenantry.models import Base, Role

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256!"
PASSWORD = "correct horse battery staple"


def _postgres_admin_dsn(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), str(parsed.database)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database this run owns: created here, dropped here, never someone else's."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        path = tmp_path_factory.mktemp("db") / "tenantry-test.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    if not url.startswith("postgresql"):
        yield url
        return
    admin_dsn, name = _postgres_admin_dsn(url)
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise RuntimeError(f"test database name {name!r} must be lower-case letters, digits, _")

    async def create() -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                raise RuntimeError(f"{name} exists; tests only use a database they create")
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(create())
    try:
        yield url
    finally:
        asyncio.run(drop())


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "bcrypt_rounds": 4,
        "log_level": "WARNING",
        # Every test comes from one client address; the tests of the limits turn them on.
        "rate_limits_enabled": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def migrated_url(database_url: str) -> str:
    upgrade_database(make_settings(database_url))
    return database_url


@pytest.fixture(scope="session")
def settings(migrated_url: str) -> Settings:
    return make_settings(migrated_url)


@pytest.fixture(scope="session")
def is_postgres(settings: Settings) -> bool:
    return settings.database_url.startswith("postgresql")


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    yield application
    await application.state.principal_reader.close()
    await application.state.engine.dispose()


@pytest.fixture
async def db(app: Any) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


@pytest.fixture(autouse=True)
async def _clean_database(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    await application.state.limits_storage.reset()
    async with application.state.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "roles":
                # Built-in roles come from the migration and stay.
                await connection.execute(delete(Role).where(Role.organization_id.is_not(None)))
            else:
                await connection.execute(table.delete())


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 51234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    email = email or unique_email()
    response = await client.post(
        "/auth/register", json={"email": email, "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def user_token(client: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    user = await register(client)
    return user, await login(client, user["email"])


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
