"""Time-based one-time passwords (RFC 6238) as DESIGN.md §10 fixes them: SHA-1,
6 digits, 30-second steps, one step of clock drift either way, and each time step
accepted at most once per factor (the caller stores the step returned here).
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from datetime import datetime

import pyotp

DIGITS = 6
PERIOD_SECONDS = 30
DRIFT_STEPS = 1
SECRET_BYTES = 20  # 160 bits, the HMAC-SHA-1 block RFC 4226 recommends

_CODE = re.compile(r"[0-9]{6}")


def new_secret() -> str:
    """A fresh random secret, base32 without padding (what authenticator apps take)."""
    # 20 bytes are 32 base32 characters exactly: no padding to strip.
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI an authenticator app reads from a QR code."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def time_step(now: datetime) -> int:
    if now.tzinfo is None:
        raise ValueError("naive datetime given for a TOTP time")
    return int(now.timestamp()) // PERIOD_SECONDS


def accepted_step(secret: str, code: str, *, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to, when it is right for a step within the drift
    window and later than `last_step` (replay guard); otherwise None."""
    if len(code) != DIGITS or not _CODE.fullmatch(code):
        return None
    totp = _totp(secret)
    current = time_step(now)
    accepted: int | None = None
    # Every candidate is compared, in constant time, whether or not one matched.
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        matches = hmac.compare_digest(totp.generate_otp(step).encode(), code.encode())
        if matches and (last_step is None or step > last_step):
            accepted = step
    return accepted


def code_at(secret: str, step: int) -> str:
    """The code for one time step (tests and the enrolment screen's example)."""
    return _totp(secret).generate_otp(step)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS)
