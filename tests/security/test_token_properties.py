"""`TokenSigner.validate` is total and agrees with maintained JOSE libraries (DESIGN.md §4).

Total: for every string it returns claims or raises `TokenError` — any other exception
would be a 500 on every protected route. Differential: tokens built with PyJWT (valid
ones, hostile ones, and mutations of both) are accepted by ours exactly when PyJWT and
joserfc, configured with the same key and rules, accept them, and with the same claims.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import OctKey
from joserfc.jws import JWSRegistry
from pydantic import ValidationError

from tenantry.config import Settings
from tenantry.security.jwt import MAX_TOKEN_LENGTH, REQUIRED_CLAIMS, TokenError, TokenSigner
from tests.conftest import TEST_SECRET, make_settings

# No database is opened: the signer only reads keys and claim rules from settings.
SETTINGS = make_settings("sqlite+aiosqlite://")
SIGNER = TokenSigner(SETTINGS)
KEY = TEST_SECRET.encode()
ISSUER, AUDIENCE, LEEWAY = SETTINGS.jwt_issuer, SETTINGS.jwt_audience, SETTINGS.jwt_leeway_seconds
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Outcome = tuple[uuid.UUID, uuid.UUID, str, datetime] | None


def ours(token: str) -> Outcome:
    """Our verdict; anything but `TokenError` propagates and fails the test."""
    try:
        claims = SIGNER.validate(token)
    except TokenError:
        return None
    return claims.user_id, claims.session_id, claims.token_id, claims.expires_at


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _is_numeric_date(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def tenantry_rules(header: dict[str, Any], claims: dict[str, Any]) -> Outcome:
    """What DESIGN.md §4 asks beyond what the libraries check, applied to what they
    verified: our `typ` and `kid`, no `crit`, one audience as a string, NumericDates that
    are JSON numbers (PyJWT takes "123" and true), ids that are UUIDs, a non-empty `jti`
    and an `exp` a calendar can hold."""
    if header.get("typ") != "at+jwt" or header.get("kid") != SIGNER.kid or "crit" in header:
        return None
    if not all(_is_numeric_date(claims[n]) for n in ("exp", "iat", "nbf") if n in claims):
        return None
    sub, sid, jti = claims["sub"], claims["sid"], claims["jti"]
    if claims["aud"] != AUDIENCE or not isinstance(jti, str) or not jti:
        return None
    if not (isinstance(sub, str) and isinstance(sid, str)):
        return None
    try:
        return uuid.UUID(sub), uuid.UUID(sid), jti, datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (ValueError, OverflowError, OSError):
        return None


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _canonical_base64url(token: str) -> bool:
    """RFC 7515 §2 base64url, one spelling per value: PyJWT decodes leniently (it drops
    unknown characters and ignores padding bits); joserfc is strict like ours."""
    for part in token.split("."):
        if not _BASE64URL.fullmatch(part) or len(part) % 4 == 1:
            return False
        if _b64(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) != part:
            return False
    return True


def pyjwt_verdict(token: str) -> Outcome:
    if len(token) > MAX_TOKEN_LENGTH or not _canonical_base64url(token):
        return None
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(
            token,
            KEY,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except Exception:  # a reference that cannot read a token refuses it
        return None
    return tenantry_rules(header, claims)


JOSERFC_KEY = OctKey.import_key(KEY)
# Header members the token's signer chose but nobody reads (`jku`, `x5u`…) are allowed:
# ours ignores them too.
JOSERFC_REGISTRY = JWSRegistry(strict_check_header=False, algorithms=["HS256"])


def joserfc_verdict(token: str) -> Outcome:
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        decoded = joserfc_jwt.decode(
            token, JOSERFC_KEY, algorithms=["HS256"], registry=JOSERFC_REGISTRY
        )
        joserfc_jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            **{name: {"essential": True} for name in ("sub", "sid", "jti", "iat", "exp")},
        ).validate(decoded.claims)
    except Exception:  # a reference that cannot read a token refuses it
        return None
    return tenantry_rules(decoded.header, decoded.claims)


# --- token generators ---

_DROP = object()
# Offsets in seconds from now, none within a second or two of a leeway boundary.
_OFFSETS = st.sampled_from([-(10**6), -3600, -100, -45, -10, 0, 10, 45, 100, 3600, 10**6])
_HOSTILE_DATES = st.sampled_from(
    [True, False, "1999999999", None, [], {}, 1e300, 10**400, -(10**400), float("nan"), -1.5]
)
_UUID_TEXT = st.uuids().map(str)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _fields(now: int) -> dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]]:
    """Each part of a token: how it looks when right, and the ways it can be wrong."""
    dates = _OFFSETS.map(lambda seconds: now + seconds)
    wrong_dates = st.one_of(_HOSTILE_DATES, st.just(_DROP), _JSON)

    def wrong(*values: Any) -> st.SearchStrategy[Any]:
        return st.one_of(st.sampled_from([*values, _DROP]), _JSON)

    return {
        "iss": (st.just(ISSUER), wrong("other", "", [ISSUER])),
        "aud": (st.just(AUDIENCE), wrong("other", [AUDIENCE], [AUDIENCE, "x"])),
        "sub": (_UUID_TEXT, wrong("admin", "", 12345, "{" + str(uuid.UUID(int=1)) + "}")),
        "sid": (_UUID_TEXT, wrong("1 OR 1=1", str(uuid.UUID(int=2)).upper())),
        "jti": (st.uuids().map(lambda u: u.hex), wrong("", 7)),
        "iat": (dates, wrong_dates),
        "exp": (dates, wrong_dates),
        "nbf": (st.just(_DROP), st.one_of(dates, wrong_dates)),
        "typ": (st.just("at+jwt"), wrong("JWT", "refresh+jwt", "AT+JWT")),
        "kid": (st.just(SIGNER.kid), wrong("hs-0000000000000000", SIGNER.kid + " ")),
        "crit": (st.just(_DROP), st.sampled_from([["exp"], [], "exp"])),
        "jku": (st.just(_DROP), st.just("https://attacker.example/jwks.json")),
        "alg": (st.just("HS256"), st.sampled_from(["HS384", "none", "hs256", "RS256"])),
        "key": (st.just(KEY), st.just(b"an-attackers-secret-that-is-also-long-enough!!")),
    }


_HEADER_MEMBERS = ("typ", "kid", "crit", "jku", "alg")


@st.composite
def built_tokens(draw: st.DrawFn) -> str:
    """A token right in all but a few parts (none, often), so that valid tokens and
    tokens wrong in exactly one way are both common."""
    fields = _fields(int(time.time()))
    broken = draw(st.sets(st.sampled_from(sorted(fields)), max_size=2))
    values = {
        name: draw(wrong if name in broken else right) for name, (right, wrong) in fields.items()
    }
    key = values.pop("key")
    header = {name: values.pop(name) for name in _HEADER_MEMBERS}
    claims = {**draw(st.dictionaries(st.sampled_from(["scope", "org_id"]), _JSON, max_size=2))}
    claims.update(values)
    return _signed(
        {name: value for name, value in header.items() if value is not _DROP},
        {name: value for name, value in claims.items() if value is not _DROP},
        key,
    )


def _signed(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """Signed by hand: PyJWT refuses to write some of the hostile claims (a non-string
    `iss`), and a verifier must refuse what a forger writes, not what PyJWT writes."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384}.get(header.get("alg"))
    signature = hmac.digest(key, signing_input.encode(), digest) if digest else b""
    return f"{signing_input}.{_b64(signature)}"


_MUTATION_CHARACTERS = st.sampled_from([*"Aa0-_=.+/ é\x00\u202e[{", "\U0001f600"])


@st.composite
def mutated(draw: st.DrawFn, tokens: st.SearchStrategy[str]) -> str:
    token = draw(tokens)
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(token)))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        character = draw(_MUTATION_CHARACTERS)
        if kind == "replace":
            token = token[:position] + character + token[position + 1 :]
        elif kind == "insert":
            token = token[:position] + character + token[position:]
        elif kind == "delete":
            token = token[:position] + token[position + 1 :]
        else:
            token = token[:position]
    return token


def _segments_from(parts: list[bytes]) -> str:
    return ".".join(_b64(part) for part in parts)


def _with_payload(token: str, payload: str) -> str:
    header, _payload, signature = token.split(".")
    return f"{header}.{payload}.{signature}"


_ISSUED = SIGNER.issue(user_id=uuid.uuid4(), session_id=uuid.uuid4())


_SEGMENT_BYTES = st.one_of(
    st.binary(max_size=64),
    _JSON.map(lambda value: json.dumps(value).encode()),
    # Hypothesis raises the recursion limit while it runs a test: nest deeper than that.
    st.integers(1, 3000).map(lambda depth: b"[" * depth),
    st.integers(1, 600).map(lambda depth: b'{"a":' * depth),
)


# --- totality ---


@PROPERTY
@given(st.text(max_size=5000))
@example(_b64(b"[" * 3000) + "." + _b64(b"{}") + ".c2ln")
@example(_with_payload(_ISSUED, "ey\u00e9"))
@example(_with_payload(_ISSUED, "\x00"))
def test_validate_is_total_on_any_string(token: str) -> None:
    ours(token)


@PROPERTY
@given(st.lists(_SEGMENT_BYTES, min_size=3, max_size=3).map(_segments_from))
def test_validate_is_total_on_any_three_segments(token: str) -> None:
    ours(token)


@PROPERTY
@given(mutated(built_tokens()))
def test_validate_is_total_on_mutated_tokens(token: str) -> None:
    ours(token)


def test_deeply_nested_header_is_a_token_error() -> None:
    # The reported crash: 1,500 `[` in the header raised RecursionError.
    header = _b64(b"[" * 1500)
    with pytest.raises(TokenError):
        SIGNER.validate(f"{header}.{_b64(b'{}')}.c2ln")
    with pytest.raises(TokenError):
        SIGNER.validate(header)


def test_non_ascii_segment_is_a_token_error() -> None:
    # The reported crash: a non-ASCII character in the payload raised UnicodeEncodeError.
    with pytest.raises(TokenError):
        SIGNER.validate(_with_payload(_ISSUED, "eyJ\u00e9"))


def test_exp_too_large_for_a_float_is_a_token_error() -> None:
    # JSON integers are unbounded; converting 10**400 to a float raised OverflowError.
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "jti": "x",
        "iat": now,
        "exp": 10**400,
    }
    token = jwt.encode(claims, KEY, headers={"typ": "at+jwt", "kid": SIGNER.kid})
    with pytest.raises(TokenError):
        SIGNER.validate(token)


# --- agreement with the references ---


def test_references_accept_what_we_issue() -> None:
    # The control: the references are configured to accept a good token, so every
    # disagreement below is about the one thing a generated token changes.
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    token = SIGNER.issue(user_id=user_id, session_id=session_id)
    verdict = ours(token)
    assert verdict is not None
    assert verdict[:2] == (user_id, session_id)
    assert pyjwt_verdict(token) == joserfc_verdict(token) == verdict


@PROPERTY
@given(built_tokens())
def test_validate_agrees_with_pyjwt_and_joserfc(token: str) -> None:
    verdict = ours(token)
    event("accepted" if verdict else "refused")
    assert verdict == pyjwt_verdict(token) == joserfc_verdict(token)


@PROPERTY
@given(mutated(built_tokens()))
def test_validate_agrees_on_mutated_tokens(token: str) -> None:
    assert ours(token) == pyjwt_verdict(token) == joserfc_verdict(token)


# --- clock skew ---


def _token_expired_seconds_ago(seconds: int) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "jti": "x",
        "iat": now - 900,
        "exp": now - seconds,
    }
    return jwt.encode(claims, KEY, headers={"typ": "at+jwt", "kid": SIGNER.kid})


def test_leeway_is_a_setting() -> None:
    token = _token_expired_seconds_ago(10)
    assert ours(token) is not None
    strict = TokenSigner(make_settings("sqlite+aiosqlite://", jwt_leeway_seconds=0))
    with pytest.raises(TokenError):
        strict.validate(token)


def test_leeway_above_thirty_seconds_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, jwt_leeway_seconds=31)
