"""Access tokens (DESIGN.md §4): signing, and validation that trusts nothing in the token.

Validation pins the algorithm, requires every claim, checks `typ`, `iss` and `aud`,
and picks the key by `kid` from configuration only — `jwk`, `jku`, `x5u` and `x5c`
headers are never consulted. Whether the session is still alive is checked afterwards
against the database (see identity/dependencies.py).
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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import jwt.algorithms
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tenantry.config import Settings

ACCESS_TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "jti", "iat", "exp")
# How the user authenticated (DESIGN.md §10). Written into every token; optional on
# validation (type-checked when present) so the tokens issued before they existed
# stay valid for their few minutes, and such a token never passes step-up.
ACR_MFA = "urn:tenantry:acr:mfa"
ACR_PASSWORD = "urn:tenantry:acr:pwd"
MAX_AMR_VALUES = 8
MAX_TOKEN_LENGTH = 4096


class TokenError(Exception):
    """The token is not a valid access token; the reason is for logs, not for clients."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    token_id: str
    expires_at: datetime
    auth_time: int | None = None
    amr: tuple[str, ...] = ()
    acr: str | None = None


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str
    algorithm: str
    key: Any
    public_jwk: dict[str, Any] | None  # None for symmetric keys: never published


_THUMBPRINT_MEMBERS = {
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
}


def _algorithm_for(public_key: Any) -> str:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == "secp256r1":
        return "ES256"
    raise KeyConfigurationError("only Ed25519, RSA and P-256 keys are supported")


def public_verification_key(public_key: Any, algorithm: str | None = None) -> VerificationKey:
    algorithm = algorithm or _algorithm_for(public_key)
    jwk: dict[str, Any] = json.loads(
        jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(public_key)
    )
    # RFC 7638 thumbprint: the kid is derived from the key, so it cannot drift from it.
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode().rstrip("=")
    published = {**members, "kid": kid, "alg": algorithm, "use": "sig"}
    return VerificationKey(kid=kid, algorithm=algorithm, key=public_key, public_jwk=published)


class KeyConfigurationError(Exception):
    pass


Verifier = Callable[[bytes, bytes], bool]


def _verifier(key: VerificationKey) -> Verifier:
    """Signature check for one configured key, its algorithm pinned, prepared once."""
    if key.algorithm == "HS256":
        secret: bytes = key.key

        def verify_hmac(signing_input: bytes, signature: bytes) -> bool:
            return hmac.compare_digest(hmac.digest(secret, signing_input, "sha256"), signature)

        return verify_hmac
    algorithm = jwt.algorithms.get_default_algorithms()[key.algorithm]
    public_key = algorithm.prepare_key(key.key)

    def verify_public(signing_input: bytes, signature: bytes) -> bool:
        return bool(algorithm.verify(signing_input, public_key, signature))

    return verify_public


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _segment(value: str, name: str) -> bytes:
    """Strict base64url (RFC 7515 §2): no padding, no other characters, canonical."""
    if not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise TokenError(f"malformed {name}")
    decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    # Unused trailing bits must be zero, so a signature has exactly one spelling.
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != value.encode("ascii"):
        raise TokenError(f"malformed {name}")
    return decoded


def _json_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    # ValueError covers UnicodeDecodeError and integers too long to convert; deep
    # nesting (`[[[[…`) exhausts the parser's recursion limit.
    except (ValueError, RecursionError) as exc:
        raise TokenError(f"malformed {name}") from exc
    if not isinstance(value, dict):
        raise TokenError(f"malformed {name}")
    return value


def _numeric_date(claims: dict[str, Any], name: str) -> int | float:
    """A JSON number (RFC 7519 §2), kept as parsed: an integer too large for a float
    still compares exactly, where converting it would raise OverflowError."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError(f"{name} is not a NumericDate")
    if isinstance(value, float) and not math.isfinite(value):  # NaN, 1e400
        raise TokenError(f"{name} is not a NumericDate")
    return value


def _load_private_key(path: str) -> Any:
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def _load_public_key(path: str) -> Any:
    data = Path(path).read_bytes()
    if b"PRIVATE KEY" in data:
        return serialization.load_pem_private_key(data, password=None).public_key()
    return serialization.load_pem_public_key(data)


class TokenSigner:
    """Issues and validates access tokens with the configured keys.

    HS256 signs with `SECRET_KEY`. EdDSA, RS256 and ES256 sign with the private key in
    `JWT_PRIVATE_KEY_FILE`; `JWT_PUBLIC_KEY_FILES` adds keys that still verify (key
    rotation) and are published in the JWKS document.
    """

    def __init__(self, settings: Settings) -> None:
        self._verification_keys: dict[str, VerificationKey] = {}
        self.algorithm: str = settings.jwt_algorithm
        if self.algorithm == "HS256":
            secret = settings.signing_secret
            kid = "hs-" + hashlib.sha256(b"tenantry-kid:" + secret).hexdigest()[:16]
            self._signing_key: Any = secret
            self.kid = kid
            self._verification_keys[kid] = VerificationKey(kid, "HS256", secret, None)
        else:
            if not settings.jwt_private_key_file:
                raise KeyConfigurationError(f"{self.algorithm} needs JWT_PRIVATE_KEY_FILE")
            self._signing_key = _load_private_key(settings.jwt_private_key_file)
            signing = public_verification_key(self._signing_key.public_key())
            if signing.algorithm != self.algorithm:
                raise KeyConfigurationError(
                    f"JWT_PRIVATE_KEY_FILE holds a {signing.algorithm} key, not {self.algorithm}"
                )
            self.kid = signing.kid
            self._verification_keys[signing.kid] = signing
        for path in settings.jwt_public_key_files:
            extra = public_verification_key(_load_public_key(path))
            self._verification_keys.setdefault(extra.kid, extra)
        self._verifiers = {kid: _verifier(key) for kid, key in self._verification_keys.items()}
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._ttl = timedelta(seconds=settings.access_token_ttl_seconds)
        self._leeway = settings.jwt_leeway_seconds

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys, for other services to verify our tokens (RFC 7517)."""
        return {
            "keys": [
                key.public_jwk
                for key in self._verification_keys.values()
                if key.public_jwk is not None
            ]
        }

    @property
    def ttl_seconds(self) -> int:
        return int(self._ttl.total_seconds())

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        auth_time: datetime | None = None,
        amr: list[str] | None = None,
        acr: str | None = None,
    ) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + self._ttl,
        }
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        if amr is not None:
            claims["amr"] = amr
        if acr is not None:
            claims["acr"] = acr
        headers = {"typ": ACCESS_TOKEN_TYPE, "kid": self.kid}
        return jwt.encode(claims, self._signing_key, algorithm=self.algorithm, headers=headers)

    def validate(self, token: str) -> AccessClaims:
        """Check an access token in memory; raise `TokenError` for anything short of perfect.

        Hand-written rather than PyJWT's `decode`, which parsed the token twice and
        checked base64 one character at a time: this runs on every request (issue 8).
        The rules are the same, a little stricter (no `crit`, NumericDates must be JSON
        numbers, one audience as a string, a non-empty `jti`). It is total — any string
        gives claims or `TokenError` — and accepts exactly what PyJWT and joserfc accept
        under these rules (tests/security/test_token_properties.py);
        tests/security/test_access_tokens.py sends each hostile case.
        """
        # Refuse cheaply before any parsing or cryptography.
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or token.count(".") != 2:
            raise TokenError("malformed token")
        header_part, payload_part, signature_part = token.split(".")
        header = _json_object(_segment(header_part, "header"), "header")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise TokenError("wrong token type")
        kid = header.get("kid")
        key = self._verification_keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenError("unknown kid")
        # The algorithm is the key's own; `none` or another one named in the header
        # is refused, and `jwk`, `jku`, `x5u`, `x5c` are never read.
        if header.get("alg") != key.algorithm:
            raise TokenError("algorithm not allowed for this key")
        if "crit" in header:
            raise TokenError("critical header extensions are not supported")
        signature = _segment(signature_part, "signature")
        signing_input = f"{header_part}.{payload_part}".encode("ascii")
        if not self._verifiers[key.kid](signing_input, signature):
            raise TokenError("bad signature")
        claims = _json_object(_segment(payload_part, "payload"), "payload")
        return self._check_claims(claims)

    def _check_claims(self, claims: dict[str, Any]) -> AccessClaims:
        missing = [name for name in REQUIRED_CLAIMS if claims.get(name) is None]
        if missing:
            raise TokenError(f"missing claims: {', '.join(missing)}")
        now = time.time()
        expires = _numeric_date(claims, "exp")
        if expires <= now - self._leeway:
            raise TokenError("expired")
        if _numeric_date(claims, "iat") > now + self._leeway:
            raise TokenError("issued in the future")
        if "nbf" in claims and _numeric_date(claims, "nbf") > now + self._leeway:
            raise TokenError("not yet valid")
        if claims["iss"] != self._issuer:
            raise TokenError("wrong issuer")
        # One audience, ours, as a string: a list is refused (strict, as before).
        if claims["aud"] != self._audience:
            raise TokenError("wrong audience")
        subject, session, token_id = claims["sub"], claims["sid"], claims["jti"]
        if not (
            isinstance(subject, str)
            and isinstance(session, str)
            and isinstance(token_id, str)
            and token_id
        ):
            raise TokenError("sub, sid and jti must be strings, jti not empty")
        auth_time, amr, acr = _authentication_claims(claims)
        try:
            return AccessClaims(
                user_id=uuid.UUID(subject),
                session_id=uuid.UUID(session),
                token_id=token_id,
                expires_at=datetime.fromtimestamp(int(expires), UTC),
                auth_time=auth_time,
                amr=amr,
                acr=acr,
            )
        except (ValueError, OverflowError, OSError) as exc:
            raise TokenError("sub or sid is not a UUID, or exp is out of range") from exc


def _authentication_claims(
    claims: dict[str, Any],
) -> tuple[int | None, tuple[str, ...], str | None]:
    """`auth_time`, `amr` and `acr` when present; a wrong type is a bad token."""
    auth_time: int | None = None
    if "auth_time" in claims:
        value = claims["auth_time"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**40:
            raise TokenError("auth_time is not an integer NumericDate")
        auth_time = value
    amr: tuple[str, ...] = ()
    if "amr" in claims:
        values = claims["amr"]
        if (
            not isinstance(values, list)
            or len(values) > MAX_AMR_VALUES
            or not all(isinstance(one, str) for one in values)
        ):
            raise TokenError("amr is not a short list of strings")
        amr = tuple(values)
    acr = claims.get("acr")
    if acr is not None and not isinstance(acr, str):
        raise TokenError("acr is not a string")
    return auth_time, amr, acr
