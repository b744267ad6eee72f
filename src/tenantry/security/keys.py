"""Key pair generation for `tenantry keys generate`."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tenantry.security.jwt import public_verification_key

RSA_BITS = 3072


def _new_private_key(algorithm: str) -> Any:
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise ValueError(f"unsupported algorithm {algorithm!r}: use EdDSA, ES256 or RS256")


def generate_key_pair(algorithm: str, out_dir: Path) -> tuple[Path, Path, str]:
    """Write `<stamp>-<alg>-private.pem` (0600) and `-public.pem`; return paths and kid."""
    key = _new_private_key(algorithm)
    kid = public_verification_key(key.public_key()).kid
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{algorithm.lower()}"
    private_path = out_dir / f"{stem}-private.pem"
    public_path = out_dir / f"{stem}-public.pem"
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path, kid
