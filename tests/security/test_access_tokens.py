"""Access-token validation (DESIGN.md §4): every hostile token is a `401`.

Tokens are forged with PyJWT (or by hand where PyJWT refuses to forge them) against the
app's real settings, then sent through HTTP; the claim-level cases are also run
directly against `TokenSigner.validate`, because security code is tested on its own too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.config import Settings
from tenantry.db import utcnow
from tenantry.identity.models import Session, User
from tenantry.security.jwt import MAX_TOKEN_LENGTH, TokenError, TokenSigner
from tests.conftest import TEST_SECRET, bearer, login, make_settings, register

OTHER_SECRET = "an-attackers-secret-that-is-also-long-enough!!"
_DROP = object()

_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_RSA_PRIVATE_PEM = _RSA_KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
)
_RSA_PUBLIC_PEM = _RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hand_signed_hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """HS256 by hand: PyJWT (rightly) refuses a PEM public key as an HMAC secret."""
    signing_input = (
        _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    ).encode("ascii")
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return signing_input.decode("ascii") + "." + _b64(signature)


@dataclass
class Forge:
    """What a forger knows: the ids of a real session, and the app's public settings."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    settings: Settings
    kid: str

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(self.user_id),
            "sid": str(self.session_id),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {key: value for key, value in claims.items() if value is not _DROP}

    def header(self, **overrides: Any) -> dict[str, Any]:
        header: dict[str, Any] = {"typ": "at+jwt", "kid": self.kid}
        header.update(overrides)
        return {key: value for key, value in header.items() if value is not _DROP}

    def token(
        self,
        claims: dict[str, Any] | None = None,
        header: dict[str, Any] | None = None,
        *,
        key: Any = TEST_SECRET,
        algorithm: str = "HS256",
    ) -> str:
        return jwt.encode(
            claims if claims is not None else self.claims(),
            key,
            algorithm=algorithm,
            headers=header if header is not None else self.header(),
        )


def _tampered_signature(forge: Forge) -> str:
    header, payload, signature = forge.token().split(".")
    # Change a middle character: the last one may only carry padding bits.
    middle = len(signature) // 2
    replacement = "A" if signature[middle] != "A" else "B"
    return f"{header}.{payload}.{signature[:middle]}{replacement}{signature[middle + 1 :]}"


def _attacker_jwk_header(forge: Forge) -> str:
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_RSA_KEY.public_key()))
    return forge.token(header=forge.header(jwk=public_jwk), key=_RSA_PRIVATE_PEM, algorithm="RS256")


def _attacker_oct_jwk_header(forge: Forge) -> str:
    attacker_key = {"kty": "oct", "k": _b64(OTHER_SECRET.encode())}
    return forge.token(header=forge.header(jwk=attacker_key), key=OTHER_SECRET)


def _attacker_jku_header(forge: Forge) -> str:
    header = forge.header(jku="https://attacker.example/jwks.json", kid="attacker-key")
    return forge.token(header=header, key=_RSA_PRIVATE_PEM, algorithm="RS256")


def _non_canonical_signature(forge: Forge) -> str:
    # The same signature bytes spelled differently: a 32-byte HMAC leaves 2 unused
    # bits in the last base64url character; setting one must not pass.
    header, payload, signature = forge.token().split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    return f"{header}.{payload}.{signature[:-1]}{alphabet[last | 1]}"


def _padded_segments(forge: Forge) -> str:
    header, payload, signature = forge.token().split(".")
    return f"{header}==.{payload}.{signature}"


def _nan_expiry(forge: Forge) -> str:
    # Python's json writes NaN; a validator comparing floats would let it through.
    return forge.token(forge.claims(exp=float("nan")))


def _oversized(forge: Forge) -> str:
    # Correctly signed, so only the size rule can refuse it.
    return forge.token(forge.claims(padding="x" * MAX_TOKEN_LENGTH))


# Tokens wrong on their own, whatever the database says: refused by `validate` itself.
HOSTILE_TOKENS: dict[str, Callable[[Forge], str]] = {
    "alg_none": lambda f: jwt.encode(f.claims(), None, algorithm="none", headers=f.header()),
    "alg_none_capitalised": lambda f: (
        hand_signed_hs256(f.header(alg="None"), f.claims(), b"").rpartition(".")[0] + "."
    ),
    "hs256_other_key": lambda f: f.token(key=OTHER_SECRET),
    "rs256_attacker_key": lambda f: f.token(key=_RSA_PRIVATE_PEM, algorithm="RS256"),
    "hs256_signed_with_public_key_pem": lambda f: hand_signed_hs256(
        f.header(alg="HS256"), f.claims(), _RSA_PUBLIC_PEM
    ),
    "bad_signature": _tampered_signature,
    "no_signature": lambda f: f.token().rpartition(".")[0] + ".",
    "expired_beyond_leeway": lambda f: f.token(
        f.claims(iat=int(time.time()) - 1000, exp=int(time.time()) - 60)
    ),
    "nbf_in_future": lambda f: f.token(f.claims(nbf=int(time.time()) + 120)),
    "wrong_iss": lambda f: f.token(f.claims(iss="https://attacker.example")),
    "wrong_aud": lambda f: f.token(f.claims(aud="some-other-api")),
    "missing_sub": lambda f: f.token(f.claims(sub=_DROP)),
    "missing_sid": lambda f: f.token(f.claims(sid=_DROP)),
    "missing_exp": lambda f: f.token(f.claims(exp=_DROP)),
    "missing_jti": lambda f: f.token(f.claims(jti=_DROP)),
    "missing_iat": lambda f: f.token(f.claims(iat=_DROP)),
    "missing_iss": lambda f: f.token(f.claims(iss=_DROP)),
    "missing_aud": lambda f: f.token(f.claims(aud=_DROP)),
    "sub_not_a_uuid": lambda f: f.token(f.claims(sub="admin")),
    "sid_not_a_uuid": lambda f: f.token(f.claims(sid="1 OR 1=1")),
    "exp_not_a_number": lambda f: f.token(f.claims(exp="tomorrow")),
    "wrong_typ": lambda f: f.token(header=f.header(typ="JWT")),
    "refresh_typ": lambda f: f.token(header=f.header(typ="refresh+jwt")),
    "missing_typ": lambda f: f.token(header=f.header(typ=_DROP)),
    "unknown_kid": lambda f: f.token(header=f.header(kid="hs-0000000000000000")),
    "missing_kid": lambda f: f.token(header=f.header(kid=_DROP)),
    "jwk_header_attacker_rsa_key": _attacker_jwk_header,
    "jwk_header_attacker_oct_key": _attacker_oct_jwk_header,
    "jku_header_attacker_url": _attacker_jku_header,
    "oversized": _oversized,
    "non_canonical_signature": _non_canonical_signature,
    "padded_segments": _padded_segments,
    "crit_header": lambda f: f.token(header=f.header(crit=["exp"])),
    "alg_header_differs_from_key": lambda f: hand_signed_hs256(
        f.header(alg="HS384"), f.claims(), TEST_SECRET.encode()
    ),
    "exp_is_a_boolean": lambda f: f.token(f.claims(exp=True)),
    "exp_is_a_numeric_string": lambda f: f.token(f.claims(exp=str(int(time.time()) + 300))),
    "exp_not_finite": _nan_expiry,
    "exp_beyond_any_calendar": lambda f: f.token(f.claims(exp=10**300)),
    "iat_in_the_future": lambda f: f.token(f.claims(iat=int(time.time()) + 600)),
    "aud_as_a_list": lambda f: f.token(f.claims(aud=[f.settings.jwt_audience, "other"])),
    "sub_not_a_string": lambda f: f.token(f.claims(sub=12345)),
    "garbage": lambda f: "this-is-not-a-token",
    "three_empty_parts": lambda f: "..",
    "garbage_three_parts": lambda f: "a.b.c",
    "header_not_json": lambda f: _b64(b"{not json") + "." + _b64(b"{}") + ".sig",
    "header_is_a_list": lambda f: _b64(b"[1, 2]") + "." + _b64(b"{}") + ".sig",
    "payload_not_json": lambda f: (
        _b64(json.dumps(f.header(alg="HS256")).encode()) + "." + _b64(b"\xff\xfe not json") + ".sig"
    ),
}


@pytest.fixture
async def forge(client: httpx.AsyncClient, app: FastAPI, settings: Settings) -> Forge:
    user = await register(client)
    real_token = await login(client, user["email"])
    claims = jwt.decode(real_token, options={"verify_signature": False})
    return Forge(
        user_id=uuid.UUID(user["id"]),
        session_id=uuid.UUID(claims["sid"]),
        settings=settings,
        kid=app.state.signer.kid,
    )


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_token"
    assert body["status"] == 401


async def test_forged_token_with_the_real_key_is_accepted(
    client: httpx.AsyncClient, forge: Forge
) -> None:
    # The control case: the forging helpers build valid tokens, so each hostile case
    # below fails for the one thing it changes.
    response = await client.get("/users/me", headers=bearer(forge.token()))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(forge.user_id)


async def test_token_expired_within_clock_skew_is_accepted(
    client: httpx.AsyncClient, forge: Forge
) -> None:
    now = int(time.time())
    token = forge.token(forge.claims(iat=now - 900, exp=now - 10))
    response = await client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("case", sorted(HOSTILE_TOKENS))
async def test_hostile_token_is_401(client: httpx.AsyncClient, forge: Forge, case: str) -> None:
    token = HOSTILE_TOKENS[case](forge)
    response = await client.get("/users/me", headers=bearer(token))
    assert_invalid_token(response)


async def test_missing_token_is_401_with_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token x"])
async def test_malformed_authorization_header_is_401(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get("/users/me", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


# --- the database half of validation: the token is perfect, its session or user is not ---


async def test_revoked_session_token_is_401(
    client: httpx.AsyncClient, forge: Forge, db: AsyncSession
) -> None:
    await db.execute(
        update(Session).where(Session.id == forge.session_id).values(revoked_at=utcnow())
    )
    await db.commit()
    assert_invalid_token(await client.get("/users/me", headers=bearer(forge.token())))


async def test_expired_session_token_is_401(
    client: httpx.AsyncClient, forge: Forge, db: AsyncSession
) -> None:
    await db.execute(
        update(Session)
        .where(Session.id == forge.session_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert_invalid_token(await client.get("/users/me", headers=bearer(forge.token())))


async def test_deactivated_user_token_is_401(
    client: httpx.AsyncClient, forge: Forge, db: AsyncSession
) -> None:
    await db.execute(update(User).where(User.id == forge.user_id).values(is_active=False))
    await db.commit()
    assert_invalid_token(await client.get("/users/me", headers=bearer(forge.token())))


async def test_deleted_user_token_is_401(
    client: httpx.AsyncClient, forge: Forge, db: AsyncSession
) -> None:
    await db.execute(delete(User).where(User.id == forge.user_id))
    await db.commit()
    assert (await db.scalar(select(Session).where(Session.id == forge.session_id))) is None
    assert_invalid_token(await client.get("/users/me", headers=bearer(forge.token())))


async def test_unknown_session_token_is_401(client: httpx.AsyncClient, forge: Forge) -> None:
    token = forge.token(forge.claims(sid=str(uuid.uuid4())))
    assert_invalid_token(await client.get("/users/me", headers=bearer(token)))


async def test_sub_not_matching_session_user_is_401(
    client: httpx.AsyncClient, forge: Forge
) -> None:
    # A correctly signed token naming someone else's user id on this user's session.
    other = await register(client)
    token = forge.token(forge.claims(sub=other["id"]))
    assert_invalid_token(await client.get("/users/me", headers=bearer(token)))
    # And the other way round: the other user's id with our session never reads them.
    other_token = await login(client, other["email"])
    other_sid = jwt.decode(other_token, options={"verify_signature": False})["sid"]
    token = forge.token(forge.claims(sid=other_sid))
    assert_invalid_token(await client.get("/users/me", headers=bearer(token)))


# --- TokenSigner.validate on its own ---


@pytest.fixture
def signer(settings: Settings) -> TokenSigner:
    return TokenSigner(settings)


@pytest.fixture
def offline_forge(signer: TokenSigner, settings: Settings) -> Forge:
    return Forge(user_id=uuid.uuid4(), session_id=uuid.uuid4(), settings=settings, kid=signer.kid)


def test_signer_issues_token_it_validates(signer: TokenSigner) -> None:
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    token = signer.issue(user_id=user_id, session_id=session_id)
    claims = signer.validate(token)
    assert claims.user_id == user_id
    assert claims.session_id == session_id
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "at+jwt", "kid": signer.kid}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"iss", "aud", "sub", "sid", "jti", "iat", "exp"}
    assert payload["exp"] - payload["iat"] == signer.ttl_seconds == 900


def test_signer_validates_forged_token_with_real_key(
    signer: TokenSigner, offline_forge: Forge
) -> None:
    claims = signer.validate(offline_forge.token())
    assert claims.user_id == offline_forge.user_id


@pytest.mark.parametrize("case", sorted(HOSTILE_TOKENS))
def test_signer_refuses_hostile_token(signer: TokenSigner, offline_forge: Forge, case: str) -> None:
    with pytest.raises(TokenError):
        signer.validate(HOSTILE_TOKENS[case](offline_forge))


def test_signer_with_other_secret_refuses_our_tokens(
    signer: TokenSigner, database_url: str
) -> None:
    other = TokenSigner(make_settings(database_url, secret_key=OTHER_SECRET))
    assert other.kid != signer.kid
    token = signer.issue(user_id=uuid.uuid4(), session_id=uuid.uuid4())
    with pytest.raises(TokenError):
        other.validate(token)


def test_signer_refuses_token_of_other_issuer_and_audience(database_url: str) -> None:
    ours = TokenSigner(make_settings(database_url))
    theirs = TokenSigner(
        make_settings(database_url, jwt_issuer="other-issuer", jwt_audience="other-api")
    )
    token = theirs.issue(user_id=uuid.uuid4(), session_id=uuid.uuid4())
    with pytest.raises(TokenError):
        ours.validate(token)


def test_rs256_deployment_refuses_hs256_signed_with_its_own_public_key(
    database_url: str, tmp_path: Path
) -> None:
    # The classic algorithm confusion: the attacker knows the published public key and
    # the kid, and asks the verifier to use that PEM as an HMAC secret.
    private_file = tmp_path / "private.pem"
    private_file.write_bytes(_RSA_PRIVATE_PEM)
    signer = TokenSigner(
        make_settings(database_url, jwt_algorithm="RS256", jwt_private_key_file=str(private_file))
    )
    forge = Forge(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        settings=make_settings(database_url),
        kid=signer.kid,
    )
    genuine = forge.token(key=_RSA_PRIVATE_PEM, algorithm="RS256")
    assert signer.validate(genuine).user_id == forge.user_id
    for public_pem in (_RSA_PUBLIC_PEM, _RSA_PUBLIC_PEM.strip()):
        confused = hand_signed_hs256(forge.header(alg="HS256"), forge.claims(), public_pem)
        with pytest.raises(TokenError):
            signer.validate(confused)
    with pytest.raises(TokenError):
        signer.validate(jwt.encode(forge.claims(), None, algorithm="none", headers=forge.header()))
