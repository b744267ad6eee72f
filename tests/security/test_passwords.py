"""Password rules and hashing (DESIGN.md §2, §5): pwdlib, bcrypt cost 12 by default,
re-hash on login, argon2id opt-in, and hashing off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.config import Settings
from tenantry.identity.models import User
from tenantry.main import create_app
from tenantry.security.passwords import (
    PasswordHasher,
    WeakPassword,
    check_password_rules,
    common_passwords,
)
from tests.conftest import PASSWORD, TEST_SECRET, bearer, login, register

# 24 three-byte characters: exactly bcrypt's 72-byte limit, but only 24 characters.
EURO_72_BYTES = "€" * 24


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A second app on the same test database, with different hashing settings."""
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application, client=("203.0.113.8", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield application, http
    finally:
        await application.state.engine.dispose()


async def stored_hash(db: AsyncSession, email: str) -> str:
    db.expire_all()
    password_hash = await db.scalar(select(User.password_hash).where(User.email == email))
    assert password_hash is not None
    return password_hash


async def assert_weak_password(
    client: httpx.AsyncClient, db: AsyncSession, *, email: str, password: str, rule: str
) -> None:
    response = await client.post("/auth/register", json={"email": email, "password": password})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "weak_password"
    assert rule in body["detail"]
    assert password not in response.text
    assert await db.scalar(select(User).where(User.email == email)) is None


async def test_seven_character_password_is_weak(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await assert_weak_password(
        client, db, email="seven@example.com", password="Zq9!vW3", rule="at least 8"
    )


async def test_eight_character_password_is_accepted(client: httpx.AsyncClient) -> None:
    await register(client, email="eight@example.com", password="Zq9!vW3x")


async def test_73_byte_password_is_weak(client: httpx.AsyncClient, db: AsyncSession) -> None:
    password = EURO_72_BYTES + "a"
    assert len(password.encode("utf-8")) == 73
    await assert_weak_password(
        client, db, email="long@example.com", password=password, rule="72 bytes"
    )


async def test_common_password_is_weak(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await assert_weak_password(
        client, db, email="common@example.com", password="password123", rule="common"
    )


async def test_common_password_in_other_case_is_weak(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await assert_weak_password(
        client, db, email="common@example.com", password="PassWord123", rule="common"
    )


async def test_password_equal_to_email_local_part_is_weak(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await assert_weak_password(
        client, db, email="marigold.fern@example.com", password="marigold.fern", rule="email"
    )


async def test_password_containing_email_local_part_is_weak(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await assert_weak_password(
        client,
        db,
        email="marigold.fern@example.com",
        password="My-MARIGOLD.FERN-2026",
        rule="email",
    )


@pytest.mark.parametrize(
    "password",
    ["correct\x00horse battery", "\x00" * 12, "correct horse battery\x00"],
    ids=["inside", "only", "trailing"],
)
async def test_password_with_nul_is_weak(
    client: httpx.AsyncClient, db: AsyncSession, password: str
) -> None:
    # bcrypt stops at NUL: "correct\x00anything" would all be one password.
    await assert_weak_password(client, db, email="nul@example.com", password=password, rule="NUL")


@pytest.mark.parametrize("password", [" " * 12, "\t\n \u3000\u00a0" * 3, "\u2003" * 10])
async def test_whitespace_only_password_is_weak(
    client: httpx.AsyncClient, db: AsyncSession, password: str
) -> None:
    await assert_weak_password(
        client, db, email="blank@example.com", password=password, rule="whitespace"
    )


async def test_new_password_with_nul_is_refused_on_change_and_reset(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client, email="changer@example.com")
    token = await login(client, user["email"])
    response = await client.post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "new\x00password!"},
        headers=bearer(token),
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "weak_password"
    assert "NUL" in response.json()["detail"]


async def test_login_with_nul_in_password_is_401(client: httpx.AsyncClient) -> None:
    await register(client, email="nul-login@example.com")
    response = await client.post(
        "/auth/login", json={"email": "nul-login@example.com", "password": PASSWORD + "\x00x"}
    )
    assert response.status_code == 401, response.text


async def test_72_byte_multibyte_password_registers_and_logs_in(
    client: httpx.AsyncClient,
) -> None:
    assert len(EURO_72_BYTES.encode("utf-8")) == 72
    user = await register(client, email="euro@example.com", password=EURO_72_BYTES)
    token = await login(client, "euro@example.com", EURO_72_BYTES)
    response = await client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["id"] == user["id"]
    # Never truncated: one character fewer is a different password.
    wrong = await client.post(
        "/auth/login", json={"email": "euro@example.com", "password": "€" * 23}
    )
    assert wrong.status_code == 401


async def test_password_is_not_trimmed(client: httpx.AsyncClient) -> None:
    await register(client, email="spaces@example.com", password="  spaced out words  ")
    trimmed = await client.post(
        "/auth/login", json={"email": "spaces@example.com", "password": "spaced out words"}
    )
    assert trimmed.status_code == 401
    await login(client, "spaces@example.com", "  spaced out words  ")


def test_password_rules_directly(settings: Settings) -> None:
    check_password_rules(PASSWORD, email="someone@example.com", settings=settings)
    for password in ("short", "qwertyuiop", "someone-else", "x" * 73):
        with pytest.raises(WeakPassword):
            check_password_rules(password, email="someone-else@example.com", settings=settings)
    # A short local part is only refused when equal, not whenever it appears.
    check_password_rules("bob likes long walks", email="bo@example.com", settings=settings)
    with pytest.raises(WeakPassword):
        check_password_rules(
            "Bo",
            email="bo@example.com",
            settings=settings.model_copy(update={"password_min_length": 1}),
        )


def test_common_password_list_is_large_and_loaded_once() -> None:
    passwords = common_passwords()
    assert len(passwords) >= 10_000
    assert "password" in passwords
    assert common_passwords() is passwords
    info = common_passwords.cache_info()
    assert info.misses <= 1
    assert info.currsize == 1


def test_bcrypt_default_cost_is_12(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BCRYPT_ROUNDS", raising=False)
    monkeypatch.delenv("PASSWORD_HASHER", raising=False)
    defaults = Settings(_env_file=None)
    assert defaults.bcrypt_rounds == 12
    assert defaults.password_hasher == "bcrypt"
    hasher = PasswordHasher(defaults.model_copy(update={"secret_key": TEST_SECRET}))
    password_hash = asyncio.run(hasher.hash(PASSWORD))
    assert password_hash.startswith("$2b$12$")


async def test_login_rehashes_when_bcrypt_cost_changes(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await register(client, email="rehash@example.com")
    assert (await stored_hash(db, "rehash@example.com")).startswith("$2b$04$")
    async with app_client(settings.model_copy(update={"bcrypt_rounds": 5})) as (_app, other):
        await login(other, "rehash@example.com")
    upgraded = await stored_hash(db, "rehash@example.com")
    assert upgraded.startswith("$2b$05$")
    # The new hash still opens the door, on the old app too.
    await login(client, "rehash@example.com")


async def test_failed_login_does_not_rehash(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await register(client, email="norehash@example.com")
    before = await stored_hash(db, "norehash@example.com")
    async with app_client(settings.model_copy(update={"bcrypt_rounds": 5})) as (_app, other):
        response = await other.post(
            "/auth/login", json={"email": "norehash@example.com", "password": "wrong password!"}
        )
        assert response.status_code == 401
    assert await stored_hash(db, "norehash@example.com") == before


async def test_argon2_hashes_new_passwords_and_upgrades_bcrypt(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await register(client, email="old-bcrypt@example.com")
    assert (await stored_hash(db, "old-bcrypt@example.com")).startswith("$2b$")
    argon2_settings = settings.model_copy(update={"password_hasher": "argon2"})
    async with app_client(argon2_settings) as (_app, argon2):
        # New accounts get argon2id, and argon2 allows more than bcrypt's 72 bytes.
        long_password = "€" * 100
        await register(argon2, email="new-argon2@example.com", password=long_password)
        assert (await stored_hash(db, "new-argon2@example.com")).startswith("$argon2id$")
        await login(argon2, "new-argon2@example.com", long_password)
        # An old bcrypt hash still verifies, and is upgraded on that login.
        await login(argon2, "old-bcrypt@example.com")
    assert (await stored_hash(db, "old-bcrypt@example.com")).startswith("$argon2id$")
    # Switching back: the argon2 hash still verifies under the bcrypt app.
    await login(client, "new-argon2@example.com", "€" * 100)


async def test_login_hashing_does_not_block_other_requests(settings: Settings) -> None:
    # A cost high enough that one verification takes far longer than a health check.
    slow = settings.model_copy(update={"bcrypt_rounds": 12, "hashing_threads": 1})
    async with app_client(slow) as (_app, http):
        await register(http, email="slow@example.com")
        # Warm up: first requests also compile statements, which is event-loop work.
        await login(http, "slow@example.com")
        assert (await http.get("/healthz")).status_code == 200

        # The server freezes its start-up heap (main.py's lifespan, which this in-process
        # app does not run); without that, one full collection of this test process's
        # heap takes 100-250 ms and reads as a stall the test is not about.
        gc.collect()
        gc.freeze()
        try:
            started = time.perf_counter()
            login_task = asyncio.create_task(
                http.post("/auth/login", json={"email": "slow@example.com", "password": PASSWORD})
            )
            health_done: list[float] = []
            while not login_task.done():
                response = await http.get("/healthz")
                assert response.status_code == 200
                if not login_task.done():
                    health_done.append(time.perf_counter())
                # A health check never waits on anything, so give the login its turns.
                await asyncio.sleep(0.005)
            login_response = await login_task
            finished = time.perf_counter()
        finally:
            gc.unfreeze()

    assert login_response.status_code == 200
    login_duration = finished - started
    # Health checks kept answering while the login hashed: many completed before it, and
    # the event loop never went quiet for most of the login (as it would if bcrypt ran on it).
    assert len(health_done) >= 5, health_done
    gaps = [b - a for a, b in zip([started, *health_done], [*health_done, finished], strict=True)]
    assert max(gaps) < login_duration / 2, (max(gaps), login_duration)


def _thread_niceness() -> dict[int, int]:
    """The `nice` of every thread of this process, by its Linux thread id."""
    niceness = {}
    for stat in Path("/proc/self/task").glob("*/stat"):
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            # Field 19 of /proc/<pid>/task/<tid>/stat, counted after the `(comm)` field.
            niceness[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[16])
    return niceness


async def test_hashing_threads_run_at_the_configured_niceness(settings: Settings) -> None:
    before = _thread_niceness()
    hasher = PasswordHasher(settings.model_copy(update={"hashing_thread_niceness": 7}))
    try:
        await hasher.hash(PASSWORD)
        hashing = {tid: nice for tid, nice in _thread_niceness().items() if tid not in before}
    finally:
        hasher.close()
    assert hashing, "the hash ran in no new thread"
    assert set(hashing.values()) == {7}
    assert _thread_niceness()[threading.get_native_id()] == before[threading.get_native_id()]
