"""`security/csrf.py` and `CsrfCodec` on their own (DESIGN.md §6).

Two walls: a request the browser marks as coming from another site is refused, and a
cookie-authenticated request must echo a token bound to its session in a header.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.requests import Request

from tenantry.security.csrf import allowed_origins, is_cross_site, origin_of
from tenantry.security.tokens import CsrfCodec
from tests.conftest import make_settings

SECRET = b"unit-test-secret-that-is-long-enough-for-hs256!"
SESSION = uuid.UUID("6a0f1b7e-1d3c-4f5a-8b9e-0c1d2e3f4a5b")
OTHER_SESSION = uuid.UUID("9e8d7c6b-5a49-4382-9170-fedcba987654")

SETTINGS = make_settings(
    "sqlite+aiosqlite://",
    frontend_url="https://App.Example.com/base/",
    cors_origins="https://admin.example.com, https://Partner.example.net",
)


def _request(headers: dict[str, str]) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/auth/refresh",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
    }
    return Request(scope)


# --- the session-bound token ---


def test_the_token_of_its_own_session_in_header_and_cookie_matches() -> None:
    codec = CsrfCodec(SECRET)
    token = codec.token_for(SESSION)
    assert codec.matches(SESSION, token, token)


@pytest.mark.parametrize(
    ("header", "cookie"),
    [(None, "T"), ("T", None), (None, None), ("", "T"), ("T", ""), ("", "")],
    ids=["no-header", "no-cookie", "neither", "empty-header", "empty-cookie", "both-empty"],
)
def test_a_missing_or_empty_header_or_cookie_never_matches(
    header: str | None, cookie: str | None
) -> None:
    codec = CsrfCodec(SECRET)
    token = codec.token_for(SESSION)
    resolve = {"T": token, "": "", None: None}
    assert not codec.matches(SESSION, resolve[header], resolve[cookie])


def test_a_header_that_differs_from_the_cookie_does_not_match() -> None:
    codec = CsrfCodec(SECRET)
    token = codec.token_for(SESSION)
    assert not codec.matches(SESSION, token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not codec.matches(SESSION, "attacker-chosen", token)


def test_a_tossed_cookie_paired_with_its_own_header_does_not_match_another_session() -> None:
    # Cookie tossing: a sibling subdomain plants the token of the attacker's session
    # as the cookie and sends the same value in the header; both agree, neither is ours.
    codec = CsrfCodec(SECRET)
    attackers = codec.token_for(OTHER_SESSION)
    assert not codec.matches(SESSION, attackers, attackers)


def test_an_arbitrary_value_equal_in_header_and_cookie_does_not_match() -> None:
    # A double-submit check alone would pass this; the token must be derived from the session.
    codec = CsrfCodec(SECRET)
    assert not codec.matches(SESSION, "x" * 43, "x" * 43)


def test_a_token_derived_under_another_secret_does_not_match() -> None:
    foreign = CsrfCodec(b"an-attackers-secret-that-is-also-long-enough!!").token_for(SESSION)
    assert not CsrfCodec(SECRET).matches(SESSION, foreign, foreign)


def test_a_token_in_other_case_does_not_match() -> None:
    codec = CsrfCodec(SECRET)
    token = codec.token_for(SESSION)
    changed = token.swapcase()
    assert changed != token
    assert not codec.matches(SESSION, changed, changed)


def test_non_ascii_header_and_cookie_are_refused_without_raising() -> None:
    codec = CsrfCodec(SECRET)
    assert not codec.matches(SESSION, "é" * 43, "é" * 43)
    assert not codec.matches(SESSION, "\x00", "\x00")


def test_tokens_are_stable_per_session_and_differ_between_sessions() -> None:
    codec = CsrfCodec(SECRET)
    assert codec.token_for(SESSION) == CsrfCodec(SECRET).token_for(SESSION)
    assert codec.token_for(SESSION) != codec.token_for(OTHER_SESSION)
    assert str(SESSION) not in codec.token_for(SESSION)


# --- the cross-site check ---


def test_allowed_origins_are_the_frontend_and_cors_origins_lower_cased_without_paths() -> None:
    assert allowed_origins(SETTINGS) == {
        "https://app.example.com",
        "https://admin.example.com",
        "https://partner.example.net",
    }
    assert origin_of("HTTPS://App.Example.com:8443/path?q=1") == "https://app.example.com:8443"


@pytest.mark.parametrize(
    "origin",
    ["https://app.example.com", "HTTPS://APP.EXAMPLE.COM", "https://partner.example.net"],
)
def test_a_configured_origin_is_not_cross_site(origin: str) -> None:
    assert not is_cross_site(_request({"origin": origin}), SETTINGS)


def test_a_request_without_origin_or_fetch_metadata_is_not_cross_site() -> None:
    # curl, a server-side client, or a same-origin GET: nothing for a browser attack.
    assert not is_cross_site(_request({}), SETTINGS)
    assert not is_cross_site(_request({"sec-fetch-site": "same-origin"}), SETTINGS)


@pytest.mark.parametrize(
    "origin",
    [
        "https://attacker.example",
        "null",  # sandboxed iframes and data: URLs
        "http://app.example.com",  # same host, plain HTTP
        "https://app.example.com:444",  # same host, other port
        "https://app.example.com.attacker.example",
        "https://evil-app.example.com",
        "https://app.example.com/base",  # an Origin never has a path
        "",
    ],
)
def test_any_other_origin_is_cross_site(origin: str) -> None:
    assert is_cross_site(_request({"origin": origin}), SETTINGS)


def test_fetch_metadata_saying_cross_site_wins_over_an_allowed_origin() -> None:
    request = _request({"origin": "https://app.example.com", "sec-fetch-site": "cross-site"})
    assert is_cross_site(request, SETTINGS)


def test_same_site_fetch_metadata_does_not_excuse_a_foreign_origin() -> None:
    request = _request({"origin": "https://evil.example.com", "sec-fetch-site": "same-site"})
    assert is_cross_site(request, SETTINGS)


def test_the_requests_own_host_does_not_make_its_origin_allowed() -> None:
    # DNS rebinding, or a proxy passing any Host: the client picks Host and Origin alike.
    request = _request(
        {"host": "rebound.attacker.example", "origin": "http://rebound.attacker.example"}
    )
    assert is_cross_site(request, SETTINGS)
