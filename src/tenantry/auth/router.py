from __future__ import annotations

from fastapi import APIRouter, status

from tenantry.auth import service
from tenantry.auth.schemas import AccessTokenResponse, LoginRequest, RegisterRequest
from tenantry.db import DbSession
from tenantry.dependencies import AppSettings, Hasher, Signer
from tenantry.openapi import problems
from tenantry.request_context import Context
from tenantry.users import service as users
from tenantry.users.schemas import UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=problems(409, 422, 429),
)
async def register(
    body: RegisterRequest, db: DbSession, settings: AppSettings, hasher: Hasher, context: Context
) -> UserRead:
    """Create an account. Passwords follow the rules of the security model."""
    user = await users.register(
        db,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        settings=settings,
        hasher=hasher,
        context=context,
    )
    return UserRead.model_validate(user)


@router.post("/login", responses=problems(401, 403, 422, 429))
async def login(
    body: LoginRequest,
    db: DbSession,
    settings: AppSettings,
    hasher: Hasher,
    signer: Signer,
    context: Context,
) -> AccessTokenResponse:
    """Sign in with email and password; returns a short-lived access token."""
    signed_in = await service.authenticate(
        db,
        email=body.email,
        password=body.password,
        settings=settings,
        hasher=hasher,
        context=context,
    )
    token = signer.issue(user_id=signed_in.user.id, session_id=signed_in.session.id)
    return AccessTokenResponse(access_token=token, expires_in=signer.ttl_seconds)
