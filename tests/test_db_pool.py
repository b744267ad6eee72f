"""Pooled PostgreSQL connections cut by the server (a restart, a firewall) are replaced
before use: the engine pings an idle connection at checkout (db._ping_idle_connections),
and the token check retries once on a fresh connection (identity/principal.py)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from tenantry.main import create_app
from tests.conftest import bearer, login, make_settings, register

_TOKEN_CHECK_BACKENDS = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'tenantry-auth'
"""


async def test_pooled_connections_killed_by_the_server_are_replaced(
    is_postgres: bool, migrated_url: str, app: Any
) -> None:
    if not is_postgres:
        pytest.skip("SQLite has no server to cut connections; CI runs this on PostgreSQL")
    dsn = migrated_url.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(dsn)
    others = {row["pid"] for row in await admin.fetch(_TOKEN_CHECK_BACKENDS)}
    pooled = create_app(make_settings(migrated_url, database_ping_idle_seconds=0))
    transport = httpx.ASGITransport(app=pooled)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            user = await register(http)
            token = await login(http, user["email"])
            assert (await http.get("/users/me", headers=bearer(token))).status_code == 200
            async with pooled.state.engine.connect() as connection:
                pids = {(await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()}
            token_check = {row["pid"] for row in await admin.fetch(_TOKEN_CHECK_BACKENDS)}
            pids |= token_check - others  # this app's, not the shared test app's
            assert len(pids) >= 2
            for pid in pids:
                await admin.execute("SELECT pg_terminate_backend($1)", pid)

            # The token check, then a write through the engine, on replaced connections.
            me = await http.get("/users/me", headers=bearer(token))
            renamed = await http.patch(
                "/users/me", headers=bearer(token), json={"full_name": "Still Here"}
            )

        assert me.status_code == 200, me.text
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["full_name"] == "Still Here"
    finally:
        await admin.close()
        await pooled.state.principal_reader.close()
        await pooled.state.engine.dispose()
