"""`PasswordHasher` and the password rules called directly, for the branches the HTTP
tests in tests/security/test_passwords.py reach only indirectly or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tenantry.config import Settings
from tenantry.security.passwords import (
    ARGON2_MAX_CHARS,
    PasswordHasher,
    WeakPassword,
    check_password_rules,
)
from tests.conftest import make_settings

PASSWORD = "correct horse battery staple"
BCRYPT = make_settings("sqlite+aiosqlite://", bcrypt_rounds=4, hashing_threads=1)
ARGON2 = BCRYPT.model_copy(update={"password_hasher": "argon2"})


@pytest.fixture
async def hashers() -> AsyncIterator[tuple[PasswordHasher, PasswordHasher]]:
    bcrypt, argon2 = PasswordHasher(BCRYPT), PasswordHasher(ARGON2)
    yield bcrypt, argon2
    bcrypt.close()
    argon2.close()


async def test_an_account_without_a_password_never_verifies(
    hashers: tuple[PasswordHasher, PasswordHasher],
) -> None:
    bcrypt, _argon2 = hashers
    assert await bcrypt.verify(PASSWORD, None) == (False, None)
    assert await bcrypt.verify("", None) == (False, None)


async def test_a_wrong_password_is_refused_and_nothing_is_rehashed(
    hashers: tuple[PasswordHasher, PasswordHasher],
) -> None:
    bcrypt, _argon2 = hashers
    stored = await bcrypt.hash(PASSWORD)
    assert await bcrypt.verify(PASSWORD, stored) == (True, None)
    assert await bcrypt.verify(PASSWORD + " ", stored) == (False, None)
    assert await bcrypt.verify(PASSWORD.upper(), stored) == (False, None)


async def test_a_password_longer_than_bcrypt_allows_is_refused_without_raising(
    hashers: tuple[PasswordHasher, PasswordHasher],
) -> None:
    # bcrypt ignores bytes past 72; a password that only matches in its first 72
    # bytes must not verify, and the library's refusal must not become a 500.
    bcrypt, _argon2 = hashers
    stored = await bcrypt.hash("x" * 72)
    assert await bcrypt.verify("x" * 72 + "anything", stored) == (False, None)
    # An unknown email costs the same dummy check, which must not raise either.
    assert await bcrypt.verify("x" * 72 + "anything", None) == (False, None)


async def test_an_argon2_hash_too_long_for_bcrypt_is_kept_after_switching_to_bcrypt(
    hashers: tuple[PasswordHasher, PasswordHasher],
) -> None:
    bcrypt, argon2 = hashers
    long_password = "€" * 100  # 300 bytes
    stored = await argon2.hash(long_password)
    assert await bcrypt.verify(long_password, stored) == (True, None)


async def test_a_bcrypt_hash_is_upgraded_on_a_right_password_under_argon2(
    hashers: tuple[PasswordHasher, PasswordHasher],
) -> None:
    bcrypt, argon2 = hashers
    valid, upgraded = await argon2.verify(PASSWORD, await bcrypt.hash(PASSWORD))
    assert valid
    assert upgraded is not None
    assert upgraded.startswith("$argon2id$")
    assert await argon2.verify(PASSWORD, upgraded) == (True, None)


@pytest.mark.parametrize(
    ("settings", "longest"),
    [(BCRYPT, "é" * 36), (ARGON2, "x" * ARGON2_MAX_CHARS)],
    ids=["bcrypt-72-bytes", "argon2-1024-chars"],
)
def test_the_longest_allowed_password_passes_and_one_more_is_weak(
    settings: Settings, longest: str
) -> None:
    check_password_rules(longest, email="o@example.com", settings=settings)
    with pytest.raises(WeakPassword, match="at most"):
        check_password_rules(longest + "x", email="o@example.com", settings=settings)


def test_a_password_that_is_the_email_name_in_other_case_is_weak() -> None:
    with pytest.raises(WeakPassword, match="email"):
        check_password_rules("Jean.Dupont", email="jean.dupont@example.com", settings=BCRYPT)
    with pytest.raises(WeakPassword, match="email"):
        check_password_rules(
            "my JEAN.DUPONT 2024", email="jean.dupont@example.com", settings=BCRYPT
        )


def test_a_common_password_padded_with_spaces_is_weak() -> None:
    with pytest.raises(WeakPassword, match="common"):
        check_password_rules("  Password123  ", email="someone@example.com", settings=BCRYPT)
