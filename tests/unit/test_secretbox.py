"""`security/secretbox.py` on its own: TOTP secrets sealed at rest (DESIGN.md §10).

A sealed value lives in a database column, so everything in it is attacker-editable
by anyone who can write that column: each part changed, the value moved to another
row, a value from another deployment, and plain garbage must all fail to open with
SecretBoxError — never open to other bytes, never raise anything else.
"""

from __future__ import annotations

import base64
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.security.secretbox import (
    KEY_BYTES,
    NONCE_BYTES,
    SecretBox,
    SecretBoxError,
    key_id,
)
from tenantry.security.tokens import derive_key

SECRET = b"unit-test-secret-that-is-long-enough-for-hs256!"
OTHER_SECRET = b"an-attackers-secret-that-is-also-long-enough!!"
FACTOR = b"factor:0193c5a8-6a0e-7c1d-8d3e-4f5a6b7c8d9e"
OTHER_FACTOR = b"factor:0193c5a8-6a0e-7c1d-8d3e-4f5a6b7c8d9f"
PLAINTEXT = b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

BOX = SecretBox.from_secret(SECRET)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _flip_bit(raw: bytes, index: int) -> bytes:
    changed = bytearray(raw)
    changed[index] ^= 0x01
    return bytes(changed)


def test_a_sealed_secret_opens_to_the_same_bytes() -> None:
    sealed = BOX.seal(PLAINTEXT, associated=FACTOR)
    assert BOX.open(sealed, associated=FACTOR) == PLAINTEXT
    assert PLAINTEXT.decode() not in sealed
    assert BOX.open(BOX.seal(b"", associated=FACTOR), associated=FACTOR) == b""


def test_a_sealed_value_is_version_key_id_nonce_and_ciphertext_in_base64url() -> None:
    version, kid, nonce, ciphertext = BOX.seal(PLAINTEXT, associated=FACTOR).split(".")
    assert version == "v1"
    assert kid == BOX.current_key_id == key_id(derive_key(SECRET, "secret-box"))
    assert len(_unb64(nonce)) == NONCE_BYTES
    # AES-GCM: as long as the plaintext, plus a 16-byte tag.
    assert len(_unb64(ciphertext)) == len(PLAINTEXT) + 16


def test_sealing_twice_gives_different_values_with_fresh_nonces() -> None:
    first = BOX.seal(PLAINTEXT, associated=FACTOR)
    second = BOX.seal(PLAINTEXT, associated=FACTOR)
    assert first != second
    assert first.split(".")[2] != second.split(".")[2]


def test_the_key_id_is_stable_for_a_secret_and_changes_with_it() -> None:
    assert SecretBox.from_secret(SECRET).current_key_id == BOX.current_key_id
    assert SecretBox.from_secret(OTHER_SECRET).current_key_id != BOX.current_key_id
    # A fingerprint of the derived key, not the secret or the key itself.
    assert BOX.current_key_id not in _b64(SECRET)
    assert BOX.current_key_id not in _b64(derive_key(SECRET, "secret-box"))


def test_a_changed_version_does_not_open() -> None:
    sealed = BOX.seal(PLAINTEXT, associated=FACTOR)
    with pytest.raises(SecretBoxError):
        BOX.open("v2" + sealed[2:], associated=FACTOR)


def test_a_changed_key_id_does_not_open() -> None:
    version, kid, nonce, ciphertext = BOX.seal(PLAINTEXT, associated=FACTOR).split(".")
    other_kid = _b64(_flip_bit(_unb64(kid), 0))
    with pytest.raises(SecretBoxError, match="unknown key"):
        BOX.open(f"{version}.{other_kid}.{nonce}.{ciphertext}", associated=FACTOR)


def test_a_changed_nonce_does_not_open() -> None:
    version, kid, nonce, ciphertext = BOX.seal(PLAINTEXT, associated=FACTOR).split(".")
    for index in range(NONCE_BYTES):
        changed = _b64(_flip_bit(_unb64(nonce), index))
        with pytest.raises(SecretBoxError, match="not authentic"):
            BOX.open(f"{version}.{kid}.{changed}.{ciphertext}", associated=FACTOR)


def test_a_changed_ciphertext_or_tag_byte_does_not_open() -> None:
    version, kid, nonce, ciphertext = BOX.seal(PLAINTEXT, associated=FACTOR).split(".")
    raw = _unb64(ciphertext)
    for index in range(len(raw)):  # the ciphertext, then the 16 tag bytes
        changed = _b64(_flip_bit(raw, index))
        with pytest.raises(SecretBoxError, match="not authentic"):
            BOX.open(f"{version}.{kid}.{nonce}.{changed}", associated=FACTOR)


def test_a_truncated_or_extended_ciphertext_does_not_open() -> None:
    version, kid, nonce, ciphertext = BOX.seal(PLAINTEXT, associated=FACTOR).split(".")
    raw = _unb64(ciphertext)
    for changed in (raw[:-1], raw + b"\x00", raw[:15], b""):
        with pytest.raises(SecretBoxError):
            BOX.open(f"{version}.{kid}.{nonce}.{_b64(changed)}", associated=FACTOR)


def test_a_secret_moved_to_another_row_does_not_open_there() -> None:
    sealed = BOX.seal(PLAINTEXT, associated=FACTOR)
    for associated in (OTHER_FACTOR, b"", FACTOR + b"\x00", FACTOR[:-1]):
        with pytest.raises(SecretBoxError, match="not authentic"):
            BOX.open(sealed, associated=associated)


def test_a_value_sealed_under_another_secret_key_is_an_unknown_key() -> None:
    sealed = SecretBox.from_secret(OTHER_SECRET).seal(PLAINTEXT, associated=FACTOR)
    with pytest.raises(SecretBoxError, match="unknown key"):
        BOX.open(sealed, associated=FACTOR)


def test_a_value_claiming_our_key_id_but_sealed_under_another_key_does_not_open() -> None:
    forged_box = SecretBox({BOX.current_key_id: secrets.token_bytes(KEY_BYTES)}, BOX.current_key_id)
    with pytest.raises(SecretBoxError, match="not authentic"):
        BOX.open(forged_box.seal(PLAINTEXT, associated=FACTOR), associated=FACTOR)


def test_after_a_rotation_old_values_still_open_and_new_ones_use_the_new_key() -> None:
    old_sealed = BOX.seal(PLAINTEXT, associated=FACTOR)
    rotated = SecretBox.from_secret(OTHER_SECRET, previous=(SECRET,))
    assert rotated.open(old_sealed, associated=FACTOR) == PLAINTEXT
    new_sealed = rotated.seal(PLAINTEXT, associated=FACTOR)
    assert rotated.key_id_of(new_sealed) == rotated.current_key_id != BOX.current_key_id
    assert rotated.key_id_of(old_sealed) == BOX.current_key_id
    assert rotated.key_id_of("not a sealed value") is None
    with pytest.raises(SecretBoxError, match="unknown key"):
        BOX.open(new_sealed, associated=FACTOR)


def test_a_box_refuses_keys_of_the_wrong_size_and_a_missing_current_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SecretBox({"k": b"short"}, "k")
    with pytest.raises(ValueError, match="not among"):
        SecretBox({"k": bytes(KEY_BYTES)}, "other")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        ".",
        "...",
        "v1",
        "v1...",
        "v1.x.y.z",
        "v1.x.y.z.w",
        "not a sealed value at all",
        "v1.\u00e9\u00e9.\u00e9.\u00e9",
        "\x00" * 10,
        "v1." + "A" * 10_000,
    ],
)
def test_garbage_does_not_open(garbage: str) -> None:
    with pytest.raises(SecretBoxError):
        BOX.open(garbage, associated=FACTOR)


def test_non_canonical_base64_of_a_valid_value_does_not_open() -> None:
    version, kid, nonce, ciphertext = BOX.seal(PLAINTEXT, associated=FACTOR).split(".")
    # Padding, and characters the lenient decoder would skip, are refused.
    for changed in (nonce + "=", nonce[:4] + " " + nonce[4:], nonce[:4] + "+" + nonce[5:]):
        with pytest.raises(SecretBoxError):
            BOX.open(f"{version}.{kid}.{changed}.{ciphertext}", associated=FACTOR)


@given(st.text(max_size=300))
def test_opening_any_text_gives_bytes_or_a_secret_box_error(text: str) -> None:
    try:
        result = BOX.open(text, associated=FACTOR)
    except SecretBoxError:
        return
    assert isinstance(result, bytes)


_B64URL_TEXT = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ", max_size=80
)


@given(
    kid=st.one_of(st.just(BOX.current_key_id), _B64URL_TEXT),
    nonce=st.one_of(st.binary(min_size=12, max_size=12).map(_b64), _B64URL_TEXT),
    ciphertext=st.one_of(st.binary(max_size=64).map(_b64), _B64URL_TEXT),
    associated=st.binary(max_size=32),
)
def test_opening_near_valid_values_gives_a_secret_box_error(
    kid: str, nonce: str, ciphertext: str, associated: bytes
) -> None:
    # Shaped like a sealed value, so the key lookup and decryption are reached; none
    # of these was sealed by the box, so none may open.
    with pytest.raises(SecretBoxError):
        BOX.open(f"v1.{kid}.{nonce}.{ciphertext}", associated=associated)
