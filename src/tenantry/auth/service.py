from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.auth.exceptions import EmailNotVerified, InvalidCredentials
from tenantry.auth.models import Session
from tenantry.auth.sessions import start_session
from tenantry.config import Settings
from tenantry.db import release_connection
from tenantry.observability import metrics
from tenantry.request_context import RequestContext
from tenantry.security.passwords import PasswordHasher
from tenantry.security.ratelimit import LoginLockout, TooManyAttempts
from tenantry.users import service as users
from tenantry.users.models import User


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    session: Session


async def authenticate(
    db: AsyncSession,
    *,
    email: str,
    password: str,
    settings: Settings,
    hasher: PasswordHasher,
    lockout: LoginLockout,
    context: RequestContext,
) -> SignedIn:
    """Check the credentials and open a session.

    Unknown emails, wrong passwords and deactivated accounts fail identically and take
    the same time (the unknown email is verified against a dummy hash), and lock out
    identically: failures are counted per email, registered or not. While an email is
    locked even the right password is refused.
    """
    user = await users.get_by_email(db, email)
    retry_after = await lockout.retry_after(
        email, stored_consecutive=user.failed_login_count if user else 0
    )
    if retry_after is not None:
        metrics.LOGINS.labels("locked").inc()
        raise TooManyAttempts(
            retry_after=retry_after,
            limit=lockout.policy.max_failures,
            detail=f"Too many failed sign-ins; try again in {retry_after} seconds.",
        )
    await release_connection(db)
    valid, new_hash = await hasher.verify(password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        await _record_failure(db, user=user, email=email, lockout=lockout, context=context)
        raise InvalidCredentials()
    if settings.email_verification_required and user.email_verified_at is None:
        metrics.LOGINS.labels("email_not_verified").inc()
        raise EmailNotVerified("Verify your email address before signing in.")
    if new_hash is not None:
        user.password_hash = new_hash
    user.failed_login_count = 0
    session = start_session(db, user_id=user.id, settings=settings, context=context)
    await db.flush()
    audit.record(
        db,
        action="auth.login.succeeded",
        context=context,
        actor_user_id=user.id,
        target_type="session",
        target_id=session.id,
    )
    await db.commit()
    metrics.LOGINS.labels("success").inc()
    await lockout.reset(email)
    return SignedIn(user=user, session=session)


async def _record_failure(
    db: AsyncSession,
    *,
    user: User | None,
    email: str,
    lockout: LoginLockout,
    context: RequestContext,
) -> None:
    if user is not None:
        user.failed_login_count += 1
    audit.record(
        db,
        action="auth.login.failed",
        outcome="failure",
        context=context,
        actor_user_id=user.id if user else None,
        target_type="user",
        target_id=user.id if user else None,
        details={"email": email},
    )
    metrics.LOGINS.labels("invalid_credentials").inc()
    locked_for = await lockout.record_failure(email)
    if locked_for is not None:
        metrics.LOCKOUTS.inc()
        audit.record(
            db,
            action="auth.locked",
            outcome="failure",
            context=context,
            actor_user_id=user.id if user else None,
            target_type="user",
            target_id=user.id if user else None,
            details={"email": email, "seconds": locked_for},
        )
    await db.commit()


async def owns_live_session(db: AsyncSession, *, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    session = await db.get(Session, session_id)
    return session is not None and session.user_id == user_id and session.revoked_at is None
