"""Second factors (DESIGN.md §10): the signed-in user's TOTP factors and recovery
codes, and `/auth/mfa/verify`, the second step of a browser sign-in."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status

from tenantry.db import DbSession
from tenantry.dependencies import (
    AppSettings,
    Box,
    Hasher,
    Limits,
    Lockout,
    Mailer,
    RecoveryCodeKey,
)
from tenantry.identity import mfa, signin
from tenantry.identity import refresh as tokens
from tenantry.identity.dependencies import CurrentPrincipal, SteppedUpPrincipal, UserRow
from tenantry.identity.exceptions import CsrfFailed
from tenantry.identity.routes.issuer import Issuer
from tenantry.identity.schemas import (
    AccessTokenResponse,
    FactorRename,
    MfaCodeRequest,
    MfaFactorRead,
    MfaOverview,
    MfaVerifyRequest,
    ReauthenticateRequest,
    RecoveryCodes,
    TotpEnrolment,
    TotpEnrolRequest,
)
from tenantry.mail.mailer import MailSender
from tenantry.openapi import problems
from tenantry.request_context import Context
from tenantry.security.csrf import is_cross_site

router = APIRouter(prefix="/auth/mfa", tags=["mfa"])
reauthenticate_router = APIRouter(prefix="/auth", tags=["mfa"])


async def get_mfa_keys(box: Box, recovery_key: RecoveryCodeKey) -> mfa.MfaKeys:
    return mfa.MfaKeys(box, recovery_key)


Keys = Annotated[mfa.MfaKeys, Depends(get_mfa_keys)]


@router.get("", responses=problems(401))
async def overview(principal: CurrentPrincipal, db: DbSession) -> MfaOverview:
    """The signed-in user's confirmed factors and how many recovery codes are left."""
    user_id = principal.user.id
    factors = await mfa.confirmed_factors(db, user_id)
    return MfaOverview(
        factors=[MfaFactorRead.model_validate(factor) for factor in factors],
        recovery_codes_left=await mfa.recovery_codes_left(db, user_id),
    )


@router.post("/totp", status_code=status.HTTP_201_CREATED, responses=problems(401, 422))
async def enrol_totp(
    user: UserRow,
    db: DbSession,
    settings: AppSettings,
    keys: Keys,
    response: Response,
    body: TotpEnrolRequest | None = None,
) -> TotpEnrolment:
    """Start a TOTP factor: the secret, its `otpauth://` URI and a QR code (SVG). It
    counts only once confirmed with a first code."""
    enrolment = await mfa.start_totp(
        db, user=user, name=body.name if body else None, keys=keys, settings=settings
    )
    response.headers["Cache-Control"] = "no-store"
    return TotpEnrolment(
        factor_id=enrolment.factor.id,
        secret=enrolment.secret,
        otpauth_uri=enrolment.otpauth_uri,
        qr_svg=enrolment.qr_svg,
    )


@router.post("/totp/{factor_id}/confirm", responses=problems(400, 401, 404, 422))
async def confirm_totp(
    factor_id: uuid.UUID,
    body: MfaCodeRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    settings: AppSettings,
    keys: Keys,
    context: Context,
    response: Response,
    mailer: Mailer,
    background: BackgroundTasks,
) -> RecoveryCodes:
    """Confirm a TOTP factor with a code from the app. The recovery codes come with the
    first factor only, and are shown this once."""
    codes = await mfa.confirm_totp(
        db,
        user_id=principal.user.id,
        factor_id=factor_id,
        code=body.code,
        keys=keys,
        settings=settings,
        context=context,
    )
    response.headers["Cache-Control"] = "no-store"
    _notify(background, mailer, principal.user.email, "An authenticator app was added.")
    return RecoveryCodes(recovery_codes=codes)


@router.patch("/factors/{factor_id}", responses=problems(401, 404, 422))
async def rename_factor(
    factor_id: uuid.UUID, body: FactorRename, principal: CurrentPrincipal, db: DbSession
) -> MfaFactorRead:
    """Rename one of the signed-in user's factors."""
    factor = await mfa.own_factor(db, user_id=principal.user.id, factor_id=factor_id)
    if factor.confirmed_at is None:
        raise mfa.FactorNotFound()
    factor.name = body.name
    await db.commit()
    return MfaFactorRead.model_validate(factor)


@router.post("/verify", responses=problems(401, 403, 422, 429))
async def verify(
    body: MfaVerifyRequest,
    request: Request,
    response: Response,
    db: DbSession,
    issuer: Issuer,
    lockout: Lockout,
    keys: Keys,
    context: Context,
    limits: Limits,
    mailer: Mailer,
    background: BackgroundTasks,
) -> AccessTokenResponse:
    """The second step of a browser sign-in: the `mfa_token` of the `mfa_required`
    answer and a TOTP `code` or a `recovery_code`. Answers like `/auth/login`."""
    if is_cross_site(request, issuer.settings):
        raise CsrfFailed("Requests from another site may not use the session cookies.")
    await limits.hit("login", context.ip)
    signed_in = await signin.complete_challenge(
        db,
        mfa_token=body.mfa_token,
        code=body.code,
        recovery_code=body.recovery_code,
        settings=issuer.settings,
        lockout=lockout,
        keys=keys,
        context=context,
    )
    if signed_in.used_recovery_code:
        _notify(background, mailer, signed_in.user.email, RECOVERY_CODE_USED)
    return issuer.to_browser(response, tokens.family_of(signed_in.session, issuer.settings))


@router.delete(
    "/factors/{factor_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 404)
)
async def remove_factor(
    factor_id: uuid.UUID,
    principal: SteppedUpPrincipal,
    db: DbSession,
    context: Context,
    mailer: Mailer,
    background: BackgroundTasks,
) -> None:
    """Remove a factor (needs step-up). With the last factor the recovery codes go too."""
    await mfa.remove_factor(db, user_id=principal.user.id, factor_id=factor_id, context=context)
    _notify(background, mailer, principal.user.email, "A second factor was removed.")


@router.post("/recovery-codes", responses=problems(401, 409))
async def regenerate_recovery_codes(
    principal: SteppedUpPrincipal,
    db: DbSession,
    settings: AppSettings,
    keys: Keys,
    context: Context,
    response: Response,
    mailer: Mailer,
    background: BackgroundTasks,
) -> RecoveryCodes:
    """A new set of recovery codes (needs step-up); the old ones stop working."""
    codes = await mfa.regenerate_recovery_codes(
        db, user_id=principal.user.id, keys=keys, settings=settings, context=context
    )
    response.headers["Cache-Control"] = "no-store"
    _notify(background, mailer, principal.user.email, "New recovery codes were generated.")
    return RecoveryCodes(recovery_codes=codes)


@reauthenticate_router.post("/reauthenticate", responses=problems(400, 401, 422, 429))
async def reauthenticate(
    body: ReauthenticateRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    issuer: Issuer,
    hasher: Hasher,
    lockout: Lockout,
    keys: Keys,
    context: Context,
    limits: Limits,
    mailer: Mailer,
    background: BackgroundTasks,
) -> AccessTokenResponse:
    """Prove it is still you before a sensitive action: the password, a TOTP `code` or a
    `recovery_code`. Answers a fresh access token for the same session, with a new
    `auth_time`; the refresh token does not change."""
    await limits.hit("login", context.ip)
    done = await signin.reauthenticate(
        db,
        user_id=principal.user.id,
        session_id=principal.session_id,
        password=body.password,
        code=body.code,
        recovery_code=body.recovery_code,
        settings=issuer.settings,
        hasher=hasher,
        lockout=lockout,
        keys=keys,
        context=context,
    )
    if done.used_recovery_code:
        _notify(background, mailer, done.user.email, RECOVERY_CODE_USED)
    return issuer.access_token(tokens.family_of(done.session, issuer.settings))


RECOVERY_CODE_USED = "A recovery code was used to sign in."


def _notify(background: BackgroundTasks, mailer: MailSender, email: str, change: str) -> None:
    background.add_task(mailer.send, mfa.change_mail(email=email, change=change))
