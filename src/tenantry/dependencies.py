"""Process-wide objects built once in `create_app` and handed to routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from tenantry.config import Settings
from tenantry.mail.mailer import MailSender
from tenantry.security.jwt import TokenSigner
from tenantry.security.passwords import PasswordHasher
from tenantry.security.ratelimit import LoginLockout, RequestLimits
from tenantry.security.secretbox import SecretBox
from tenantry.security.tokens import CsrfCodec, RefreshTokenCodec

T = TypeVar("T")


def _from_app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning `app.state.<name>` (async: no thread-pool hop)."""

    async def dependency(request: Request) -> T:
        value: Any = getattr(request.app.state, name)
        assert isinstance(value, kind)
        return value

    dependency.__name__ = f"get_{name}"
    return dependency


AppSettings = Annotated[Settings, Depends(_from_app_state("settings", Settings))]
Hasher = Annotated[PasswordHasher, Depends(_from_app_state("hasher", PasswordHasher))]
Signer = Annotated[TokenSigner, Depends(_from_app_state("signer", TokenSigner))]
Mailer = Annotated[MailSender, Depends(_from_app_state("mailer", MailSender))]
RefreshCodec = Annotated[
    RefreshTokenCodec, Depends(_from_app_state("refresh_codec", RefreshTokenCodec))
]
Csrf = Annotated[CsrfCodec, Depends(_from_app_state("csrf_codec", CsrfCodec))]
Limits = Annotated[RequestLimits, Depends(_from_app_state("request_limits", RequestLimits))]
Lockout = Annotated[LoginLockout, Depends(_from_app_state("lockout", LoginLockout))]
Box = Annotated[SecretBox, Depends(_from_app_state("secret_box", SecretBox))]
RecoveryCodeKey = Annotated[bytes, Depends(_from_app_state("recovery_code_key", bytes))]
