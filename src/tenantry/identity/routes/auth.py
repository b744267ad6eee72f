"""Browser sign-in (DESIGN.md §4, §5): registration, login with the refresh token in an
HttpOnly cookie and a CSRF double-submit cookie, cookie refresh, logout and the
signed-in user's sessions.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Cookie, Depends, Header, Request, Response, status

from tenantry import audit
from tenantry.config import Settings
from tenantry.db import DbSession
from tenantry.dependencies import (
    AppSettings,
    Hasher,
    Limits,
    Mailer,
)
from tenantry.errors import InvalidToken
from tenantry.identity import accounts, users
from tenantry.identity import refresh as tokens
from tenantry.identity import signin as service
from tenantry.identity.dependencies import CurrentPrincipal, SignIn, bearer_token
from tenantry.identity.exceptions import CsrfFailed, InvalidRefreshToken, SessionNotFound
from tenantry.identity.principal import authenticate
from tenantry.identity.routes.cookies import (
    CSRF_COOKIE,
    CSRF_HEADER,
    REFRESH_COOKIE,
    clear_auth_cookies,
)
from tenantry.identity.routes.issuer import Issuer
from tenantry.identity.schemas import (
    AccessTokenResponse,
    LoginRequest,
    RegisterRequest,
    SessionRead,
    UserRead,
)
from tenantry.identity.sessions import list_live_sessions, revoke_session, revoke_user_sessions
from tenantry.openapi import problems
from tenantry.pagination import Page, PageParams, page_params
from tenantry.request_context import Context
from tenantry.security.csrf import is_cross_site
from tenantry.security.tokens import CsrfCodec

router = APIRouter(prefix="/auth", tags=["auth"])

RefreshCookie = Annotated[str | None, Cookie(alias=REFRESH_COOKIE, include_in_schema=False)]
CsrfCookie = Annotated[str | None, Cookie(alias=CSRF_COOKIE, include_in_schema=False)]
CsrfHeader = Annotated[str | None, Header(alias=CSRF_HEADER)]


def _refuse_cross_site(request: Request, settings: Settings) -> None:
    if is_cross_site(request, settings):
        raise CsrfFailed("Requests from another site may not use the session cookies.")


def _require_csrf(
    codec: CsrfCodec, session_id: uuid.UUID, header: str | None, cookie: str | None
) -> None:
    if not codec.matches(session_id, header, cookie):
        raise CsrfFailed(f"Send the {CSRF_COOKIE} cookie's value in the {CSRF_HEADER} header.")


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=problems(409, 422, 429))
async def register(
    body: RegisterRequest,
    db: DbSession,
    settings: AppSettings,
    hasher: Hasher,
    context: Context,
    mailer: Mailer,
    background: BackgroundTasks,
    limits: Limits,
) -> UserRead:
    """Create an account. Passwords follow the rules of the security model."""
    await limits.hit("register", context.ip)
    user = await users.register(
        db,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        settings=settings,
        hasher=hasher,
        context=context,
    )
    if settings.email_verification_required:
        mail = await accounts.verification_mail_for(db, user=user, settings=settings)
        if mail is not None:
            background.add_task(mailer.send, mail)
    return UserRead.model_validate(user)


@router.post("/login", responses=problems(401, 403, 422, 429))
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    db: DbSession,
    sign_in: SignIn,
    issuer: Issuer,
    context: Context,
    limits: Limits,
) -> AccessTokenResponse:
    """Sign in from a browser: the access token is returned for memory only; the refresh
    token is set in an HttpOnly cookie, with a CSRF cookie for the double submit."""
    _refuse_cross_site(request, issuer.settings)
    await limits.hit("login", context.ip)
    # A user with a factor gets `401 mfa_required` instead (mfa.MfaRequired).
    signed_in = await sign_in(db, email=body.email, password=body.password, context=context)
    return issuer.to_browser(response, tokens.family_of(signed_in.session, issuer.settings))


@router.post("/refresh", responses=problems(401, 403, 429))
async def refresh(
    request: Request,
    response: Response,
    db: DbSession,
    issuer: Issuer,
    context: Context,
    limits: Limits,
    refresh_cookie: RefreshCookie = None,
    csrf_cookie: CsrfCookie = None,
    csrf_header: CsrfHeader = None,
) -> AccessTokenResponse:
    """Exchange the refresh cookie for a new access token; the cookie rotates."""
    _refuse_cross_site(request, issuer.settings)
    await limits.hit("refresh", context.ip)
    claims = issuer.refresh_codec.decode(refresh_cookie) if refresh_cookie else None
    if claims is None:
        raise InvalidRefreshToken()
    _require_csrf(issuer.csrf, claims.session_id, csrf_header, csrf_cookie)
    family = await tokens.rotate(db, claims=claims, settings=issuer.settings, context=context)
    return issuer.to_browser(response, family)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problems(403))
async def logout(
    request: Request,
    response: Response,
    db: DbSession,
    issuer: Issuer,
    context: Context,
    token: Annotated[str | None, bearer_token],
    refresh_cookie: RefreshCookie = None,
    csrf_cookie: CsrfCookie = None,
    csrf_header: CsrfHeader = None,
) -> None:
    """End this session (by bearer token, or by the refresh cookie with the CSRF header)
    and clear the cookies. Idempotent: without a live session it only clears cookies."""
    _refuse_cross_site(request, issuer.settings)
    ending: tuple[uuid.UUID, uuid.UUID] | None = None  # (session id, user id)
    if token:
        try:
            principal = await authenticate(request.app.state.principal_reader, issuer.signer, token)
            ending = (principal.session_id, principal.user.id)
        except InvalidToken:
            ending = None
    if ending is None and refresh_cookie:
        session = await tokens.session_for_token(
            db, token=refresh_cookie, codec=issuer.refresh_codec
        )
        if session is not None:
            _require_csrf(issuer.csrf, session.id, csrf_header, csrf_cookie)
            ending = (session.id, session.user_id)
    if ending is not None:
        session_id, user_id = ending
        await revoke_session(
            db,
            session_id=session_id,
            reason="logout",
            action="auth.logout",
            actor_user_id=user_id,
            context=context,
        )
    issuer.clear_cookies(response)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401))
async def logout_all(
    principal: CurrentPrincipal,
    response: Response,
    db: DbSession,
    settings: AppSettings,
    context: Context,
) -> None:
    """End every session of the signed-in user, on every device."""
    count = await revoke_user_sessions(db, user_id=principal.user.id, reason="logout_all")
    audit.record_own(
        db,
        "auth.logout",
        user_id=principal.user.id,
        context=context,
        details={"scope": "all", "sessions": count},
    )
    await db.commit()
    clear_auth_cookies(response, secure=settings.secure_cookies)


@router.get("/sessions", responses=problems(400, 401))
async def list_sessions(
    principal: CurrentPrincipal, db: DbSession, page: Annotated[PageParams, Depends(page_params)]
) -> Page[SessionRead]:
    """The signed-in user's live sessions, newest first; `current` marks the one making
    this request."""
    return await list_live_sessions(
        db, user_id=principal.user.id, current_session_id=principal.session_id, page=page
    )


@router.delete(
    "/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 404)
)
async def delete_session(
    session_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, context: Context
) -> None:
    """Sign out one of your sessions (another device). Another user's session is 404."""
    owned = await service.owns_live_session(db, user_id=principal.user.id, session_id=session_id)
    if not owned:
        raise SessionNotFound()
    await revoke_session(
        db,
        session_id=session_id,
        reason="revoked_by_user",
        action="auth.session.revoked",
        actor_user_id=principal.user.id,
        context=context,
    )
