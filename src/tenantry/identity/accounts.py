"""Account flows that go through the user's mailbox: password reset and email
verification, plus the signed-in password change (DESIGN.md §5)."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry import audit
from tenantry.config import Settings
from tenantry.db import release_connection, utcnow
from tenantry.errors import InvalidToken
from tenantry.identity import one_time_tokens as tokens
from tenantry.identity.exceptions import InvalidAccountToken, InvalidCurrentPassword
from tenantry.identity.models import User
from tenantry.identity.one_time_tokens import Purpose
from tenantry.identity.principal import Principal, SignedInUser
from tenantry.identity.sessions import revoke_user_sessions
from tenantry.identity.signin import reserve_password_check, settle_password_failure
from tenantry.identity.users import clear_failed_logins, validate_new_password
from tenantry.mail.mailer import MailSender, OutgoingMail, render_mail
from tenantry.request_context import RequestContext
from tenantry.security.passwords import PasswordHasher
from tenantry.security.ratelimit import LoginLockout

log = structlog.get_logger("tenantry.accounts")

RESET_REQUESTED = "If an active account uses this address, a password reset link is on its way."
VERIFICATION_REQUESTED = "If the address still needs verifying, a verification link is on its way."
SECONDS_PER_HOUR = 3600


def _link(settings: Settings, path: str, token: str) -> str:
    # From configuration only: a forged `Host` header must not redirect the link (§5).
    return f"{settings.frontend_url.rstrip('/')}/{path}?{urlencode({'token': token})}"


def _duration(seconds: int) -> str:
    if seconds % SECONDS_PER_HOUR == 0:
        hours = seconds // SECONDS_PER_HOUR
        return "1 hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, seconds // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def password_reset_mail(*, email: str, token: str, settings: Settings) -> OutgoingMail:
    return render_mail(
        kind="reset_password",
        to=email,
        subject="Reset your Tenantry password",
        values={
            "email": email,
            "link": _link(settings, "reset-password", token),
            "valid_for": _duration(settings.password_reset_ttl_seconds),
        },
    )


def verification_mail(*, email: str, token: str, settings: Settings) -> OutgoingMail:
    return render_mail(
        kind="verify_email",
        to=email,
        subject="Confirm your email address for Tenantry",
        values={
            "email": email,
            "link": _link(settings, "verify-email", token),
            "valid_for": _duration(settings.email_verification_ttl_seconds),
        },
    )


# --- forgot / reset -------------------------------------------------------------------


async def find_reset_recipient(db: AsyncSession, *, email: str) -> uuid.UUID | None:
    """The only work done before forgot-password answers, identical for every address:
    one indexed lookup. Issuing the token, auditing and mailing happen after the
    response (`send_password_reset`), so the answer's timing reveals nothing."""
    result = await db.execute(select(User.id).where(User.email == email, User.is_active.is_(True)))
    return result.scalar_one_or_none()


async def send_password_reset(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    mailer: MailSender,
    user_id: uuid.UUID,
    settings: Settings,
    context: RequestContext,
) -> None:
    """Background task: issue a reset token (superseding older ones), audit, then mail it.

    Runs after the response in its own database session; a failure is logged (never the
    token) because there is no caller left to tell.
    """
    try:
        async with sessionmaker() as db:
            user = await db.get(User, user_id)
            if user is None or not user.is_active:
                return
            token = await tokens.issue(
                db,
                user_id=user.id,
                purpose=Purpose.reset_password,
                ttl_seconds=settings.password_reset_ttl_seconds,
            )
            audit.record_own(
                db,
                "password.reset.requested",
                user_id=user.id,
                context=context,
            )
            await db.commit()
            email = user.email
    except Exception as exc:  # a background task has nobody to raise to
        log.error("password_reset_not_issued", user_id=str(user_id), error=type(exc).__name__)
        return
    await mailer.send(password_reset_mail(email=email, token=token, settings=settings))


async def reset_password(
    db: AsyncSession,
    *,
    token: str,
    new_password: str,
    settings: Settings,
    hasher: PasswordHasher,
    lockout: LoginLockout,
    context: RequestContext,
) -> None:
    """Set a new password from a mailed link and end every session of the account.

    Following the link proves the mailbox, so it also verifies the address and clears
    the consecutive-failure count — a reset always unlocks the account (NIST SP 800-63B).
    """
    row = await tokens.find_usable(db, token=token, purpose=Purpose.reset_password)
    user = await db.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.is_active:
        raise InvalidAccountToken()
    # Checked and hashed before the token is spent: a weak password leaves the link usable.
    validate_new_password(new_password, email=user.email, settings=settings)
    await release_connection(db)
    password_hash = await hasher.hash(new_password)
    if not await tokens.mark_used(db, token_id=row.id):
        raise InvalidAccountToken()
    now = utcnow()
    user.password_hash = password_hash
    user.password_changed_at = now
    user.failed_login_count = 0
    if user.email_verified_at is None:
        user.email_verified_at = now
        audit.record_own(
            db,
            "email.verified",
            user_id=user.id,
            context=context,
            details={"via": "password_reset"},
        )
    revoked = await revoke_user_sessions(db, user_id=user.id, reason="password_reset")
    audit.record_own(
        db,
        "password.reset.completed",
        user_id=user.id,
        context=context,
        details={"sessions_revoked": revoked},
    )
    await db.commit()
    await lockout.reset(user.email)


# --- change ---------------------------------------------------------------------------


async def change_password(
    db: AsyncSession,
    *,
    principal: Principal,
    current_password: str,
    new_password: str,
    settings: Settings,
    hasher: PasswordHasher,
    lockout: LoginLockout,
    context: RequestContext,
) -> None:
    """Replace the password of a signed-in user; every other session ends, this one stays.

    The current password is guessed like a login's: it counts against the same lockout.
    """
    user = await db.get(User, principal.user.id)
    if user is None:
        raise InvalidToken()
    attempt = await reserve_password_check(
        db, email=user.email, user=user, settings=settings, lockout=lockout, context=context
    )
    await release_connection(db)  # no pooled connection held while bcrypt runs
    valid, _ = await hasher.verify(current_password, user.password_hash)
    if not valid:
        audit.record_own(
            db,
            "password.changed",
            user_id=user.id,
            context=context,
            outcome="failure",
            details={"reason": "invalid_current_password"},
        )
        await settle_password_failure(
            db, user=user, email=user.email, attempt=attempt, lockout=lockout, context=context
        )
        raise InvalidCurrentPassword()
    await lockout.succeeded(attempt, email=user.email)
    await clear_failed_logins(db, user.id)
    validate_new_password(new_password, email=user.email, settings=settings)
    user.password_hash = await hasher.hash(new_password)
    user.password_changed_at = utcnow()
    # A reset link mailed earlier must not undo the change the user just made.
    await tokens.invalidate(db, user_id=user.id, purpose=Purpose.reset_password)
    revoked = await revoke_user_sessions(
        db, user_id=user.id, reason="password_changed", keep_session_id=principal.session_id
    )
    audit.record_own(
        db,
        "password.changed",
        user_id=user.id,
        context=context,
        details={"sessions_revoked": revoked},
    )
    await db.commit()


# --- email verification ---------------------------------------------------------------


async def verification_mail_for(
    db: AsyncSession, *, user: User | SignedInUser, settings: Settings
) -> OutgoingMail | None:
    """Issue a verification token (superseding older ones) and return the mail that
    carries it, for the caller to send after the response.

    An address that is already verified gets nothing, and the caller answers the same.
    """
    if user.email_verified_at is not None:
        return None
    token = await tokens.issue(
        db,
        user_id=user.id,
        purpose=Purpose.verify_email,
        ttl_seconds=settings.email_verification_ttl_seconds,
    )
    await db.commit()
    return verification_mail(email=user.email, token=token, settings=settings)


async def verify_email(db: AsyncSession, *, token: str, context: RequestContext) -> None:
    row = await tokens.find_usable(db, token=token, purpose=Purpose.verify_email)
    user = await db.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.is_active:
        raise InvalidAccountToken()
    if not await tokens.mark_used(db, token_id=row.id):
        raise InvalidAccountToken()
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        audit.record_own(
            db,
            "email.verified",
            user_id=user.id,
            context=context,
        )
    await db.commit()
