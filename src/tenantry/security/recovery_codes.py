"""Recovery codes (DESIGN.md §10): single-use codes shown once, stored only as keyed
hashes (HMAC-SHA-256 under a key derived from `SECRET_KEY`), so a database dump
alone does not let anyone test guesses offline.

A code is 10 characters of Crockford's base32 (50 bits) shown as `xxxxx-xxxxx`. The
alphabet has no I, L, O or U, and reading a code back forgives case, spaces,
hyphens and the look-alikes O→0, I/L→1.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from tenantry.security.tokens import derive_key

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32, lower case
CODE_LENGTH = 10  # 10 characters of 5 bits: 50 bits
GROUP = 5
PURPOSE = "recovery-code"
MAX_INPUT_LENGTH = 64  # anything longer is not a code; refused before any work

_LOOK_ALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})
_IGNORED = str.maketrans("", "", " -\t")


def key_from_secret(secret: bytes) -> bytes:
    """The hashing key for `SECRET_KEY` (`settings.signing_secret`)."""
    return derive_key(secret, PURPOSE)


def generate(n: int = 10) -> list[str]:
    """`n` distinct fresh codes, formatted for display."""
    if n < 1:
        raise ValueError("n must be at least 1")
    codes: dict[str, None] = {}
    while len(codes) < n:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        codes[raw] = None
    return [f"{raw[:GROUP]}-{raw[GROUP:]}" for raw in codes]


def normalize(code: str) -> str | None:
    """The canonical form of a typed code (10 alphabet characters), or None when the
    input cannot be a code."""
    if len(code) > MAX_INPUT_LENGTH:
        return None
    canonical = code.lower().translate(_IGNORED).translate(_LOOK_ALIKES)
    if len(canonical) != CODE_LENGTH or any(char not in ALPHABET for char in canonical):
        return None
    return canonical


def digest(code: str, key: bytes) -> bytes:
    """The keyed hash stored for a code; the same for every way of typing it.

    Raises ValueError for input that is not a code (check with `normalize` first)."""
    canonical = normalize(code)
    if canonical is None:
        raise ValueError("not a recovery code")
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).digest()
