"""The migrations are the schema (DESIGN.md §2): upgrading an empty database gives exactly
the models, downgrading to base removes every table, and the built-in roles are seeded.

Runs on the configured test database's engine (SQLite, or PostgreSQL when
`TEST_DATABASE_URL` names one), in a database of its own."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command as alembic_command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, make_url, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from tenantry.cli import upgrade_database
from tenantry.migrations import alembic_config
from tenantry.models import Base, Role
from tenantry.organizations.permissions import BUILTIN_ROLES
from tests.conftest import make_settings


def _admin_dsn(url: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql", database="postgres")
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on the same server as the test database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    if not database_url.startswith("postgresql"):
        pytest.fail(f"the migration test does not know how to make a database for {database_url}")
    parsed = make_url(database_url)
    name = f"{parsed.database}_mig"
    assert re.fullmatch(r"[a-z0-9_]+", name), name
    admin = _admin_dsn(database_url)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _inspect(url: str, look: Any) -> Any:
    async def run() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def schema_drift(url: str) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    result: list[Any] = _inspect(url, compare)
    return result


def table_names(url: str) -> set[str]:
    names: set[str] = _inspect(url, lambda connection: set(inspect(connection).get_table_names()))
    return names


def current_revision(url: str) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    revision: str | None = _inspect(url, read)
    return revision


def test_upgrade_to_head_matches_the_models(empty_database_url: str) -> None:
    assert table_names(empty_database_url) == set()
    upgrade_database(make_settings(empty_database_url))
    head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
    assert current_revision(empty_database_url) == head
    assert schema_drift(empty_database_url) == []
    assert table_names(empty_database_url) == set(Base.metadata.tables) | {"alembic_version"}


def test_downgrade_to_base_removes_every_table_and_upgrade_works_again(
    empty_database_url: str,
) -> None:
    upgrade_database(make_settings(empty_database_url))
    alembic_command.downgrade(alembic_config(empty_database_url), "base")
    assert table_names(empty_database_url) - {"alembic_version"} == set()
    assert current_revision(empty_database_url) is None

    upgrade_database(make_settings(empty_database_url))
    assert schema_drift(empty_database_url) == []
    # Upgrading an up-to-date database is a no-op.
    upgrade_database(make_settings(empty_database_url))
    assert schema_drift(empty_database_url) == []


def test_drift_check_detects_a_difference(empty_database_url: str) -> None:
    # The check above can fail: a database one table short is reported.
    upgrade_database(make_settings(empty_database_url))

    def drop_a_table(connection: Connection) -> None:
        Base.metadata.tables["audit_events"].drop(connection)
        connection.commit()

    _inspect(empty_database_url, drop_a_table)
    drift = schema_drift(empty_database_url)
    assert any(entry[0] == "add_table" and entry[1].name == "audit_events" for entry in drift)


async def test_built_in_roles_are_seeded(db: AsyncSession) -> None:
    roles = (await db.scalars(select(Role).where(Role.organization_id.is_(None)))).all()
    assert {role.name for role in roles} == {"owner", "admin", "member", "viewer"}
    for role in roles:
        role_id, _description, permissions = BUILTIN_ROLES[role.name]
        assert role.id == role_id
        assert set(role.permissions) == {str(permission) for permission in permissions}
    by_name = {role.name: set(role.permissions) for role in roles}
    assert "org:delete" in by_name["owner"]
    assert "org:delete" not in by_name["admin"]
    assert by_name["viewer"] == {"org:read", "members:read", "products:read"}
    assert by_name["member"] == by_name["viewer"] | {"products:write"}
