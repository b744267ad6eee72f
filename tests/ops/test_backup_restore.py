"""Backup and restore as docs/deployment.md tells operators to do it: `pg_dump -Fc` of a
live database, `pg_restore` into a fresh one, the service started on the copy with the
same `SECRET_KEY`. Sessions, refresh tokens, the durable part of lockouts and the audit
trail must behave exactly as before. Redis is not in the dump: the restored service is
given an empty Redis prefix, the worst case (Redis lost along with the database).

PostgreSQL only: SQLite is one file, backed up by copying it with the service stopped."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tenantry.cli import upgrade_database
from tests.conftest import PASSWORD, _postgres_admin_dsn, bearer, make_settings, unique_email
from tests.live import live_server
from tests.ops.conftest import REDIS_URL

LOCKOUT_AFTER = 5
# Both servers, so that the test states its own thresholds: the short lockout and the
# reset-only lock both start at the fifth failure. The reuse interval is 0 so that a
# second use of a refresh token is a replay at once, with no waiting.
SERVER_SETTINGS = {
    "LOGIN_MAX_FAILURES": str(LOCKOUT_AFTER),
    "LOGIN_MAX_CONSECUTIVE_FAILURES": str(LOCKOUT_AFTER),
    "REFRESH_REUSE_INTERVAL_SECONDS": "0",
    "REDIS_URL": REDIS_URL,
}
AUDIT_ROWS = (
    "SELECT id, occurred_at, action, outcome, actor_user_id, organization_id, target_id, "
    "ip, request_id, details::text FROM audit_events ORDER BY id"
)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump, pg_restore and asyncpg take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def fetch(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        connection = await asyncpg.connect(libpq_url(url))
        try:
            return [tuple(row) for row in await connection.fetch(sql, *args)]
        finally:
            await connection.close()

    return asyncio.run(run())


@pytest.fixture
def databases(settings: Any, is_postgres: bool) -> Iterator[tuple[str, str]]:
    """(source, target): the source migrated, the target empty as `createdb -T template0`
    makes it; both created and dropped here."""
    if not is_postgres:
        pytest.skip("pg_dump/pg_restore back up PostgreSQL; CI's PostgreSQL pass runs this")
    for tool in ("pg_dump", "pg_restore"):
        assert shutil.which(tool), f"{tool} is required (apt-get install postgresql-client)"
    admin, name = _postgres_admin_dsn(settings.database_url)
    names = (f"{name}_backup_src", f"{name}_backup_dst")

    async def admin_sql(*statements: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin_sql(*(f'CREATE DATABASE "{db}" TEMPLATE template0' for db in names)))
    try:
        source, target = (
            make_url(settings.database_url).set(database=db).render_as_string(hide_password=False)
            for db in names
        )
        upgrade_database(make_settings(source))
        yield source, target
    finally:
        asyncio.run(admin_sql(*(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)' for db in names)))


def test_a_restored_dump_keeps_sessions_refresh_tokens_lockouts_and_audit(
    databases: tuple[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    source, target = databases
    alice, bob = unique_email("alice"), unique_email("bob")

    with live_server(
        source, tmp_path, REDIS_KEY_PREFIX=f"{redis_prefix}-source", **SERVER_SETTINGS
    ) as url:
        for email in (alice, bob):
            registered = httpx.post(
                f"{url}/auth/register", json={"email": email, "password": PASSWORD}
            )
            assert registered.status_code == 201, registered.text
        grant = httpx.post(
            f"{url}/auth/token",
            data={"grant_type": "password", "username": alice, "password": PASSWORD},
        )
        assert grant.status_code == 200, grant.text
        access = grant.json()["access_token"]
        # Rotated once: the dump holds a session whose counter has moved on.
        rotated = httpx.post(
            f"{url}/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": grant.json()["refresh_token"]},
        )
        assert rotated.status_code == 200, rotated.text
        refresh = rotated.json()["refresh_token"]
        organization = httpx.post(
            f"{url}/organizations", json={"name": "Backed up"}, headers=bearer(access)
        )
        assert organization.status_code == 201
        for _ in range(LOCKOUT_AFTER):
            wrong = httpx.post(f"{url}/auth/login", json={"email": bob, "password": "wrong one"})
            assert wrong.status_code == 401
        locked = httpx.post(f"{url}/auth/login", json={"email": bob, "password": PASSWORD})
        assert locked.status_code == 429

        # Taken while the service runs, as a nightly backup would be.
        audit_before = fetch(source, AUDIT_ROWS)
        dump = tmp_path / "tenantry.dump"
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={libpq_url(source)}"],
            check=True,
        )
        # A refresh after the dump: the restored session has not reached this generation.
        after_dump = httpx.post(
            f"{url}/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
        )
        assert after_dump.status_code == 200
        from_the_future = after_dump.json()["refresh_token"]

    subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={libpq_url(target)}",
            str(dump),
        ],
        check=True,
    )
    assert fetch(target, AUDIT_ROWS) == audit_before, "audit events lost or changed"
    assert {row[2] for row in audit_before} >= {
        "user.registered",
        "auth.login.succeeded",
        "org.created",
        "auth.login.failed",
        "auth.locked",
    }
    assert fetch(target, "SELECT failed_login_count FROM users WHERE email = $1", bob) == [
        (LOCKOUT_AFTER,)
    ]

    # Restored under another SECRET_KEY, every token issued before is dead: access tokens
    # are signed with it and refresh tokens are derived from it.
    with live_server(
        target,
        tmp_path,
        SECRET_KEY="not-the-key-the-tokens-were-made-with-0123456789",
        REDIS_KEY_PREFIX=f"{redis_prefix}-rekeyed",
        **SERVER_SETTINGS,
    ) as url:
        assert httpx.get(f"{url}/users/me", headers=bearer(access)).status_code == 401
        refused = httpx.post(
            f"{url}/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
        )
        assert refused.status_code == 400
    assert fetch(target, AUDIT_ROWS) == audit_before

    # The same SECRET_KEY (live_server's), a Redis prefix with nothing in it.
    with live_server(
        target, tmp_path, REDIS_KEY_PREFIX=f"{redis_prefix}-restored", **SERVER_SETTINGS
    ) as url:
        me = httpx.get(f"{url}/users/me", headers=bearer(access))
        assert me.status_code == 200, "the session did not survive the restore"
        assert me.json()["email"] == alice

        # The durable count reached the reset-only lock: it holds without Redis.
        still_locked = httpx.post(f"{url}/auth/login", json={"email": bob, "password": PASSWORD})
        assert still_locked.status_code == 429
        assert still_locked.json()["code"] == "too_many_attempts"

        # Refused, but not a replay: nothing is revoked, the older token still works.
        ahead = httpx.post(
            f"{url}/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": from_the_future},
        )
        assert ahead.status_code == 400
        renewed = httpx.post(
            f"{url}/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
        )
        assert renewed.status_code == 200, "the refresh token did not survive the restore"
        assert httpx.get(
            f"{url}/users/me", headers=bearer(renewed.json()["access_token"])
        ).is_success

        # Still single use: the token just rotated away is a replay, and revokes the session.
        replay = httpx.post(
            f"{url}/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
        )
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_grant"
        assert httpx.get(f"{url}/users/me", headers=bearer(access)).status_code == 401

    after = fetch(target, AUDIT_ROWS)
    assert after[: len(audit_before)] == audit_before
    assert [row[2] for row in after[len(audit_before) :]].count("auth.refresh.reuse_detected") == 1
