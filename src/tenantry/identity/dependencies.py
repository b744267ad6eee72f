"""The one dependency that guards every protected route (DESIGN.md §4)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.base import SecurityBase
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.audit.service import record_denial
from tenantry.config import Settings
from tenantry.db import DbSession
from tenantry.dependencies import AppSettings, Hasher, Lockout
from tenantry.errors import Forbidden, InvalidToken, Unauthorized
from tenantry.identity import mfa, signin
from tenantry.identity.models import User
from tenantry.identity.principal import Principal, SignedInUser, authenticate
from tenantry.identity.signin import SignedIn
from tenantry.request_context import Context, RequestContext
from tenantry.security.jwt import ACR_MFA
from tenantry.security.passwords import PasswordHasher
from tenantry.security.ratelimit import LoginLockout

# `tokenUrl` makes Swagger UI's Authorize button sign in through the OAuth 2.0 endpoint.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
bearer_token = Depends(bearer_scheme)


class BearerPrincipal(SecurityBase):
    """The bearer scheme, resolved straight to the signed-in principal.

    One dependency instead of a scheme plus a loader (FastAPI solves every layer on
    every request, a measured share of the hot path). As a `SecurityBase` with the
    model of `bearer_scheme`, the OpenAPI document describes it exactly as before.
    """

    def __init__(self, scheme: OAuth2PasswordBearer) -> None:
        self.model = scheme.model
        self.scheme_name = scheme.scheme_name

    async def __call__(self, request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Sign in and send the access token as a bearer token.")
        state = request.app.state
        principal = await authenticate(state.principal_reader, state.signer, token)
        request.state.user_id = principal.user.id
        return principal


get_principal = BearerPrincipal(bearer_scheme)

CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: CurrentPrincipal) -> SignedInUser:
    return principal.user


CurrentUser = Annotated[SignedInUser, Depends(get_current_user)]


async def get_user_row(principal: CurrentPrincipal, db: DbSession) -> User:
    """The signed-in user's row in this request's session, for the routes that change it."""
    user = await db.get(User, principal.user.id)
    if user is None:
        raise InvalidToken()
    return user


UserRow = Annotated[User, Depends(get_user_row)]


async def get_superuser(request: Request, user: CurrentUser, context: Context) -> SignedInUser:
    """Platform operators only; every refusal is itself on record (`access.denied`)."""
    if not user.is_superuser:
        await record_denial(
            request.app.state.sessionmaker,
            actor_user_id=user.id,
            organization_id=None,
            wanted=["superuser"],
            context=context,
        )
        raise Forbidden("This operation is reserved to platform operators.")
    return user


Superuser = Annotated[SignedInUser, Depends(get_superuser)]


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """For work after the response: the request's own session is closed by then."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


SessionFactory = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def get_stepped_up_principal(
    principal: CurrentPrincipal, db: DbSession, settings: AppSettings
) -> Principal:
    """For sensitive actions (DESIGN.md §10, RFC 9470): an authentication within
    `STEP_UP_MAX_AGE_SECONDS`, and with a second factor when the user has one. Read
    from the access token's `auth_time` and `acr`; only the "has a factor" question
    costs a query, and only on these few routes."""
    max_age = settings.step_up_max_age_seconds
    too_old = principal.auth_time is None or time.time() - principal.auth_time > max_age
    needs_mfa = principal.acr != ACR_MFA and await mfa.has_factor(db, principal.user.id)
    if too_old or needs_mfa:
        raise mfa.StepUpRequired(
            max_age=max_age if too_old else None, acr=ACR_MFA if needs_mfa else None
        )
    return principal


SteppedUpPrincipal = Annotated[Principal, Depends(get_stepped_up_principal)]


@dataclass(frozen=True, slots=True)
class PasswordSignIn:
    """Checks a password and opens a session, with the app's hasher and lockout: the
    one sign-in the browser login and the OAuth password grant share."""

    settings: Settings
    hasher: PasswordHasher
    lockout: LoginLockout

    async def __call__(
        self, db: AsyncSession, *, email: str, password: str, context: RequestContext
    ) -> SignedIn:
        return await signin.authenticate(
            db,
            email=email,
            password=password,
            settings=self.settings,
            hasher=self.hasher,
            lockout=self.lockout,
            context=context,
        )


async def get_password_sign_in(
    settings: AppSettings, hasher: Hasher, lockout: Lockout
) -> PasswordSignIn:
    return PasswordSignIn(settings, hasher, lockout)


SignIn = Annotated[PasswordSignIn, Depends(get_password_sign_in)]
