"""The hot path: `GET /users/me` — the token check every API call pays — issues exactly
one SQL statement (sessions ⋈ users by primary key). Counted, not timed.

On SQLite the statement goes through the engine; on PostgreSQL through the token
check's own asyncpg pool (identity/principal.py), and the engine must see none."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event

from tenantry.identity.principal import AsyncpgPrincipalReader
from tenantry.main import create_app
from tests.conftest import bearer, login, make_settings, register


def _one_principal_query(statements: list[str]) -> None:
    assert len(statements) == 1, statements
    assert "FROM sessions JOIN users" in " ".join(statements[0].split())


async def test_users_me_issues_exactly_one_sql_statement(migrated_url: str) -> None:
    # One connection in the token check's pool, so the test can watch all of it.
    app = create_app(make_settings(migrated_url, database_auth_pool_size=1))
    transport = httpx.ASGITransport(app=app)
    engine_statements: list[str] = []
    reader_statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        engine_statements.append(statement)

    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            user = await register(http)
            token = await login(http, user["email"])
            await http.get("/users/me", headers=bearer(token))  # warm caches and pools
            reader = app.state.principal_reader
            if isinstance(reader, AsyncpgPrincipalReader):
                assert reader.pool is not None
                async with reader.pool.acquire() as connection:
                    connection.add_query_logger(
                        lambda record: reader_statements.append(record.query)
                    )
            event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
            try:
                response = await http.get("/users/me", headers=bearer(token))
            finally:
                event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
    finally:
        await app.state.principal_reader.close()
        await app.state.engine.dispose()

    assert response.status_code == 200
    if isinstance(reader, AsyncpgPrincipalReader):
        assert engine_statements == []
        _one_principal_query(reader_statements)
    else:
        _one_principal_query(engine_statements)
