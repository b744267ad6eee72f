"""Access tokens (DESIGN.md §4): signing, and validation that trusts nothing in the token.

Validation pins the algorithm, requires every claim, checks `typ`, `iss` and `aud`,
and picks the key by `kid` from configuration only — `jwk`, `jku`, `x5u` and `x5c`
headers are never consulted. Whether the session is still alive is checked afterwards
against the database (see auth/dependencies.py).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from tenantry.config import Settings

ACCESS_TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "jti", "iat", "exp")
MAX_TOKEN_LENGTH = 4096
CLOCK_SKEW_SECONDS = 30


class TokenError(Exception):
    """The token is not a valid access token; the reason is for logs, not for clients."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    token_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str
    algorithm: str
    key: Any


class TokenSigner:
    """Issues and validates access tokens with the configured keys."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.signing_secret
        self.algorithm = "HS256"
        self.kid = "hs-" + hashlib.sha256(b"tenantry-kid:" + secret).hexdigest()[:16]
        self._signing_key: Any = secret
        self._verification_keys = {self.kid: VerificationKey(self.kid, self.algorithm, secret)}
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._ttl = timedelta(seconds=settings.access_token_ttl_seconds)

    @property
    def ttl_seconds(self) -> int:
        return int(self._ttl.total_seconds())

    def issue(self, *, user_id: uuid.UUID, session_id: uuid.UUID) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + self._ttl,
        }
        headers = {"typ": ACCESS_TOKEN_TYPE, "kid": self.kid}
        return jwt.encode(claims, self._signing_key, algorithm=self.algorithm, headers=headers)

    def validate(self, token: str) -> AccessClaims:
        # Refuse cheaply before any parsing or cryptography.
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise TokenError("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError("malformed header") from exc
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise TokenError("wrong token type")
        key = self._verification_keys.get(str(header.get("kid")))
        if key is None:
            raise TokenError("unknown kid")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
            )
            return AccessClaims(
                user_id=uuid.UUID(str(claims["sub"])),
                session_id=uuid.UUID(str(claims["sid"])),
                token_id=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise TokenError(str(exc)) from exc
