"""Access tokens (DESIGN.md §4): signing, and validation that trusts nothing in the token.

Validation pins the algorithm, requires every claim, checks `typ`, `iss` and `aud`,
and picks the key by `kid` from configuration only — `jwk`, `jku`, `x5u` and `x5c`
headers are never consulted. Whether the session is still alive is checked afterwards
against the database (see auth/dependencies.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import jwt.algorithms
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import HMACAlgorithm

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
    required = {
        "OKP": ("crv", "kty", "x"),
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
    }
    members = {name: jwk[name] for name in required[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode().rstrip("=")
    published = {**members, "kid": kid, "alg": algorithm, "use": "sig"}
    return VerificationKey(kid=kid, algorithm=algorithm, key=public_key, public_jwk=published)


class KeyConfigurationError(Exception):
    pass


class _ConfiguredHMAC(HMACAlgorithm):
    """HMAC whose key is checked once, at start-up.

    PyJWT re-examines an HMAC secret on every call (is it a PEM, an SSH or DER key, a
    JWK?) to stop algorithm confusion; that costs more than the signature itself. Our
    secret is fixed and HS256 is only ever used with it (the algorithm is pinned per
    kid), so the examination runs once and its result is reused.
    """

    def __init__(self, secret: bytes) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._secret = secret
        self._prepared = super().prepare_key(secret)

    def prepare_key(self, key: str | bytes) -> bytes:
        if key == self._secret:
            return self._prepared
        return super().prepare_key(key)


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
        self._jwt = jwt.PyJWT()
        if self.algorithm == "HS256":
            secret = settings.signing_secret
            jws = self._jwt._jws  # PyJWT's own JWS object: swap in the checked-once HMAC
            jws.unregister_algorithm("HS256")
            jws.register_algorithm("HS256", _ConfiguredHMAC(secret))
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
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._ttl = timedelta(seconds=settings.access_token_ttl_seconds)

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
        return self._jwt.encode(
            claims, self._signing_key, algorithm=self.algorithm, headers=headers
        )

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
            claims = self._jwt.decode(
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
