"""Small secrets sealed at rest with AES-256-GCM (DESIGN.md §10: TOTP secrets).

A sealed value is text: `v1.<key id>.<nonce>.<ciphertext and tag>`, the last two
base64url without padding. The key is derived from `SECRET_KEY`; its id is a short
fingerprint of the key, so a value sealed under a rotated-away `SECRET_KEY` is
recognised as such (unknown key id) rather than failing as if tampered with.

The caller's associated data (for example the factor's id) is authenticated with
the header, so a sealed secret copied onto another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tenantry.security.tokens import derive_key

VERSION = "v1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, the size GCM is specified for
TAG_BYTES = 16
MAX_SEALED_LENGTH = 4096  # small secrets only; longer input is refused before decoding
PURPOSE = "secret-box"

_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class SecretBoxError(Exception):
    """A sealed value that cannot be opened: malformed, unknown key, or not authentic."""


def key_id(key: bytes) -> str:
    """A short stable fingerprint of a key (not of `SECRET_KEY` itself)."""
    fingerprint = hashlib.sha256(b"tenantry/key-id\x00" + key).digest()[:6]
    return _b64encode(fingerprint)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    """Strict base64url: only the alphabet, no padding, canonical trailing bits."""
    if not _B64URL.fullmatch(text):
        raise SecretBoxError("malformed sealed value")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise SecretBoxError("malformed sealed value") from error
    if _b64encode(raw) != text:
        raise SecretBoxError("malformed sealed value")
    return raw


class SecretBox:
    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError(f"the current key id {current!r} is not among the keys")
        for kid, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {kid!r} must be {KEY_BYTES} bytes")
            if not _B64URL.fullmatch(kid):
                raise ValueError(f"key id {kid!r} must be base64url text")
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = current

    @classmethod
    def from_secret(cls, secret: bytes, *, previous: tuple[bytes, ...] = ()) -> SecretBox:
        """The box for `SECRET_KEY` (`settings.signing_secret`); `previous` secrets
        still open what they sealed, new values are sealed under `secret`."""
        derived = [derive_key(one, PURPOSE) for one in (*previous, secret)]
        keys = {key_id(key): key for key in derived}
        return cls(keys, key_id(derived[-1]))

    @property
    def current_key_id(self) -> str:
        return self._current

    def seal(self, plaintext: bytes, *, associated: bytes) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        header = f"{VERSION}.{self._current}"
        ciphertext = self._ciphers[self._current].encrypt(
            nonce, plaintext, _associated(header, associated)
        )
        return f"{header}.{_b64encode(nonce)}.{_b64encode(ciphertext)}"

    def open(self, sealed: str, *, associated: bytes) -> bytes:
        """The plaintext, or SecretBoxError for anything this box did not seal with
        these associated data."""
        if not isinstance(sealed, str) or len(sealed) > MAX_SEALED_LENGTH:
            raise SecretBoxError("malformed sealed value")
        parts = sealed.split(".")
        if len(parts) != 4:
            raise SecretBoxError("malformed sealed value")
        version, kid, nonce_text, ciphertext_text = parts
        if version != VERSION:
            raise SecretBoxError("unknown sealed value version")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise SecretBoxError("sealed under an unknown key")
        nonce = _b64decode(nonce_text)
        ciphertext = _b64decode(ciphertext_text)
        if len(nonce) != NONCE_BYTES or len(ciphertext) < TAG_BYTES:
            raise SecretBoxError("malformed sealed value")
        try:
            return cipher.decrypt(nonce, ciphertext, _associated(f"{version}.{kid}", associated))
        except InvalidTag as error:
            raise SecretBoxError("sealed value is not authentic") from error

    def key_id_of(self, sealed: str) -> str | None:
        """The key id a value was sealed under (to find values to re-seal after a
        rotation), or None when it is not a sealed value of this version."""
        parts = sealed.split(".")
        if len(parts) != 4 or parts[0] != VERSION:
            return None
        return parts[1]


def _associated(header: str, associated: bytes) -> bytes:
    # Length-prefixed so the header and the caller's data cannot be re-split.
    head = header.encode("ascii")
    return len(head).to_bytes(2, "big") + head + associated
