"""The one dependency that guards every protected route (DESIGN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.service import record_denial
from tenantry.auth.models import Session
from tenantry.db import DbSession, utcnow
from tenantry.dependencies import Signer
from tenantry.errors import Forbidden, InvalidToken, Unauthorized
from tenantry.request_context import Context
from tenantry.security.jwt import TokenError, TokenSigner
from tenantry.users.models import User

log = structlog.get_logger("tenantry.auth")

# `tokenUrl` makes Swagger UI's Authorize button sign in through the OAuth 2.0 endpoint.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
bearer_token = Depends(bearer_scheme)


# Built once: this statement runs on every authenticated request.
_PRINCIPAL_QUERY = (
    select(Session, User)
    .join(User, User.id == Session.user_id)
    .where(Session.id == bindparam("session_id"))
)


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    session: Session


async def load_principal(db: AsyncSession, signer: TokenSigner, token: str) -> Principal:
    """Validate an access token and load its live session and user, or raise 401."""
    try:
        claims = signer.validate(token)
    except TokenError as exc:
        log.info("access_token_rejected", reason=str(exc))
        raise InvalidToken() from exc
    # One primary-key query: a revoked session or a deactivated user fails at once.
    # It runs outside a transaction (no BEGIN/ROLLBACK round trips), and the connection
    # goes back to the pool right after it: a request that only reads its principal
    # does not hold a connection while its response is written. A route that writes
    # later opens a transaction of its own; the loaded objects stay usable.
    fresh = not db.in_transaction()
    if fresh:
        await db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    row = (await db.execute(_PRINCIPAL_QUERY, {"session_id": claims.session_id})).one_or_none()
    if fresh:
        await db.commit()
    if row is None:
        raise InvalidToken()
    session, user = row
    if (
        session.user_id != claims.user_id
        or session.revoked_at is not None
        or session.expires_at <= utcnow()
        or not user.is_active
    ):
        raise InvalidToken()
    return Principal(user=user, session=session)


async def get_principal(
    request: Request,
    db: DbSession,
    signer: Signer,
    token: Annotated[str | None, Depends(bearer_scheme)],
) -> Principal:
    if not token:
        raise Unauthorized("Sign in and send the access token as a bearer token.")
    principal = await load_principal(db, signer, token)
    request.state.user_id = principal.user.id
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: CurrentPrincipal) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_superuser(request: Request, user: CurrentUser, context: Context) -> User:
    """Platform operators only; every refusal is itself on record (`access.denied`)."""
    if not user.is_superuser:
        await record_denial(
            request,
            actor_user_id=user.id,
            organization_id=None,
            wanted=["superuser"],
            context=context,
        )
        raise Forbidden("This operation is reserved to platform operators.")
    return user


Superuser = Annotated[User, Depends(get_superuser)]
