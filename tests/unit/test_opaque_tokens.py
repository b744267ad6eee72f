"""`security/tokens.py` on its own: refresh tokens, derived keys and mail-link tokens.

A refresh token is the only credential a browser keeps for weeks, so each way an
attacker could reshape one — another key, another version, a flipped bit, a token
made for another purpose — must decode to nothing, never to claims.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid

import pytest

from tenantry.security.tokens import (
    REFRESH_TOKEN_LENGTH,
    CsrfCodec,
    RefreshTokenClaims,
    RefreshTokenCodec,
    derive_key,
    digest,
    new_opaque_token,
)

SECRET = b"unit-test-secret-that-is-long-enough-for-hs256!"
OTHER_SECRET = b"an-attackers-secret-that-is-also-long-enough!!"
SESSION = uuid.UUID("0b9d4c52-41f3-4a8e-9c36-2f1f8e0c7a11")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _minted_with(key: bytes, *, version: int = 1, counter: int = 7) -> str:
    """A token laid out like ours, MACed with `key`: what a forger holding it could make."""
    payload = struct.pack(">B16sQ", version, SESSION.bytes, counter)
    return _b64(payload + hmac.new(key, payload, hashlib.sha256).digest())


def _flip_bit(token: str, byte_index: int) -> str:
    raw = bytearray(_unb64(token))
    raw[byte_index] ^= 0x01
    return _b64(bytes(raw))


def test_a_refresh_token_decodes_to_the_session_and_counter_it_was_made_for() -> None:
    codec = RefreshTokenCodec(SECRET)

    token = codec.encode(SESSION, 41)

    assert len(token) == REFRESH_TOKEN_LENGTH
    assert codec.decode(token) == RefreshTokenClaims(session_id=SESSION, counter=41)


@pytest.mark.parametrize("counter", [0, 1, 2**32, 2**64 - 1])
def test_every_counter_a_session_can_reach_round_trips(counter: int) -> None:
    codec = RefreshTokenCodec(SECRET)
    assert codec.decode(codec.encode(SESSION, counter)) == RefreshTokenClaims(SESSION, counter)


def test_a_new_codec_on_the_same_secret_accepts_tokens_of_an_earlier_process() -> None:
    token = RefreshTokenCodec(SECRET).encode(SESSION, 3)
    assert RefreshTokenCodec(SECRET).decode(token) == RefreshTokenClaims(SESSION, 3)


def test_a_token_minted_under_another_secret_decodes_to_nothing() -> None:
    foreign = RefreshTokenCodec(OTHER_SECRET).encode(SESSION, 3)
    assert RefreshTokenCodec(SECRET).decode(foreign) is None


@pytest.mark.parametrize(
    ("byte_index", "what"),
    [(0, "version"), (5, "session id"), (24, "counter"), (30, "mac"), (56, "last mac byte")],
)
def test_a_token_with_any_flipped_bit_decodes_to_nothing(byte_index: int, what: str) -> None:
    codec = RefreshTokenCodec(SECRET)
    token = codec.encode(SESSION, 3)
    assert codec.decode(_flip_bit(token, byte_index)) is None, what


def test_raising_the_counter_without_the_key_decodes_to_nothing() -> None:
    # The attack the MAC exists for: replay an old session with a later counter.
    codec = RefreshTokenCodec(SECRET)
    raw = bytearray(_unb64(codec.encode(SESSION, 3)))
    raw[17:25] = struct.pack(">Q", 4)
    assert codec.decode(_b64(bytes(raw))) is None


def test_a_correctly_macd_token_of_an_unknown_version_decodes_to_nothing() -> None:
    key = derive_key(SECRET, "refresh-token")
    assert RefreshTokenCodec(SECRET).decode(_minted_with(key, version=1)) is not None
    assert RefreshTokenCodec(SECRET).decode(_minted_with(key, version=2)) is None


def test_a_token_macd_with_the_raw_secret_or_another_purposes_key_decodes_to_nothing() -> None:
    codec = RefreshTokenCodec(SECRET)
    for key in (SECRET, derive_key(SECRET, "csrf"), derive_key(SECRET, "refresh")):
        assert codec.decode(_minted_with(key)) is None


def test_a_csrf_token_is_not_a_refresh_token() -> None:
    csrf = CsrfCodec(SECRET).token_for(SESSION)
    assert RefreshTokenCodec(SECRET).decode(csrf) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "A" * (REFRESH_TOKEN_LENGTH - 1),
        "A" * (REFRESH_TOKEN_LENGTH + 1),
        "A" * REFRESH_TOKEN_LENGTH,  # right shape, no valid MAC
        "!" * REFRESH_TOKEN_LENGTH,  # not base64url at all
        "=" * REFRESH_TOKEN_LENGTH,
        "A" * (REFRESH_TOKEN_LENGTH - 1) + "=",
        "é" * REFRESH_TOKEN_LENGTH,  # non-ASCII of the right length
        "\x00" * REFRESH_TOKEN_LENGTH,
    ],
    ids=[
        "empty",
        "one-short",
        "one-long",
        "zero-mac",
        "punctuation",
        "padding",
        "trailing-padding",
        "non-ascii",
        "nul-bytes",
    ],
)
def test_malformed_input_decodes_to_nothing_without_raising(token: str) -> None:
    assert RefreshTokenCodec(SECRET).decode(token) is None


def test_a_token_with_extra_padding_appended_decodes_to_nothing() -> None:
    codec = RefreshTokenCodec(SECRET)
    assert codec.decode(codec.encode(SESSION, 3) + "==") is None


def test_derived_keys_differ_by_purpose_and_by_secret_and_are_stable() -> None:
    keys = {
        derive_key(SECRET, "refresh-token"),
        derive_key(SECRET, "csrf"),
        derive_key(OTHER_SECRET, "refresh-token"),
        derive_key(OTHER_SECRET, "csrf"),
    }
    assert len(keys) == 4
    assert all(len(key) == 32 for key in keys)
    assert derive_key(SECRET, "csrf") == derive_key(SECRET, "csrf")
    assert SECRET not in keys


def test_mail_link_tokens_carry_256_bits_and_only_their_digest_is_kept() -> None:
    tokens = [new_opaque_token() for _ in range(200)]

    assert len({token for token, _ in tokens}) == 200
    for token, stored in tokens:
        assert len(_unb64(token)) == 32
        assert stored == hashlib.sha256(token.encode()).digest() == digest(token)
        assert token.encode() not in stored


def test_a_digest_matches_only_its_own_token() -> None:
    token, stored = new_opaque_token()
    assert digest(token) == stored
    assert digest(token + "x") != stored
    assert digest(token.upper()) != stored
