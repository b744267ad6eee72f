"""Asymmetric signing keys, the JWKS document and key rotation (DESIGN.md §4)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from tenantry.main import create_app
from tenantry.security.keys import generate_key_pair
from tests.conftest import bearer, login, make_settings, register

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_with(app: Any, migrated_url: str) -> ClientFactory:
    """A client on an app with other key settings, sharing the test database."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        other = create_app(make_settings(migrated_url, **overrides))
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
        await other.state.engine.dispose()

    return factory


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
async def test_token_verifies_with_an_independent_library_from_the_jwks_alone(
    client_with: ClientFactory, tmp_path: Path, algorithm: str
) -> None:
    private, _public, kid = generate_key_pair(algorithm, tmp_path)
    async with client_with(jwt_algorithm=algorithm, jwt_private_key_file=str(private)) as http:
        user = await register(http)
        token = await login(http, user["email"])
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert (await http.get("/users/me", headers=bearer(token))).status_code == 200

    [published] = jwks["keys"]
    assert published["kid"] == kid
    assert published["alg"] == algorithm
    assert published["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(published)  # public members only

    decoded = jose_jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[algorithm])
    assert decoded.header["kid"] == kid
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["sub"] == user["id"]


async def test_hs256_publishes_no_keys(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.json() == {"keys": []}


async def test_old_key_verifies_while_configured_and_fails_once_removed(
    client_with: ClientFactory, tmp_path: Path
) -> None:
    old_private, old_public, old_kid = generate_key_pair("EdDSA", tmp_path / "old")
    new_private, _new_public, new_kid = generate_key_pair("EdDSA", tmp_path / "new")
    async with client_with(jwt_algorithm="EdDSA", jwt_private_key_file=str(old_private)) as http:
        user = await register(http)
        old_token = await login(http, user["email"])

    rotated = {"jwt_algorithm": "EdDSA", "jwt_private_key_file": str(new_private)}
    async with client_with(**rotated, jwt_public_key_files=str(old_public)) as http:
        assert (await http.get("/users/me", headers=bearer(old_token))).status_code == 200
        new_token = await login(http, user["email"])
        assert (await http.get("/users/me", headers=bearer(new_token))).status_code == 200
        kids = {key["kid"] for key in (await http.get("/.well-known/jwks.json")).json()["keys"]}
        assert kids == {old_kid, new_kid}

    async with client_with(**rotated) as http:
        response = await http.get("/users/me", headers=bearer(old_token))
        assert response.status_code == 401
        assert (await http.get("/users/me", headers=bearer(new_token))).status_code == 200


async def test_hs256_token_is_refused_by_an_asymmetric_deployment(
    client: httpx.AsyncClient, client_with: ClientFactory, tmp_path: Path
) -> None:
    user = await register(client)
    hs_token = await login(client, user["email"])
    private, _public, _kid = generate_key_pair("EdDSA", tmp_path)
    async with client_with(jwt_algorithm="EdDSA", jwt_private_key_file=str(private)) as http:
        assert (await http.get("/users/me", headers=bearer(hs_token))).status_code == 401


def test_keys_generate_command_writes_a_private_and_public_pem(tmp_path: Path) -> None:
    tenantry = Path(sys.executable).with_name("tenantry")
    result = subprocess.run(
        [str(tenantry), "keys", "generate", "--algorithm", "ES256", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "kid:" in result.stdout
    private = next(tmp_path.glob("*-private.pem"))
    public = next(tmp_path.glob("*-public.pem"))
    assert private.stat().st_mode & 0o777 == 0o600
    assert b"PRIVATE KEY" in private.read_bytes()
    assert b"PUBLIC KEY" in public.read_bytes()
