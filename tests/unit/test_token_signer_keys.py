"""`TokenSigner` with asymmetric keys, key rotation and clock edges; `keys.py`.

tests/security/test_access_tokens.py sends every hostile HS256 token at `validate`;
these cover what only the HTTP tests touched: signers built from key files, the
rotation list, the JWKS document, key files that do not fit, and the leeway edges.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tenantry.security.jwt import (
    KeyConfigurationError,
    TokenError,
    TokenSigner,
    public_verification_key,
)
from tenantry.security.keys import generate_key_pair
from tests.conftest import make_settings

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def _signer(**overrides: Any) -> TokenSigner:
    return TokenSigner(make_settings("sqlite+aiosqlite://", **overrides))


def _private_key(path: Path) -> Any:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    settings = make_settings("sqlite+aiosqlite://")
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return claims


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, str]]:
    """One key pair per algorithm, and a second EdDSA pair for rotation."""
    base = tmp_path_factory.mktemp("keys")
    pairs = {alg: generate_key_pair(alg, base / alg) for alg in ("EdDSA", "ES256", "RS256")}
    pairs["EdDSA-next"] = generate_key_pair("EdDSA", base / "next")
    return pairs


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_an_asymmetric_signer_validates_what_it_issues_and_publishes_only_public_members(
    key_files: dict[str, tuple[Path, Path, str]], algorithm: str
) -> None:
    private, _public, kid = key_files[algorithm]
    signer = _signer(jwt_algorithm=algorithm, jwt_private_key_file=str(private))
    user_id, session_id = uuid.uuid4(), uuid.uuid4()

    claims = signer.validate(signer.issue(user_id=user_id, session_id=session_id))

    assert (claims.user_id, claims.session_id) == (user_id, session_id)
    assert signer.kid == kid
    [published] = signer.jwks()["keys"]
    assert published["kid"] == kid
    assert published["alg"] == algorithm
    assert not PRIVATE_MEMBERS & set(published)


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_a_tampered_payload_under_an_asymmetric_key_is_refused(
    key_files: dict[str, tuple[Path, Path, str]], algorithm: str
) -> None:
    private, _public, _kid = key_files[algorithm]
    signer = _signer(jwt_algorithm=algorithm, jwt_private_key_file=str(private))
    header, _payload, signature = signer.issue(user_id=uuid.uuid4(), session_id=uuid.uuid4()).split(
        "."
    )
    forged = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError, match="bad signature"):
        signer.validate(f"{header}.{forged}.{signature}")


def test_a_rotated_out_key_still_verifies_while_listed_but_never_signs(
    key_files: dict[str, tuple[Path, Path, str]],
) -> None:
    old_private, old_public, old_kid = key_files["EdDSA"]
    new_private, _new_public, new_kid = key_files["EdDSA-next"]
    old_token = _signer(jwt_algorithm="EdDSA", jwt_private_key_file=str(old_private)).issue(
        user_id=uuid.uuid4(), session_id=uuid.uuid4()
    )

    rotated = _signer(
        jwt_algorithm="EdDSA",
        jwt_private_key_file=str(new_private),
        jwt_public_key_files=str(old_public),
    )

    assert rotated.validate(old_token)
    assert (
        jwt.get_unverified_header(rotated.issue(user_id=uuid.uuid4(), session_id=uuid.uuid4()))[
            "kid"
        ]
        == new_kid
    )
    assert [key["kid"] for key in rotated.jwks()["keys"]] == [new_kid, old_kid]
    dropped = _signer(jwt_algorithm="EdDSA", jwt_private_key_file=str(new_private))
    with pytest.raises(TokenError, match="unknown kid"):
        dropped.validate(old_token)


def test_a_private_pem_in_the_public_key_list_publishes_only_its_public_part(
    key_files: dict[str, tuple[Path, Path, str]],
) -> None:
    new_private, _public, _kid = key_files["EdDSA-next"]
    extra_private, _extra_public, extra_kid = key_files["ES256"]
    signer = _signer(
        jwt_algorithm="EdDSA",
        jwt_private_key_file=str(new_private),
        jwt_public_key_files=f"{extra_private},{extra_private}",  # listed twice, too
    )
    keys = signer.jwks()["keys"]
    assert [key["kid"] for key in keys].count(extra_kid) == 1
    assert not any(PRIVATE_MEMBERS & set(key) for key in keys)


def test_a_token_under_one_keys_kid_signed_by_another_key_is_refused(
    key_files: dict[str, tuple[Path, Path, str]],
) -> None:
    _old_private, old_public, old_kid = key_files["EdDSA"]
    new_private, _new_public, _new_kid = key_files["EdDSA-next"]
    signer = _signer(
        jwt_algorithm="EdDSA",
        jwt_private_key_file=str(new_private),
        jwt_public_key_files=str(old_public),
    )
    # Signed with the new key but naming the old one: the kid picks the key, not the token.
    token = jwt.encode(
        _claims(),
        _private_key(new_private),
        algorithm="EdDSA",
        headers={"typ": "at+jwt", "kid": old_kid},
    )
    with pytest.raises(TokenError, match="bad signature"):
        signer.validate(token)


def test_an_alg_header_other_than_the_kids_own_is_refused(
    key_files: dict[str, tuple[Path, Path, str]],
) -> None:
    private, _public, kid = key_files["ES256"]
    signer = _signer(jwt_algorithm="ES256", jwt_private_key_file=str(private))
    attacker_private, _attacker_public, _attacker_kid = key_files["EdDSA"]
    # The kid of our P-256 key, the algorithm and signature of another key.
    token = jwt.encode(
        _claims(),
        _private_key(attacker_private),
        algorithm="EdDSA",
        headers={"typ": "at+jwt", "kid": kid},
    )
    with pytest.raises(TokenError, match="algorithm not allowed"):
        signer.validate(token)


def test_an_asymmetric_algorithm_without_a_private_key_file_is_a_configuration_error() -> None:
    with pytest.raises(KeyConfigurationError, match="JWT_PRIVATE_KEY_FILE"):
        _signer(jwt_algorithm="EdDSA")


def test_a_private_key_of_another_algorithm_is_a_configuration_error(
    key_files: dict[str, tuple[Path, Path, str]],
) -> None:
    private, _public, _kid = key_files["ES256"]
    with pytest.raises(KeyConfigurationError, match="ES256 key, not EdDSA"):
        _signer(jwt_algorithm="EdDSA", jwt_private_key_file=str(private))


def test_a_curve_other_than_p256_is_a_configuration_error() -> None:
    with pytest.raises(KeyConfigurationError, match="only Ed25519, RSA and P-256"):
        public_verification_key(ec.generate_private_key(ec.SECP384R1()).public_key())


def test_the_kid_is_the_rfc7638_thumbprint_of_the_public_key(
    key_files: dict[str, tuple[Path, Path, str]],
) -> None:
    # RFC 7638 §3.1's example key and thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
        "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
        "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    jwk = {"kty": "RSA", "n": n, "e": "AQAB"}
    public_key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    assert public_verification_key(public_key).kid == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# --- the clock ---


@pytest.mark.parametrize(
    ("claim", "offset", "accepted"),
    [
        ("exp", -25, True),  # expired, but within the 30-second leeway
        ("exp", -35, False),
        ("nbf", 25, True),  # not yet valid, but within the leeway
        ("nbf", 35, False),
        ("iat", 25, True),
        ("iat", 35, False),
    ],
)
def test_clock_claims_are_judged_with_exactly_the_configured_leeway(
    claim: str, offset: int, accepted: bool
) -> None:
    signer = _signer(jwt_leeway_seconds=30)
    now = int(time.time())
    claims = _claims(**{claim: now + offset})
    if claim == "exp":
        claims["iat"] = now - 900
    token = jwt.encode(
        claims,
        make_settings("sqlite+aiosqlite://").signing_secret,
        headers={
            "typ": "at+jwt",
            "kid": signer.kid,
        },
    )
    if accepted:
        signer.validate(token)
    else:
        with pytest.raises(TokenError):
            signer.validate(token)


# --- keys.py ---


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_a_generated_pair_is_owner_readable_only_and_its_kid_matches_the_public_key(
    tmp_path: Path, algorithm: str
) -> None:
    private, public, kid = generate_key_pair(algorithm, tmp_path / "nested" / "dir")

    assert private.stat().st_mode & 0o777 == 0o600
    assert private.name.endswith(f"-{algorithm.lower()}-private.pem")
    public_key = serialization.load_pem_public_key(public.read_bytes())
    assert public_verification_key(public_key).kid == kid
    assert b"PRIVATE" not in public.read_bytes()


def test_an_unsupported_algorithm_writes_no_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported algorithm"):
        generate_key_pair("HS256", tmp_path)
    assert not os.listdir(tmp_path)
