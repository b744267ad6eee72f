"""Opaque tokens derived from a server key, so nothing secret is stored (DESIGN.md §4).

A refresh token is `version ‖ session id ‖ rotation counter ‖ HMAC-SHA256(key, …)`,
base64url-encoded. The database keeps only the session's current counter: a token
is current when its counter equals it, and the session can re-derive its current
token to answer a retry within the reuse interval — as Supabase Auth's v2 refresh
tokens do — without ever storing a token or its digest.

The CSRF token is derived from the session id the same way, so a cookie planted by
a sibling subdomain (cookie tossing) cannot be paired with a header of its choosing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import uuid
from dataclasses import dataclass

_REFRESH_VERSION = 1
_REFRESH_LAYOUT = struct.Struct(">B16sQ")  # version, session id, counter
_MAC_BYTES = 32
REFRESH_TOKEN_LENGTH = 76  # base64url of 57 bytes, unpadded


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A separate key per purpose, so a value made for one use is useless for another."""
    return hmac.new(secret, b"tenantry/" + purpose.encode("ascii"), hashlib.sha256).digest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class RefreshTokenClaims:
    session_id: uuid.UUID
    counter: int


class RefreshTokenCodec:
    def __init__(self, secret: bytes) -> None:
        self._key = derive_key(secret, "refresh-token")

    def encode(self, session_id: uuid.UUID, counter: int) -> str:
        payload = _REFRESH_LAYOUT.pack(_REFRESH_VERSION, session_id.bytes, counter)
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return _b64encode(payload + mac)

    def decode(self, token: str) -> RefreshTokenClaims | None:
        """The claims of a token this server minted, or None for anything else."""
        if len(token) != REFRESH_TOKEN_LENGTH:
            return None
        try:
            raw = _b64decode(token)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != _REFRESH_LAYOUT.size + _MAC_BYTES:
            return None
        payload, mac = raw[: _REFRESH_LAYOUT.size], raw[_REFRESH_LAYOUT.size :]
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            return None
        version, session_bytes, counter = _REFRESH_LAYOUT.unpack(payload)
        if version != _REFRESH_VERSION:
            return None
        return RefreshTokenClaims(session_id=uuid.UUID(bytes=session_bytes), counter=counter)


class CsrfCodec:
    def __init__(self, secret: bytes) -> None:
        self._key = derive_key(secret, "csrf")

    def token_for(self, session_id: uuid.UUID) -> str:
        return _b64encode(hmac.new(self._key, session_id.bytes, hashlib.sha256).digest())

    def matches(self, session_id: uuid.UUID, header: str | None, cookie: str | None) -> bool:
        if not header or not cookie:
            return False
        expected = self.token_for(session_id).encode()
        return hmac.compare_digest(header.encode(), cookie.encode()) and hmac.compare_digest(
            header.encode(), expected
        )


def new_opaque_token() -> tuple[str, bytes]:
    """A 256-bit single-use token for mail links, and the SHA-256 digest to store."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()
