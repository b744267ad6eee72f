"""One-time tokens for mail links (DESIGN.md §3, §4): 256 random bits, single use,
bound to a purpose, short-lived; only the SHA-256 digest is stored, so a copy of the
database cannot be turned into working links."""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db import utcnow
from tenantry.identity.models import OneTimeToken
from tenantry.security.tokens import digest, new_opaque_token


class Purpose(StrEnum):
    verify_email = "verify_email"
    reset_password = "reset_password"


async def invalidate(db: AsyncSession, *, user_id: uuid.UUID, purpose: Purpose) -> None:
    """Mark every unused token of this purpose as used: only the newest link may work."""
    await db.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == purpose.value,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def issue(db: AsyncSession, *, user_id: uuid.UUID, purpose: Purpose, ttl_seconds: int) -> str:
    """Create a token that supersedes the user's earlier ones; returns it in the clear.

    The caller commits; the clear token goes into the mail and nowhere else.
    """
    token, token_hash = new_opaque_token()
    await invalidate(db, user_id=user_id, purpose=purpose)
    db.add(
        OneTimeToken(
            user_id=user_id,
            purpose=purpose.value,
            token_hash=token_hash,
            expires_at=utcnow() + timedelta(seconds=ttl_seconds),
        )
    )
    return token


async def find_usable(db: AsyncSession, *, token: str, purpose: Purpose) -> OneTimeToken | None:
    """The live token of this purpose, or None when unknown, used, expired or for another use."""
    row = (
        await db.execute(select(OneTimeToken).where(OneTimeToken.token_hash == digest(token)))
    ).scalar_one_or_none()
    if (
        row is None
        or row.purpose != purpose.value
        or row.used_at is not None
        or row.expires_at <= utcnow()
    ):
        return None
    return row


async def mark_used(db: AsyncSession, *, token_id: uuid.UUID) -> bool:
    """Spend the token; False when a concurrent request spent it first.

    The conditional UPDATE is the single point of truth: of two requests racing with the
    same link, the database lets exactly one change the row.
    """
    now = utcnow()
    result = await db.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.id == token_id,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1
