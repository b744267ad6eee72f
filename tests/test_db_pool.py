"""Pooled PostgreSQL connections cut by the server (a restart, a firewall) are replaced
before use: an idle connection is pinged at checkout (see db._ping_idle_connections)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from tenantry.main import create_app
from tests.conftest import bearer, login, make_settings, register


async def test_a_pooled_connection_killed_by_the_server_is_replaced(
    is_postgres: bool, migrated_url: str, app: Any
) -> None:
    if not is_postgres:
        pytest.skip("SQLite has no server to cut connections; CI runs this on PostgreSQL")
    pooled = create_app(make_settings(migrated_url, database_ping_idle_seconds=0))
    transport = httpx.ASGITransport(app=pooled)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            user = await register(http)
            token = await login(http, user["email"])
            async with pooled.state.engine.connect() as connection:
                pids = {(await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()}
            dsn = migrated_url.replace("postgresql+asyncpg://", "postgresql://")
            admin = await asyncpg.connect(dsn)
            try:
                for pid in pids:
                    await admin.execute("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()

            response = await http.get("/users/me", headers=bearer(token))

        assert response.status_code == 200
    finally:
        await pooled.state.engine.dispose()
