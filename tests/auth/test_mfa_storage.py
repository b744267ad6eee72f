"""The MFA tables of DESIGN.md §10 on the test database (SQLite, or PostgreSQL when
`TEST_DATABASE_URL` names one): a TOTP factor's sealed secret comes back from the
database and opens only for its own row, a passkey's credential and unsigned 32-bit
sign counter round-trip, and a user's factors, recovery codes and challenges go
with the user.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.db import uuid7
from tenantry.models import MfaChallenge, MfaFactor, RecoveryCode, User
from tenantry.security import recovery_codes, totp
from tenantry.security.secretbox import SecretBox, SecretBoxError
from tenantry.security.tokens import new_opaque_token
from tests.conftest import TEST_SECRET

BOX = SecretBox.from_secret(TEST_SECRET.encode())


def _associated(factor_id: uuid.UUID) -> bytes:
    return b"mfa_factors:" + factor_id.bytes


async def _user(db: AsyncSession) -> User:
    user = User(email=f"mfa-{uuid.uuid4().hex[:8]}@example.com", password_hash="!not-a-hash")
    db.add(user)
    await db.commit()
    return user


def _sessionmaker(app: Any) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


async def test_a_totp_factors_sealed_secret_round_trips_through_the_database(
    app: Any, db: AsyncSession
) -> None:
    user = await _user(db)
    secret = totp.new_secret()
    factor_id = uuid7()
    db.add(
        MfaFactor(
            id=factor_id,
            user_id=user.id,
            kind="totp",
            name="Phone",
            secret_sealed=BOX.seal(secret.encode(), associated=_associated(factor_id)),
        )
    )
    await db.commit()

    async with _sessionmaker(app)() as fresh:
        factor = (await fresh.scalars(select(MfaFactor).where(MfaFactor.id == factor_id))).one()
        assert factor.secret_sealed is not None
        assert secret not in factor.secret_sealed
        assert BOX.open(factor.secret_sealed, associated=_associated(factor.id)).decode() == secret
        # Defaults of a fresh factor: not confirmed, never used, no step accepted yet.
        assert factor.confirmed_at is None
        assert factor.last_used_at is None
        assert factor.last_step is None
        assert factor.credential_id is None
        assert factor.sign_count == 0
        assert factor.transports == []
        assert factor.created_at.tzinfo is not None

        # The secret opens to a working TOTP secret, and the accepted step is kept.
        now = datetime.now(UTC)
        step = totp.accepted_step(
            secret, totp.code_at(secret, totp.time_step(now)), now=now, last_step=factor.last_step
        )
        assert step == totp.time_step(now)
        factor.last_step = step
        factor.confirmed_at = now
        await fresh.commit()

    async with _sessionmaker(app)() as again:
        factor = (await again.scalars(select(MfaFactor).where(MfaFactor.id == factor_id))).one()
        assert factor.last_step == step
        assert factor.confirmed_at is not None


async def test_a_sealed_secret_copied_to_another_factor_does_not_open_there(
    app: Any, db: AsyncSession
) -> None:
    user = await _user(db)
    first, second = uuid7(), uuid7()
    sealed = BOX.seal(totp.new_secret().encode(), associated=_associated(first))
    for factor_id in (first, second):
        db.add(
            MfaFactor(id=factor_id, user_id=user.id, kind="totp", name="x", secret_sealed=sealed)
        )
    await db.commit()

    async with _sessionmaker(app)() as fresh:
        copied = (await fresh.scalars(select(MfaFactor).where(MfaFactor.id == second))).one()
        assert copied.secret_sealed == sealed
        with pytest.raises(SecretBoxError):
            BOX.open(sealed, associated=_associated(copied.id))


async def test_a_passkeys_credential_and_largest_sign_count_round_trip(
    app: Any, db: AsyncSession
) -> None:
    user = await _user(db)
    credential_id = bytes(range(256)) * 3  # binary, 768 bytes (the spec allows 1023)
    factor = MfaFactor(
        user_id=user.id,
        kind="webauthn",
        name="YubiKey",
        credential_id=credential_id,
        public_key=b"\xa5\x01\x02\x03\x26" + bytes(64),
        sign_count=2**32 - 1,  # the counter is unsigned 32-bit: beyond a signed INTEGER
        backup_eligible=True,
        backup_state=True,
        transports=["usb", "nfc"],
    )
    db.add(factor)
    await db.commit()

    async with _sessionmaker(app)() as fresh:
        loaded = (
            await fresh.scalars(select(MfaFactor).where(MfaFactor.credential_id == credential_id))
        ).one()
        assert loaded.id == factor.id
        assert loaded.secret_sealed is None
        assert loaded.public_key == b"\xa5\x01\x02\x03\x26" + bytes(64)
        assert loaded.sign_count == 2**32 - 1
        assert (loaded.backup_eligible, loaded.backup_state) == (True, True)
        assert loaded.transports == ["usb", "nfc"]


async def test_a_credential_id_belongs_to_one_factor(db: AsyncSession) -> None:
    user = await _user(db)
    for name in ("first", "second"):
        db.add(MfaFactor(user_id=user.id, kind="webauthn", name=name, credential_id=b"same-id"))
    with pytest.raises(IntegrityError):
        await db.commit()
    await db.rollback()


async def test_recovery_codes_are_stored_as_unique_keyed_hashes(db: AsyncSession) -> None:
    user = await _user(db)
    key = recovery_codes.key_from_secret(TEST_SECRET.encode())
    codes = recovery_codes.generate()
    db.add_all(
        RecoveryCode(user_id=user.id, code_hash=recovery_codes.digest(code, key)) for code in codes
    )
    await db.commit()

    typed = codes[3].upper().replace("-", " ")
    found = (
        await db.scalars(
            select(RecoveryCode).where(
                RecoveryCode.code_hash == recovery_codes.digest(typed, key),
                RecoveryCode.used_at.is_(None),
            )
        )
    ).one()
    assert found.user_id == user.id

    db.add(RecoveryCode(user_id=user.id, code_hash=recovery_codes.digest(codes[0], key)))
    with pytest.raises(IntegrityError):
        await db.commit()
    await db.rollback()


async def test_a_users_factors_codes_and_challenges_are_deleted_with_the_user(
    db: AsyncSession,
) -> None:
    user, other = await _user(db), await _user(db)
    key = recovery_codes.key_from_secret(TEST_SECRET.encode())
    for owner in (user, other):
        _token, token_hash = new_opaque_token()
        db.add_all(
            [
                MfaFactor(user_id=owner.id, kind="totp", name="Phone", secret_sealed="v1.x.y.z"),
                RecoveryCode(
                    user_id=owner.id,
                    code_hash=recovery_codes.digest(recovery_codes.generate(1)[0], key),
                ),
                MfaChallenge(
                    user_id=owner.id,
                    token_hash=token_hash,
                    ip="203.0.113.7",
                    expires_at=datetime.now(UTC) + timedelta(minutes=5),
                    tries_left=5,
                    amr=["pwd"],
                ),
            ]
        )
    await db.commit()

    await db.execute(delete(User).where(User.id == user.id))
    await db.commit()

    for owner_column in (MfaFactor.user_id, RecoveryCode.user_id, MfaChallenge.user_id):
        owners = (await db.scalars(select(owner_column))).all()
        assert owners == [other.id], owner_column
    challenge = (await db.scalars(select(MfaChallenge))).one()
    assert challenge.amr == ["pwd"]
    assert challenge.used_at is None
    assert await db.scalar(select(func.count()).select_from(MfaChallenge)) == 1
