"""OAuth 2.0 endpoints for API clients: the token endpoint (RFC 6749 §4.3 password
grant, §6 refresh) and token revocation (RFC 7009).

These two answer errors as RFC 6749 §5.2 says — `{"error", "error_description"}` —
not as problem+json, so standard OAuth client libraries understand them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db import DbSession
from tenantry.dependencies import Limits, Lockout, Mailer, RefreshCodec
from tenantry.identity import mfa, signin
from tenantry.identity import refresh as tokens
from tenantry.identity.dependencies import PasswordSignIn, SignIn
from tenantry.identity.exceptions import EmailNotVerified, InvalidCredentials, InvalidRefreshToken
from tenantry.identity.routes.issuer import Issuer, TokenIssuer
from tenantry.identity.routes.mfa import RECOVERY_CODE_USED, Keys
from tenantry.identity.schemas import (
    PASSWORD_INPUT_MAX,
    Email,
    MfaRequiredError,
    OAuthError,
    TokenPairResponse,
)
from tenantry.identity.sessions import revoke_session
from tenantry.request_context import Context, RequestContext
from tenantry.security.ratelimit import LoginLockout, RateLimited, RequestLimits

router = APIRouter(prefix="/auth", tags=["oauth2"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_email = TypeAdapter(Email)
OptionalForm = Annotated[str | None, Form()]
MFA_GRANT = "urn:tenantry:params:oauth:grant-type:mfa"


def oauth_error(error: str, description: str, status_code: int = 400) -> JSONResponse:
    body = OAuthError(error=error, error_description=description)
    return JSONResponse(body.model_dump(), status_code=status_code, headers=NO_STORE)


@router.post(
    "/token",
    response_model=TokenPairResponse,
    responses={
        400: {"model": OAuthError, "description": "RFC 6749 §5.2 error"},
        403: {"model": MfaRequiredError, "description": "`mfa_required`: a second factor"},
    },
)
async def token(
    db: DbSession,
    sign_in: SignIn,
    issuer: Issuer,
    context: Context,
    limits: Limits,
    lockout: Lockout,
    keys: Keys,
    mailer: Mailer,
    background: BackgroundTasks,
    grant_type: OptionalForm = None,
    username: OptionalForm = None,
    password: OptionalForm = None,
    refresh_token: OptionalForm = None,
    scope: OptionalForm = None,
    mfa_token: OptionalForm = None,
    otp: OptionalForm = None,
    recovery_code: OptionalForm = None,
) -> JSONResponse:
    """Issue tokens to an API client: `grant_type=password` with `username` (the email)
    and `password`, `grant_type=refresh_token` with `refresh_token` (single use), or,
    after a password grant answered `403 mfa_required`,
    `grant_type=urn:tenantry:params:oauth:grant-type:mfa` with its `mfa_token` and an
    `otp` (TOTP code) or a `recovery_code`."""
    try:
        if grant_type == MFA_GRANT:
            return await _mfa_grant(
                db,
                issuer=issuer,
                context=context,
                limits=limits,
                lockout=lockout,
                keys=keys,
                mfa_token=mfa_token,
                otp=otp,
                recovery_code=recovery_code,
                notify=lambda email: background.add_task(
                    mailer.send, mfa.change_mail(email=email, change=RECOVERY_CODE_USED)
                ),
            )
        return await _grant(
            db,
            sign_in=sign_in,
            issuer=issuer,
            context=context,
            limits=limits,
            grant_type=grant_type,
            username=username,
            password=password,
            refresh_token=refresh_token,
        )
    except RateLimited as exc:
        # RFC 6749 defines no error for this; the code matches the problem+json one.
        response = oauth_error(exc.code, exc.detail, status_code=429)
        response.headers.update(exc.headers)
        return response


async def _grant(
    db: AsyncSession,
    *,
    sign_in: PasswordSignIn,
    issuer: TokenIssuer,
    context: RequestContext,
    limits: RequestLimits,
    grant_type: str | None,
    username: str | None,
    password: str | None,
    refresh_token: str | None,
) -> JSONResponse:
    if grant_type == "password":
        await limits.hit("login", context.ip)
        if not username or password is None:
            return oauth_error("invalid_request", "username and password are required.")
        if len(password) > PASSWORD_INPUT_MAX:
            return oauth_error("invalid_request", "password is longer than any allowed.")
        try:
            email = _email.validate_python(username)
        except ValidationError:
            return oauth_error("invalid_grant", "Invalid email or password.")
        try:
            signed_in = await sign_in(db, email=email, password=password, context=context)
        except InvalidCredentials:
            return oauth_error("invalid_grant", "Invalid email or password.")
        except EmailNotVerified:
            return oauth_error("invalid_grant", "Verify your email address before signing in.")
        except mfa.MfaRequired as exc:
            body = MfaRequiredError(
                error="mfa_required",
                error_description="Complete the sign-in with the mfa grant and a second factor.",
                mfa_token=exc.mfa_token,
            )
            return JSONResponse(body.model_dump(), status_code=403, headers=NO_STORE)
        family = tokens.family_of(signed_in.session, issuer.settings)
    elif grant_type == "refresh_token":
        await limits.hit("refresh", context.ip)
        if not refresh_token:
            return oauth_error("invalid_request", "refresh_token is required.")
        try:
            family = await tokens.rotate(
                db,
                claims=issuer.refresh_codec.decode(refresh_token),
                settings=issuer.settings,
                context=context,
            )
        except InvalidRefreshToken:
            return oauth_error("invalid_grant", "The refresh token is invalid or expired.")
    elif grant_type is None:
        return oauth_error("invalid_request", "grant_type is required.")
    else:
        return oauth_error(
            "unsupported_grant_type",
            f"Supported grant types: password, refresh_token, {MFA_GRANT}.",
        )
    return JSONResponse(issuer.token_pair(family).model_dump(), headers=NO_STORE)


async def _mfa_grant(
    db: AsyncSession,
    *,
    issuer: TokenIssuer,
    context: RequestContext,
    limits: RequestLimits,
    lockout: LoginLockout,
    keys: mfa.MfaKeys,
    mfa_token: str | None,
    otp: str | None,
    recovery_code: str | None,
    notify: Callable[[str], None],
) -> JSONResponse:
    await limits.hit("login", context.ip)
    if not mfa_token or (otp is None) == (recovery_code is None):
        return oauth_error(
            "invalid_request", "mfa_token and one of otp, recovery_code are required."
        )
    try:
        signed_in = await signin.complete_challenge(
            db,
            mfa_token=mfa_token,
            code=otp,
            recovery_code=recovery_code,
            settings=issuer.settings,
            lockout=lockout,
            keys=keys,
            context=context,
        )
    except mfa.InvalidMfaToken:
        return oauth_error("invalid_grant", "The mfa_token is invalid, used or expired.")
    except mfa.InvalidChallengeCode:
        return oauth_error("invalid_grant", "The code is wrong.")
    if signed_in.used_recovery_code:
        notify(signed_in.user.email)
    family = tokens.family_of(signed_in.session, issuer.settings)
    return JSONResponse(issuer.token_pair(family).model_dump(), headers=NO_STORE)


@router.post(
    "/revoke",
    responses={
        200: {"description": "Always, as RFC 7009 §2.2 requires"},
        400: {"model": OAuthError, "description": "RFC 6749 §5.2 error: no `token` sent"},
    },
)
async def revoke(
    db: DbSession,
    refresh_codec: RefreshCodec,
    context: Context,
    token: OptionalForm = None,
    token_type_hint: OptionalForm = None,
) -> JSONResponse:
    """Revoke a refresh token and so its whole session. Answers 200 whether or not the
    token was valid, so it reveals nothing (RFC 7009 §2.2)."""
    if not token:
        return oauth_error("invalid_request", "token is required.")
    session = await tokens.session_for_token(db, token=token, codec=refresh_codec)
    if session is not None:
        await revoke_session(
            db,
            session_id=session.id,
            reason="revoked_by_client",
            action="auth.logout",
            actor_user_id=session.user_id,
            context=context,
        )
    return JSONResponse({}, headers=NO_STORE)
