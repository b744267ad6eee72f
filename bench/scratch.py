"""A scratch PostgreSQL database for one benchmark run: created, migrated, dropped."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from tenantry.cli import upgrade_database
from tenantry.config import Settings

DEFAULT_SERVER = os.environ.get("BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")


def asyncpg_dsn(url: str) -> str:
    """The same database as a SQLAlchemy URL, in the form asyncpg itself accepts."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a new, migrated database on `server_url`; drop it
    afterwards, whatever happened (connections still open are closed by force)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    server_url = server_url.rstrip("/")
    admin = asyncpg_dsn(server_url) + "/postgres"

    async def admin_sql(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        database_url = f"{server_url}/{name}"
        upgrade_database(Settings(_env_file=None, database_url=database_url))
        yield database_url
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
