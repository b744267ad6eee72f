"""Process-wide objects built once in `create_app` and handed to routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tenantry.accounts.mailer import MailSender
from tenantry.config import Settings
from tenantry.security.jwt import TokenSigner
from tenantry.security.passwords import PasswordHasher
from tenantry.security.ratelimit import LoginLockout, RequestLimits
from tenantry.security.tokens import CsrfCodec, RefreshTokenCodec


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


async def get_signer(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.signer
    return signer


async def get_mailer(request: Request) -> MailSender:
    mailer: MailSender = request.app.state.mailer
    return mailer


async def get_refresh_codec(request: Request) -> RefreshTokenCodec:
    codec: RefreshTokenCodec = request.app.state.refresh_codec
    return codec


async def get_csrf_codec(request: Request) -> CsrfCodec:
    codec: CsrfCodec = request.app.state.csrf_codec
    return codec


async def get_request_limits(request: Request) -> RequestLimits:
    limits: RequestLimits = request.app.state.request_limits
    return limits


async def get_lockout(request: Request) -> LoginLockout:
    lockout: LoginLockout = request.app.state.lockout
    return lockout


AppSettings = Annotated[Settings, Depends(get_app_settings)]
Hasher = Annotated[PasswordHasher, Depends(get_hasher)]
Signer = Annotated[TokenSigner, Depends(get_signer)]
Mailer = Annotated[MailSender, Depends(get_mailer)]
RefreshCodec = Annotated[RefreshTokenCodec, Depends(get_refresh_codec)]
Csrf = Annotated[CsrfCodec, Depends(get_csrf_codec)]
Limits = Annotated[RequestLimits, Depends(get_request_limits)]
Lockout = Annotated[LoginLockout, Depends(get_lockout)]
