"""Password reset, password change and email verification (DESIGN.md §5)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, status

from tenantry.db import DbSession, release_connection
from tenantry.dependencies import AppSettings, Hasher, Limits, Lockout, Mailer
from tenantry.identity import accounts as service
from tenantry.identity.dependencies import CurrentPrincipal, CurrentUser, SessionFactory
from tenantry.identity.schemas import (
    ChangePasswordRequest,
    ForgotPasswordRequest,
    MailAccepted,
    ResetPasswordRequest,
    VerifyEmailRequest,
)
from tenantry.openapi import problems
from tenantry.request_context import Context

router = APIRouter(prefix="/auth", tags=["accounts"])


@router.post("/password/forgot", status_code=status.HTTP_202_ACCEPTED, responses=problems(422, 429))
async def forgot_password(
    body: ForgotPasswordRequest,
    db: DbSession,
    settings: AppSettings,
    mailer: Mailer,
    sessionmaker: SessionFactory,
    context: Context,
    background: BackgroundTasks,
    limits: Limits,
) -> MailAccepted:
    """Mail a single-use reset link. The answer is the same, in the same time, for every
    address: whether an account exists is never revealed."""
    await limits.hit("mail-ip", context.ip)
    await limits.hit_email("mail-email", body.email)
    user_id = await service.find_reset_recipient(db, email=body.email)
    # The task runs before this request's session is closed and needs a connection of
    # its own: holding this one meanwhile starved the pool under a burst (each request
    # waiting for a second connection while holding the first).
    await release_connection(db)
    if user_id is not None:
        background.add_task(
            service.send_password_reset,
            sessionmaker=sessionmaker,
            mailer=mailer,
            user_id=user_id,
            settings=settings,
            context=context,
        )
    return MailAccepted(detail=service.RESET_REQUESTED)


@router.post(
    "/password/reset", status_code=status.HTTP_204_NO_CONTENT, responses=problems(400, 422)
)
async def reset_password(
    body: ResetPasswordRequest,
    db: DbSession,
    settings: AppSettings,
    hasher: Hasher,
    lockout: Lockout,
    context: Context,
) -> None:
    """Set a new password with the mailed token; every session of the account ends and
    any login lockout of the address is lifted.
    `400 invalid_token` for an unknown, used, expired or superseded token."""
    await service.reset_password(
        db,
        token=body.token,
        new_password=body.new_password,
        settings=settings,
        hasher=hasher,
        lockout=lockout,
        context=context,
    )


@router.post(
    "/password/change",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 401, 422, 429),
)
async def change_password(
    body: ChangePasswordRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    settings: AppSettings,
    hasher: Hasher,
    limits: Limits,
    lockout: Lockout,
    context: Context,
) -> None:
    """Change the password; every other session ends, this one stays signed in.
    A wrong current password is `400 invalid_current_password` (the session is fine);
    guesses count against the login limits and lockout (`429`)."""
    await limits.hit("login", context.ip)
    await service.change_password(
        db,
        principal=principal,
        current_password=body.current_password,
        new_password=body.new_password,
        settings=settings,
        hasher=hasher,
        lockout=lockout,
        context=context,
    )


@router.post("/verify/request", status_code=status.HTTP_202_ACCEPTED, responses=problems(401, 429))
async def request_verification(
    user: CurrentUser,
    db: DbSession,
    settings: AppSettings,
    mailer: Mailer,
    background: BackgroundTasks,
    limits: Limits,
    context: Context,
) -> MailAccepted:
    """Mail a verification link to the signed-in user's address (nothing when verified)."""
    await limits.hit("mail-ip", context.ip)
    await limits.hit_email("mail-email", user.email)
    mail = await service.verification_mail_for(db, user=user, settings=settings)
    if mail is not None:
        background.add_task(mailer.send, mail)
    return MailAccepted(detail=service.VERIFICATION_REQUESTED)


@router.post("/verify", status_code=status.HTTP_204_NO_CONTENT, responses=problems(400, 422))
async def verify_email(body: VerifyEmailRequest, db: DbSession, context: Context) -> None:
    """Confirm the address with the mailed token; `400 invalid_token` otherwise."""
    await service.verify_email(db, token=body.token, context=context)
