"""Checking a password and opening a session (DESIGN.md §4): the lockout and the
per-account counters are settled here, shared by the browser login and the OAuth
password grant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.config import Settings
from tenantry.db import release_connection, utcnow
from tenantry.errors import InvalidToken
from tenantry.identity import mfa, users
from tenantry.identity.exceptions import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidCurrentPassword,
)
from tenantry.identity.models import Session, User
from tenantry.identity.sessions import signed_in_from, start_session
from tenantry.observability import metrics
from tenantry.request_context import RequestContext
from tenantry.security.jwt import ACR_MFA, ACR_PASSWORD
from tenantry.security.passwords import PasswordHasher
from tenantry.security.ratelimit import Attempt, LoginLockout


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    session: Session
    used_recovery_code: bool = False


async def reserve_password_check(
    db: AsyncSession,
    *,
    email: str,
    user: User | None,
    settings: Settings,
    lockout: LoginLockout,
    context: RequestContext,
) -> Attempt:
    """Count a password check before it runs, or raise `TooManyAttempts`.

    Login, the password grant and every route that checks a current password share
    these counters. Guesses from a stranger count against the email; guesses from an
    address the account has signed in from before count against that address alone,
    so a stranger's burst cannot lock the owner out (docs/security.md).
    """
    ip = context.ip
    # Asked for unknown emails too, so both take the same queries.
    known = ip is not None and await signed_in_from(db, email=email, ip=ip, settings=settings)
    if known and ip and user:
        generation = user.password_changed_at.isoformat()
        return await lockout.reserve(lockout.source_subject(email, ip, generation))
    return await lockout.reserve(
        lockout.email_subject(email),
        stored_consecutive=user.failed_login_count if user else 0,
    )


async def settle_password_failure(
    db: AsyncSession,
    *,
    user: User | None,
    email: str,
    attempt: Attempt,
    lockout: LoginLockout,
    context: RequestContext,
) -> None:
    """Keep a wrong password counted, audit it (and the lockout it starts), and commit."""
    user_id = user.id if user is not None else None
    consecutive = await users.count_failed_login(db, user_id) if user_id is not None else None
    locked_for = await lockout.failed(attempt)
    locks: list[dict[str, object]] = []
    if locked_for is not None:
        metrics.LOCKOUTS.inc()
        locks.append({"email": email, "seconds": locked_for})
    if consecutive == lockout.policy.max_consecutive_failures:
        locks.append({"email": email, "reset_required": True})
    for details in locks:
        audit.record_own(
            db,
            "auth.locked",
            user_id=user_id,
            context=context,
            outcome="failure",
            details=details,
        )
    await db.commit()


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
    attempt = await reserve_password_check(
        db, email=email, user=user, settings=settings, lockout=lockout, context=context
    )
    await release_connection(db)
    valid, new_hash = await hasher.verify(password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
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
        await settle_password_failure(
            db, user=user, email=email, attempt=attempt, lockout=lockout, context=context
        )
        raise InvalidCredentials()
    # Asked only now: nothing about factors is revealed before the password is right.
    factors = await mfa.challenge_kinds(db, user.id)
    if factors:
        # Proven, but the sign-in is not complete: neither a failure nor a success, so
        # the failure counts stay as they were (DESIGN.md §10).
        await lockout.release(attempt)
    else:
        # The password is proven either way: the reserved slot is not a failure.
        await lockout.succeeded(attempt, email=email)
    if settings.email_verification_required and user.email_verified_at is None:
        metrics.LOGINS.labels("email_not_verified").inc()
        raise EmailNotVerified("Verify your email address before signing in.")
    if new_hash is not None:
        user.password_hash = new_hash
    if factors:
        token = await mfa.start_challenge(db, user_id=user.id, settings=settings, context=context)
        await db.commit()
        metrics.LOGINS.labels("mfa_required").inc()
        raise mfa.MfaRequired(mfa_token=token, factors=factors)
    await users.clear_failed_logins(db, user.id)
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
    return SignedIn(user=user, session=session)


async def complete_challenge(
    db: AsyncSession,
    *,
    mfa_token: str,
    code: str | None,
    recovery_code: str | None,
    settings: Settings,
    lockout: LoginLockout,
    keys: mfa.MfaKeys,
    context: RequestContext,
) -> SignedIn:
    """The second step of a sign-in: a right code opens the session and resets the
    failure counts; a wrong one uses a try of the challenge and counts toward the
    per-email lockout like a wrong password (DESIGN.md §6, §10)."""
    challenge = await mfa.pending_challenge(db, token=mfa_token, context=context)
    user = await db.get(User, challenge.user_id)
    if user is None or not user.is_active:
        raise mfa.InvalidMfaToken()
    attempt = await reserve_password_check(
        db, email=user.email, user=user, settings=settings, lockout=lockout, context=context
    )
    try:
        amr = await mfa.answer_challenge(
            db,
            challenge=challenge,
            code=code,
            recovery_code=recovery_code,
            keys=keys,
            context=context,
        )
    except mfa.InvalidMfaToken:
        await lockout.release(attempt)
        raise
    if amr is None:
        audit.record_own(
            db, "mfa.challenge.failed", user_id=user.id, context=context, outcome="failure"
        )
        metrics.LOGINS.labels("invalid_mfa_code").inc()
        await settle_password_failure(
            db, user=user, email=user.email, attempt=attempt, lockout=lockout, context=context
        )
        raise mfa.InvalidChallengeCode()
    await lockout.succeeded(attempt, email=user.email)
    await users.clear_failed_logins(db, user.id)
    session = start_session(db, user_id=user.id, settings=settings, context=context, amr=amr)
    await db.flush()
    audit.record_own(
        db,
        "mfa.challenge.succeeded",
        user_id=user.id,
        context=context,
        details={"amr": amr},
    )
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
    return SignedIn(user=user, session=session, used_recovery_code=recovery_code is not None)


async def reauthenticate(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    password: str | None,
    code: str | None,
    recovery_code: str | None,
    settings: Settings,
    hasher: PasswordHasher,
    lockout: LoginLockout,
    keys: mfa.MfaKeys,
    context: RequestContext,
) -> SignedIn:
    """Prove the user again for step-up (DESIGN.md §10): the session gets a new
    `auth_time` and keeps its methods in `amr`, a second factor adding `otp` and `mfa`.
    A wrong password or code counts toward the lockout like a login's."""
    user = await db.get(User, user_id)
    session = await db.get(Session, session_id)
    if user is None or session is None or session.user_id != user_id:
        raise InvalidToken()
    attempt = await reserve_password_check(
        db, email=user.email, user=user, settings=settings, lockout=lockout, context=context
    )
    if password is not None:
        await release_connection(db)  # no pooled connection held while the hash runs
        valid, _ = await hasher.verify(password, user.password_hash)
        methods = ["pwd"]
    else:
        valid = await mfa.prove_second_factor(
            db, user_id=user.id, code=code, recovery_code=recovery_code, keys=keys, context=context
        )
        methods = ["otp", "mfa"]
    if not valid:
        audit.record_own(
            db,
            "auth.reauthenticated",
            user_id=user.id,
            context=context,
            outcome="failure",
            details={"method": methods[0]},
        )
        await settle_password_failure(
            db, user=user, email=user.email, attempt=attempt, lockout=lockout, context=context
        )
        raise InvalidCurrentPassword() if password is not None else mfa.InvalidMfaCode()
    await lockout.succeeded(attempt, email=user.email)
    await users.clear_failed_logins(db, user.id)
    amr = list(dict.fromkeys([*(session.amr or ["pwd"]), *methods]))
    session.auth_time = utcnow()
    session.amr = amr
    session.acr = ACR_MFA if "mfa" in amr else ACR_PASSWORD
    audit.record_own(
        db, "auth.reauthenticated", user_id=user.id, context=context, details={"amr": amr}
    )
    await db.commit()
    return SignedIn(user=user, session=session, used_recovery_code=recovery_code is not None)


async def owns_live_session(db: AsyncSession, *, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    session = await db.get(Session, session_id)
    return session is not None and session.user_id == user_id and session.revoked_at is None
