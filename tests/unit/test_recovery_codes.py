"""`security/recovery_codes.py` on its own (DESIGN.md §10): a set of distinct codes
with at least 50 bits each, read back however a person types them, and stored only
as a hash keyed by `SECRET_KEY`, so the same code hashes differently under another key.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re

import pytest

from tenantry.security import recovery_codes
from tenantry.security.recovery_codes import ALPHABET, digest, generate, key_from_secret, normalize
from tenantry.security.tokens import derive_key

SECRET = b"unit-test-secret-that-is-long-enough-for-hs256!"
OTHER_SECRET = b"an-attackers-secret-that-is-also-long-enough!!"
KEY = key_from_secret(SECRET)
DISPLAYED = re.compile(r"[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}")


def test_a_set_has_ten_codes_by_default_and_as_many_as_asked() -> None:
    assert len(generate()) == 10
    assert len(generate(1)) == 1
    assert len(generate(25)) == 25
    with pytest.raises(ValueError, match="at least 1"):
        generate(0)


def test_codes_are_shown_as_two_groups_of_five_from_crockfords_alphabet() -> None:
    for code in generate():
        assert DISPLAYED.fullmatch(code), code
        assert not set(code) & set("ilou")


def test_a_code_carries_at_least_50_bits() -> None:
    assert len(set(ALPHABET)) == 32
    assert recovery_codes.CODE_LENGTH * math.log2(len(ALPHABET)) >= 50


def test_codes_are_unique_within_a_set_and_across_sets() -> None:
    codes = [code for _ in range(20) for code in generate()]
    assert len(set(codes)) == len(codes) == 200


def test_every_alphabet_character_turns_up() -> None:
    # A generator stuck on part of the alphabet would carry fewer bits than claimed.
    seen = set("".join(generate(50)).replace("-", ""))
    assert seen == set(ALPHABET)


@pytest.mark.parametrize(
    "typed",
    [
        "abcde-fghjk",
        "ABCDE-FGHJK",
        "abcdefghjk",
        "  abcde fghjk ",
        "ab-cd-ef-gh-jk",
        "Abcde-Fghjk",
        "abcde\tfghjk",
    ],
)
def test_case_spaces_and_hyphens_do_not_matter(typed: str) -> None:
    assert normalize(typed) == "abcdefghjk"
    assert digest(typed, KEY) == digest("abcde-fghjk", KEY)


def test_look_alike_letters_read_as_the_digits_they_resemble() -> None:
    assert normalize("O1ILo-01234") == "01110" + "01234"
    assert digest("oooo0-iiii1", KEY) == digest("00000-11111", KEY)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "abcde",
        "abcde-fghj",
        "abcde-fghjkm",
        "abcde-fghju",
        "abcde_fghjk",
        "abcde-fghj!",
        "é" * 10,
        "a" * 100,
    ],
)
def test_input_that_cannot_be_a_code_normalizes_to_none_and_has_no_digest(typed: str) -> None:
    assert normalize(typed) is None
    with pytest.raises(ValueError, match="not a recovery code"):
        digest(typed, KEY)


def test_the_digest_is_hmac_sha256_of_the_canonical_code_under_the_recovery_code_key() -> None:
    assert derive_key(SECRET, "recovery-code") == KEY
    expected = hmac.new(KEY, b"abcdefghjk", hashlib.sha256).digest()
    assert digest("ABCDE-FGHJK", KEY) == expected
    assert len(expected) == 32


def test_the_keyed_hash_differs_per_key_and_per_code() -> None:
    code = generate(1)[0]
    other_key = key_from_secret(OTHER_SECRET)
    assert digest(code, KEY) != digest(code, other_key)
    canonical = normalize(code)
    assert canonical is not None
    assert digest(code, KEY) != hashlib.sha256(canonical.encode()).digest()
    first, second = generate(2)
    assert digest(first, KEY) != digest(second, KEY)
