"""Forgot-password hands the token and the mail to a background task with a session of
its own. That task runs before the request's session is closed, so the request gives
its connection back first: under a burst, requests each holding one connection while
waiting for a second starved the pool (found by tests/faults/test_redis_down.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tenantry.identity.models import OneTimeToken
from tenantry.main import create_app
from tests.conftest import make_settings, register


async def test_forgot_password_gives_its_connection_back_before_the_mail_task(
    is_postgres: bool, migrated_url: str, app: Any
) -> None:
    if not is_postgres:
        pytest.skip("SQLite's pool is not sized by these settings; CI runs this on PostgreSQL")
    # One connection, and a short wait for it: holding it would starve the task.
    single = create_app(
        make_settings(migrated_url, database_pool_size=1, database_pool_timeout_seconds=2)
    )
    transport = httpx.ASGITransport(app=single)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            user = await register(http)
            response = await http.post("/auth/password/forgot", json={"email": user["email"]})
            assert response.status_code == 202
        async with single.state.sessionmaker() as db:
            issued = (
                (
                    await db.execute(
                        select(OneTimeToken).where(OneTimeToken.user_id == uuid.UUID(user["id"]))
                    )
                )
                .scalars()
                .all()
            )
        assert len(issued) == 1
    finally:
        await single.state.principal_reader.close()
        await single.state.engine.dispose()
