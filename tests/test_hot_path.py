"""The hot path: `GET /users/me` — the token check every API call pays — issues exactly
one SQL statement (sessions ⋈ users by primary key). Counted, not timed."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event

from tests.conftest import bearer, login, register


async def test_users_me_issues_exactly_one_sql_statement(
    client: httpx.AsyncClient, app: Any
) -> None:
    user = await register(client)
    token = await login(client, user["email"])
    await client.get("/users/me", headers=bearer(token))  # warm caches and the pool
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
    try:
        response = await client.get("/users/me", headers=bearer(token))
    finally:
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)

    assert response.status_code == 200
    assert len(statements) == 1, statements
    assert "FROM sessions JOIN users" in " ".join(statements[0].split())
