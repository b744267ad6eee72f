"""Bad input is a 4xx problem, never a 500 (DESIGN.md §1.6), on SQLite and PostgreSQL.

One text rule for every field a client writes (src/tenantry/text.py), then the numbers
and dates the database cannot hold, cursors, and bearer strings.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tenantry.text import SINGLE_LINE_PATTERN, VISIBLE_LINE_PATTERN
from tests.conftest import PASSWORD, bearer, unique_email
from tests.organizations.factories import Actor, make_org, make_user

PRODUCT = {"name": "Widget", "sku": "W-1", "price_cents": 1999, "currency": "EUR"}


@dataclass
class World:
    """A superuser owning an organization with one product and one custom role."""

    owner: Actor
    org: str
    product: str
    role: str

    @property
    def products(self) -> str:
        return f"/organizations/{self.org}/products"


@pytest.fixture
async def world(app: Any, client: httpx.AsyncClient) -> World:
    owner = await make_user(app, is_superuser=True)
    org = await make_org(client, owner)
    product = await client.post(
        f"/organizations/{org}/products", json=PRODUCT, headers=owner.headers
    )
    assert product.status_code == 201, product.text
    role = await client.post(
        f"/organizations/{org}/roles",
        json={"name": "auditor", "permissions": ["audit:read"]},
        headers=owner.headers,
    )
    assert role.status_code == 201, role.text
    return World(owner, org, product.json()["id"], role.json()["id"])


Send = Callable[[httpx.AsyncClient, World, str], Awaitable[httpx.Response]]


def _body(method: str, path: Callable[[World], str], **fields: Any) -> Callable[[str], Send]:
    """A request that carries `value` in one field of a JSON body."""

    def with_field(field: str) -> Send:
        async def send(client: httpx.AsyncClient, world: World, value: str) -> httpx.Response:
            body = {**fields, field: value}
            return await client.request(method, path(world), json=body, headers=world.owner.headers)

        return send

    return with_field


async def _register_full_name(
    client: httpx.AsyncClient, _world: World, value: str
) -> httpx.Response:
    body = {"email": unique_email(), "password": PASSWORD, "full_name": value}
    return await client.post("/auth/register", json=body)


async def _search(client: httpx.AsyncClient, world: World, value: str) -> httpx.Response:
    return await client.get(world.products, params={"q": value}, headers=world.owner.headers)


# (field, how to send it, longest accepted value, whether line feeds are allowed)
TEXT_FIELDS: dict[str, tuple[Send, int, bool]] = {
    "register.full_name": (_register_full_name, 200, False),
    "me.full_name": (_body("PATCH", lambda w: "/users/me")("full_name"), 200, False),
    "admin.full_name": (
        _body("PATCH", lambda w: f"/users/{w.owner.id}")("full_name"),
        200,
        False,
    ),
    "organization.create.name": (_body("POST", lambda w: "/organizations")("name"), 200, False),
    "organization.update.name": (
        _body("PATCH", lambda w: f"/organizations/{w.org}")("name"),
        200,
        False,
    ),
    "role.create.description": (
        _body("POST", lambda w: f"/organizations/{w.org}/roles", name="r", permissions=[])(
            "description"
        ),
        500,
        True,
    ),
    "role.update.description": (
        _body("PATCH", lambda w: f"/organizations/{w.org}/roles/{w.role}")("description"),
        500,
        True,
    ),
    "product.create.name": (
        _body("POST", lambda w: w.products, **{**PRODUCT, "sku": None})("name"),
        200,
        False,
    ),
    "product.create.sku": (_body("POST", lambda w: w.products, **PRODUCT)("sku"), 64, False),
    "product.create.description": (
        _body("POST", lambda w: w.products, **{**PRODUCT, "sku": None})("description"),
        10_000,
        True,
    ),
    "product.update.name": (
        _body("PATCH", lambda w: f"{w.products}/{w.product}")("name"),
        200,
        False,
    ),
    "product.update.sku": (_body("PATCH", lambda w: f"{w.products}/{w.product}")("sku"), 64, False),
    "product.update.description": (
        _body("PATCH", lambda w: f"{w.products}/{w.product}")("description"),
        10_000,
        True,
    ),
    "products.q": (_search, 200, False),
}

HOSTILE = {
    "nul": "a\x00b",
    "bell": "a\x07b",
    "escape": "a\x1b[31mb",
    "delete": "a\x7fb",
    "c1_next_line": "a\x85b",
    "c1_csi": "a\x9bb",
    "bidi_override": "a\u202eb",
    "bidi_isolate": "a\u2066b\u2069",
    "carriage_return": "a\rb",
    "tab": "a\tb",
}
SINGLE_LINE_ONLY = {"line_feed": "a\nb", "crlf": "a\r\nb"}


def assert_validation_error(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"


def _text_cases() -> list[tuple[str, str]]:
    cases = []
    for field, (_send, _max, multiline) in TEXT_FIELDS.items():
        values = HOSTILE if multiline else {**HOSTILE, **SINGLE_LINE_ONLY}
        cases.extend((field, value) for value in values)
    return cases


@pytest.mark.parametrize(("field", "value"), _text_cases())
async def test_control_and_bidi_characters_are_refused(
    client: httpx.AsyncClient, world: World, field: str, value: str
) -> None:
    send, _max, _multiline = TEXT_FIELDS[field]
    hostile = {**HOSTILE, **SINGLE_LINE_ONLY}[value]
    assert_validation_error(await send(client, world, hostile))


@pytest.mark.parametrize("field", sorted(TEXT_FIELDS))
async def test_longest_value_is_counted_after_stripping(
    client: httpx.AsyncClient, world: World, field: str
) -> None:
    send, longest, _multiline = TEXT_FIELDS[field]
    accepted = await send(client, world, "  " + "x" * longest + " \u00a0 ")
    assert accepted.status_code < 300, accepted.text
    assert_validation_error(await send(client, world, "y" * (longest + 1)))
    # Control characters are refused, never trimmed away, even at the ends.
    assert_validation_error(await send(client, world, "x" * longest + "\t"))


@pytest.mark.parametrize(
    "field",
    [name for name, (_send, _max, multiline) in TEXT_FIELDS.items() if multiline],
)
async def test_multi_line_text_keeps_line_feeds(
    client: httpx.AsyncClient, world: World, field: str
) -> None:
    send, _max, _multiline = TEXT_FIELDS[field]
    response = await send(client, world, "\r\nfirst line\r\nsecond line\n\n")
    assert response.status_code < 300, response.text
    assert response.json()["description"] == "first line\nsecond line"


async def test_names_are_stored_stripped(client: httpx.AsyncClient, world: World) -> None:
    response = await client.patch(
        "/users/me", json={"full_name": "  Ada Lovelace \u00e9 "}, headers=world.owner.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Ada Lovelace \u00e9"


@pytest.mark.parametrize("email", ["a\x00b@example.com", "ab@exa\x00mple.com", "a\u202eb@x.com"])
async def test_email_with_control_characters_is_refused(
    client: httpx.AsyncClient, email: str
) -> None:
    response = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert_validation_error(response)
    response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert_validation_error(response)


async def test_oauth_username_with_nul_is_invalid_grant(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": "a\x00b@example.com", "password": PASSWORD},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("path", ["/auth/verify", "/invitations/accept", "/auth/password/reset"])
async def test_token_fields_with_nul_are_refused(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    body: dict[str, Any] = {"token": "abc\x00def"}
    if path.endswith("reset"):
        body["new_password"] = PASSWORD
    response = await client.post(path, json=body, headers=world.owner.headers)
    assert_validation_error(response)


# --- numbers and dates the database cannot hold ---


@pytest.mark.parametrize("if_match", ['"99999999999"', '"2147483648"', '"1", "99999999999"'])
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_if_match_beyond_any_version_is_412(
    client: httpx.AsyncClient, world: World, method: str, if_match: str
) -> None:
    response = await client.request(
        method,
        f"{world.products}/{world.product}",
        json={"name": "Renamed"} if method == "PATCH" else None,
        headers={**world.owner.headers, "If-Match": if_match},
    )
    if '"1"' in if_match:
        # One tag names the current version: the request goes through.
        assert response.status_code < 300, response.text
        return
    assert response.status_code == 412, response.text
    assert response.json()["code"] == "version_conflict"
    current = await client.get(f"{world.products}/{world.product}", headers=world.owner.headers)
    assert current.json()["name"] == PRODUCT["name"]


@pytest.mark.parametrize("price", [2**63, -1, 10**15 + 1, 1.5, "100"])
async def test_price_that_does_not_fit_is_422(
    client: httpx.AsyncClient, world: World, price: Any
) -> None:
    response = await client.post(
        world.products,
        json={**PRODUCT, "sku": "P-2", "price_cents": price},
        headers=world.owner.headers,
    )
    assert_validation_error(response)


@pytest.mark.parametrize(
    "params",
    [
        {"since": "0001-01-01T00:00:00Z"},
        {"until": "9999-12-31T23:59:59Z"},
        {"since": "0001-01-01T00:00:00+01:00"},
        {"until": "9999-12-31T23:59:59-05:00"},
        {"since": "1969-12-31T23:59:59Z"},
        {"until": "9999-01-01T00:00:00Z"},
        {"since": "1700000000"},
        {"since": "2026-01-01T00:00:00"},
        {"until": "not a date"},
        {"since": "\x00"},
    ],
)
@pytest.mark.parametrize("scope", ["organization", "platform"])
async def test_audit_window_beyond_what_the_database_holds_is_422(
    client: httpx.AsyncClient, world: World, params: dict[str, str], scope: str
) -> None:
    url = f"/organizations/{world.org}/audit-events" if scope == "organization" else "/audit-events"
    assert_validation_error(await client.get(url, params=params, headers=world.owner.headers))


async def test_audit_window_at_the_edges_is_read(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(
        "/audit-events",
        params={"since": "1970-01-01T00:00:00+01:00", "until": "9998-12-31T23:59:59-14:00"},
        headers=world.owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"]


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!!",
        "AAAA",
        "\u00e9t\u00e9",
        "a\x00b",
        base64.urlsafe_b64encode(b"x" * 17).decode(),
        "=" * 10,
        "A" * 64,
    ],
)
@pytest.mark.parametrize("path", ["products", "audit", "users", "members"])
async def test_garbage_cursor_is_4xx(
    client: httpx.AsyncClient, world: World, cursor: str, path: str
) -> None:
    url = {
        "products": world.products,
        "audit": "/audit-events",
        "users": "/users",
        "members": f"/organizations/{world.org}/members",
    }[path]
    response = await client.get(url, params={"cursor": cursor}, headers=world.owner.headers)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("limit", ["0", "-1", "201", str(2**64), "1e3", "\x00"])
async def test_limit_out_of_range_is_422(
    client: httpx.AsyncClient, world: World, limit: str
) -> None:
    response = await client.get(
        world.products, params={"limit": limit}, headers=world.owner.headers
    )
    assert_validation_error(response)


async def test_valid_cursor_of_an_unknown_id_is_an_empty_page(
    client: httpx.AsyncClient, world: World
) -> None:
    cursor = base64.urlsafe_b64encode(uuid.UUID(int=2**128 - 1).bytes).decode().rstrip("=")
    response = await client.get(
        world.products, params={"cursor": cursor}, headers=world.owner.headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


# --- bearer strings ---


@pytest.mark.parametrize(
    "authorization",
    [
        b"Bearer " + b"[" * 1500,
        b"Bearer " + base64.urlsafe_b64encode(b"[" * 2000).rstrip(b"=") + b".e30.c2ln",
        b"Bearer eyJhbGciOiJIUzI1NiJ9.\xc3\xa9.c2ln",
        b"Bearer a.\xff.c",
        b"Bearer " + b"A" * 10_000,
        b"Bearer ...",
        b"Bearer \x01.\x02.\x03",
    ],
)
async def test_any_bearer_string_is_401(client: httpx.AsyncClient, authorization: bytes) -> None:
    response = await client.get("/users/me", headers={"Authorization": authorization})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"


async def test_non_ascii_segment_in_a_real_token_is_401(
    client: httpx.AsyncClient, world: World
) -> None:
    header, _payload, signature = world.owner.headers["Authorization"].split(".")
    authorization = f"{header}.\u00e9.{signature}".encode("latin-1")
    response = await client.get("/users/me", headers={"Authorization": authorization})
    assert response.status_code == 401, response.text


async def test_text_rules_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    name = document["components"]["schemas"]["ProductCreate"]["properties"]["name"]
    assert name["pattern"] == VISIBLE_LINE_PATTERN
    assert name["maxLength"] == 200
    parameters = document["paths"]["/organizations/{org_id}/products"]["get"]["parameters"]
    q = next(parameter for parameter in parameters if parameter["name"] == "q")
    assert {"type": "string", "minLength": 0, "maxLength": 200, "pattern": SINGLE_LINE_PATTERN} in (
        q["schema"]["anyOf"]
    )


async def test_user_agent_is_stored_without_control_characters(client: httpx.AsyncClient) -> None:
    # Headers arrive as latin-1: NUL and C1 bytes reach the sessions and audit tables,
    # where PostgreSQL refuses NUL (a 500) and a reader's terminal obeys the rest.
    email = unique_email()
    await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    response = await client.post(
        "/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"User-Agent": b"curl\x00/8\x85\x9b31m \x1b[2J"},
    )
    assert response.status_code == 200, response.text
    sessions = await client.get("/auth/sessions", headers=bearer(response.json()["access_token"]))
    assert [session["user_agent"] for session in sessions.json()["items"]] == [
        "curl\ufffd/8\ufffd\ufffd31m \ufffd[2J"
    ]


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "a@example.com", "password": "correct horse battery", "full_name": "\\ud800"}',
        b'{"email": "b@example.com", "password": "correct horse \\udc00 battery"}',
        b'{"email": "c\\ud800@example.com", "password": "correct horse battery"}',
    ],
)
async def test_lone_surrogate_in_json_is_422(client: httpx.AsyncClient, body: bytes) -> None:
    # Not text at all: no database and no hash function could encode it.
    response = await client.post(
        "/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    assert_validation_error(response)


async def test_oauth_password_longer_than_any_allowed_is_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    # As on /auth/login (422): refused before any hashing; argon2 hashes every byte.
    response = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": unique_email(), "password": "x" * 5000},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
