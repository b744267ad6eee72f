"""`security/totp.py` on its own: RFC 6238 codes as DESIGN.md §10 fixes them (SHA-1,
6 digits, 30 s, ±1 step) and the replay guard — a time step is accepted only when it
is later than the last step accepted for the factor.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest

from tenantry.security.totp import (
    accepted_step,
    code_at,
    new_secret,
    provisioning_uri,
    time_step,
)

# RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode("ascii")
RFC_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]

NOW = datetime(2026, 12, 1, 20, 30, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # fixed: the tests below are deterministic
OTHER_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
STEP = time_step(NOW)


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize(("unix_time", "expected"), RFC_SHA1_VECTORS)
def test_pyotp_gives_the_rfc_6238_sha1_vectors_with_8_digits(unix_time: int, expected: str) -> None:
    assert pyotp.TOTP(RFC_SECRET, digits=8).at(unix_time) == expected


@pytest.mark.parametrize(("unix_time", "expected"), RFC_SHA1_VECTORS)
def test_the_6_digit_code_is_the_rfc_vector_truncated_and_is_accepted(
    unix_time: int, expected: str
) -> None:
    # The dynamic truncation keeps code mod 10^digits: 6 digits are the last 6 of 8.
    code = expected[-6:]
    assert code_at(RFC_SECRET, unix_time // 30) == code
    assert accepted_step(RFC_SECRET, code, now=_at(unix_time), last_step=None) == unix_time // 30


def test_the_current_code_is_accepted_and_its_step_returned() -> None:
    assert accepted_step(SECRET, code_at(SECRET, STEP), now=NOW, last_step=None) == STEP


def test_a_time_step_is_30_seconds() -> None:
    assert time_step(_at(0)) == 0
    assert time_step(_at(29)) == 0
    assert time_step(_at(30)) == 1
    assert time_step(NOW + timedelta(seconds=30)) == STEP + 1


@pytest.mark.parametrize("drift", [-1, 1])
def test_a_code_one_step_early_or_late_is_accepted(drift: int) -> None:
    code = code_at(SECRET, STEP + drift)
    assert accepted_step(SECRET, code, now=NOW, last_step=None) == STEP + drift


@pytest.mark.parametrize("drift", [-3, -2, 2, 3])
def test_a_code_two_or_more_steps_away_is_refused(drift: int) -> None:
    code = code_at(SECRET, STEP + drift)
    # (It is not also the code of a step inside the window, for this secret and time.)
    window = {code_at(SECRET, STEP + offset) for offset in (-1, 0, 1)}
    assert code not in window
    assert accepted_step(SECRET, code, now=NOW, last_step=None) is None


def test_a_wrong_code_is_refused() -> None:
    window = {code_at(SECRET, STEP + offset) for offset in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window)
    assert accepted_step(SECRET, wrong, now=NOW, last_step=None) is None


def test_a_code_for_another_secret_is_refused() -> None:
    code = code_at(OTHER_SECRET, STEP)
    assert code not in {code_at(SECRET, STEP + offset) for offset in (-1, 0, 1)}
    assert accepted_step(SECRET, code, now=NOW, last_step=None) is None
    assert accepted_step(OTHER_SECRET, code, now=NOW, last_step=None) == STEP


def test_the_same_code_replayed_is_refused() -> None:
    code = code_at(SECRET, STEP)
    step = accepted_step(SECRET, code, now=NOW, last_step=None)
    assert step == STEP
    assert accepted_step(SECRET, code, now=NOW, last_step=step) is None
    # Still refused 20 seconds later, while the code is within the drift window.
    later = NOW + timedelta(seconds=20)
    assert accepted_step(SECRET, code, now=later, last_step=step) is None


def test_an_earlier_step_after_a_later_one_is_refused() -> None:
    later_step = accepted_step(SECRET, code_at(SECRET, STEP + 1), now=NOW, last_step=None)
    assert later_step == STEP + 1
    for earlier in (STEP - 1, STEP):
        assert (
            accepted_step(SECRET, code_at(SECRET, earlier), now=NOW, last_step=later_step) is None
        )


def test_a_step_later_than_the_last_accepted_one_is_accepted() -> None:
    code = code_at(SECRET, STEP)
    assert accepted_step(SECRET, code, now=NOW, last_step=STEP - 1) == STEP


@pytest.mark.parametrize(
    "code",
    [
        "",
        "12345",
        "1234567",
        "12345a",
        " 123456",
        "123456 ",
        "123 456",
        "123456\n",
        "-12345",
        "+12345",
        "".join(chr(0x0661 + n) for n in range(6)),  # Arabic-Indic digits
        "".join(chr(0xFF11 + n) for n in range(6)),  # fullwidth digits
        "9" * 10_000,
    ],
)
def test_input_that_is_not_six_ascii_digits_is_refused(code: str) -> None:
    assert accepted_step(SECRET, code, now=NOW, last_step=None) is None


def test_the_real_code_with_extra_characters_is_refused() -> None:
    code = code_at(SECRET, STEP)
    for changed in (code + "0", " " + code, code[:3] + "-" + code[3:], "0" + code):
        assert accepted_step(SECRET, changed, now=NOW, last_step=None) is None


def test_a_naive_time_is_an_error() -> None:
    with pytest.raises(ValueError, match="naive"):
        accepted_step(SECRET, "123456", now=datetime(2026, 12, 1), last_step=None)


def test_a_new_secret_is_160_random_bits_in_base32() -> None:
    secret = new_secret()
    assert len(secret) == 32
    assert len(base64.b32decode(secret)) == 20
    assert len({new_secret() for _ in range(50)}) == 50


def test_the_provisioning_uri_names_the_account_issuer_and_parameters() -> None:
    uri = provisioning_uri(SECRET, account="ada@example.com", issuer="Tenantry")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth"
    assert parts.netloc == "totp"
    assert unquote(parts.path) == "/Tenantry:ada@example.com"
    query = parse_qs(parts.query)
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["Tenantry"]
    # The defaults of every authenticator app, stated or left implicit.
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]
