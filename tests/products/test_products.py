from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.pagination import encode_cursor
from tenantry.products.currencies import ACTIVE_CURRENCIES
from tenantry.products.models import Product
from tenantry.products.schemas import MAX_PRICE_CENTS
from tenantry.text import VISIBLE_LINE_PATTERN
from tests.organizations.factories import Actor, add_member, make_org, make_user

VALID = {"name": "Widget", "sku": "W-1", "price_cents": 1999, "currency": "EUR"}


@pytest.fixture
async def owner(app: Any) -> Actor:
    return await make_user(app)


@pytest.fixture
async def org(client: httpx.AsyncClient, owner: Actor) -> str:
    return await make_org(client, owner)


def _url(org: str, product_id: str | None = None) -> str:
    base = f"/organizations/{org}/products"
    return f"{base}/{product_id}" if product_id else base


async def _create(
    client: httpx.AsyncClient, actor: Actor, org: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(_url(org), json={**VALID, **fields}, headers=actor.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_and_read_with_etag(client: httpx.AsyncClient, owner: Actor, org: str) -> None:
    created = await client.post(
        _url(org), json={**VALID, "description": "A fine widget"}, headers=owner.headers
    )
    assert created.status_code == 201
    product = created.json()
    assert product["organization_id"] == org
    assert product["version"] == 1
    assert product["is_active"] is True
    assert product["created_by"] == str(owner.id)
    assert created.headers["etag"] == '"1"'

    read = await client.get(_url(org, product["id"]), headers=owner.headers)
    assert read.status_code == 200
    assert read.json() == product
    assert read.headers["etag"] == '"1"'
    assert read.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"price_cents": -1},
        {"price_cents": 1.5},
        {"price_cents": "100"},
        {"price_cents": 10**16},
        {"currency": "eur"},
        {"currency": "EURO"},
        {"currency": "ABC"},
        {"currency": "XAU"},
        {"sku": "s" * 65},
        {"sku": ""},
        {"sku": " \x1f "},
        {"is_active": 0},
        {"is_active": "yes"},
        {"organization_id": str(uuid.uuid4())},
        {"version": 7},
        {"created_by": str(uuid.uuid4())},
    ],
)
async def test_invalid_products_are_422(
    client: httpx.AsyncClient, owner: Actor, org: str, change: dict[str, Any]
) -> None:
    response = await client.post(_url(org), json={**VALID, **change}, headers=owner.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_name_of_200_characters_and_free_product_are_fine(
    client: httpx.AsyncClient, owner: Actor, org: str
) -> None:
    product = await _create(client, owner, org, name="n" * 200, price_cents=0, sku=None)
    assert (len(product["name"]), product["price_cents"], product["sku"]) == (200, 0, None)


async def test_a_whole_number_written_with_a_fraction_is_that_integer(
    client: httpx.AsyncClient, owner: Actor, org: str
) -> None:
    # JSON has one number type: 1999.0 is what the document's `integer` allows.
    product = await _create(client, owner, org, price_cents=1999.0)
    assert product["price_cents"] == 1999


async def test_surrounding_whitespace_of_name_and_sku_is_trimmed(
    client: httpx.AsyncClient, owner: Actor, org: str
) -> None:
    product = await _create(client, owner, org, name="  Widget  ", sku=" W-2 ")
    assert (product["name"], product["sku"]) == ("Widget", "W-2")


async def test_the_document_lists_the_currencies_and_omits_refused_nulls(
    client: httpx.AsyncClient,
) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    create, update = schemas["ProductCreate"]["properties"], schemas["ProductUpdate"]["properties"]
    assert create["currency"]["enum"] == sorted(ACTIVE_CURRENCIES)
    assert create["name"]["pattern"] == VISIBLE_LINE_PATTERN
    assert create["price_cents"]["maximum"] == MAX_PRICE_CENTS
    # The fields `test_null_for_a_required_field_is_422` refuses as null.
    for field in ("name", "price_cents", "currency", "is_active"):
        assert "anyOf" not in update[field], field
        assert "default" not in update[field], field


async def test_sku_is_unique_within_an_organization_only(
    client: httpx.AsyncClient, owner: Actor, org: str
) -> None:
    first = await _create(client, owner, org, sku="DUP")
    clash = await client.post(_url(org), json={**VALID, "sku": "DUP"}, headers=owner.headers)
    assert clash.status_code == 409
    assert clash.json()["code"] == "sku_taken"
    other = await make_org(client, owner, "Other")
    await _create(client, owner, other, sku="DUP")
    # Products without a SKU never clash.
    await _create(client, owner, org, sku=None)
    await _create(client, owner, org, sku=None)
    second = await _create(client, owner, org, sku="OTHER")
    moved = await client.patch(_url(org, second["id"]), json={"sku": "DUP"}, headers=owner.headers)
    assert moved.status_code == 409
    assert moved.json()["code"] == "sku_taken"
    assert first["sku"] == "DUP"


async def test_patch_with_current_if_match_bumps_the_version(
    client: httpx.AsyncClient, owner: Actor, org: str
) -> None:
    product = await _create(client, owner, org)
    response = await client.patch(
        _url(org, product["id"]),
        json={"price_cents": 2500, "description": None},
        headers={**owner.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["price_cents"], response.json()["version"]) == (2500, 2)
    assert response.headers["etag"] == '"2"'
    assert response.json()["updated_at"] >= product["updated_at"]


@pytest.mark.parametrize("if_match", ['"1"', 'W/"2"', '"abc"', "2", '"1", "3"', ""])
async def test_stale_or_unusable_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, owner: Actor, org: str, db: AsyncSession, if_match: str
) -> None:
    product = await _create(client, owner, org)
    await client.patch(_url(org, product["id"]), json={"name": "v2"}, headers=owner.headers)
    response = await client.patch(
        _url(org, product["id"]),
        json={"name": "lost update"},
        headers={**owner.headers, "If-Match": if_match},
    )
    assert response.status_code == 412
    assert response.json()["code"] == "version_conflict"
    stored = await db.get_one(Product, uuid.UUID(product["id"]))
    assert (stored.name, stored.version) == ("v2", 2)
    deletion = await client.delete(
        _url(org, product["id"]), headers={**owner.headers, "If-Match": if_match}
    )
    assert deletion.status_code == 412


@pytest.mark.parametrize("if_match", ['"2"', '"1", "2"', "*"])
async def test_matching_if_match_forms(
    client: httpx.AsyncClient, owner: Actor, org: str, if_match: str
) -> None:
    product = await _create(client, owner, org)
    await client.patch(_url(org, product["id"]), json={"name": "v2"}, headers=owner.headers)
    response = await client.patch(
        _url(org, product["id"]),
        json={"is_active": False},
        headers={**owner.headers, "If-Match": if_match},
    )
    assert response.status_code == 200
    assert response.json()["version"] == 3


async def test_null_for_a_required_field_is_422(
    client: httpx.AsyncClient, owner: Actor, org: str
) -> None:
    product = await _create(client, owner, org)
    for field in ("name", "price_cents", "currency", "is_active"):
        response = await client.patch(
            _url(org, product["id"]), json={field: None}, headers=owner.headers
        )
        assert response.status_code == 422, field


async def test_concurrent_patches_with_the_same_if_match_one_wins(
    client: httpx.AsyncClient, owner: Actor, org: str, db: AsyncSession
) -> None:
    product = await _create(client, owner, org)
    rounds = 5
    for version in range(1, rounds + 1):
        responses = await asyncio.gather(
            *(
                client.patch(
                    _url(org, product["id"]),
                    json={"price_cents": version * 100 + contender},
                    headers={**owner.headers, "If-Match": f'"{version}"'},
                )
                for contender in range(2)
            )
        )
        assert sorted(response.status_code for response in responses) == [200, 412]
    stored = await db.get_one(Product, uuid.UUID(product["id"]))
    assert stored.version == rounds + 1
    updates = await db.scalars(select(AuditEvent).where(AuditEvent.action == "product.updated"))
    assert len(list(updates)) == rounds


async def test_delete_and_audit_trail(
    client: httpx.AsyncClient, owner: Actor, org: str, db: AsyncSession
) -> None:
    product = await _create(client, owner, org)
    await client.patch(_url(org, product["id"]), json={"name": "Renamed"}, headers=owner.headers)
    deleted = await client.delete(_url(org, product["id"]), headers=owner.headers)
    assert deleted.status_code == 204
    assert (await client.get(_url(org, product["id"]), headers=owner.headers)).status_code == 404
    assert (await client.delete(_url(org, product["id"]), headers=owner.headers)).status_code == 404
    events = list(
        await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("product.%"))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
    )
    assert [event.action for event in events] == [
        "product.created",
        "product.updated",
        "product.deleted",
    ]
    assert {(event.actor_user_id, event.organization_id, event.target_id) for event in events} == {
        (owner.id, uuid.UUID(org), product["id"])
    }


async def test_products_of_another_organization_are_behind_the_wall(
    app: Any, client: httpx.AsyncClient, owner: Actor, org: str
) -> None:
    secret = await _create(client, owner, org, name="Secret")
    stranger = await make_user(app)
    own_org = await make_org(client, stranger, "Stranger Inc")
    # The stranger's own organization path does not reach another's product...
    response = await client.get(_url(own_org, secret["id"]), headers=stranger.headers)
    assert response.status_code == 404
    patch = await client.patch(
        _url(own_org, secret["id"]), json={"name": "pwned"}, headers=stranger.headers
    )
    assert patch.status_code == 404
    # ...and the real path is 404 without data.
    for method in ("GET", "PATCH", "DELETE"):
        direct = await client.request(
            method,
            _url(org, secret["id"]),
            headers=stranger.headers,
            **({"json": {"name": "pwned"}} if method == "PATCH" else {}),
        )
        assert direct.status_code == 404
        assert "Secret" not in direct.text
    listing = await client.get(_url(org), headers=stranger.headers)
    assert listing.status_code == 404


async def test_permissions_per_role(
    app: Any, client: httpx.AsyncClient, owner: Actor, org: str
) -> None:
    product = await _create(client, owner, org)
    viewer = await add_member(app, org, "viewer")
    member = await add_member(app, org, "member")
    assert (await client.get(_url(org), headers=viewer.headers)).status_code == 200
    viewer_create = await client.post(
        _url(org), json={**VALID, "sku": None}, headers=viewer.headers
    )
    assert viewer_create.status_code == 403
    assert (
        await client.post(_url(org), json={**VALID, "sku": None}, headers=member.headers)
    ).status_code == 201
    member_delete = await client.delete(_url(org, product["id"]), headers=member.headers)
    assert member_delete.status_code == 403


async def test_search_by_name_or_sku_and_filter_by_state(
    app: Any, client: httpx.AsyncClient, owner: Actor, org: str
) -> None:
    await _create(client, owner, org, name="Blue Widget", sku="BW-1")
    await _create(client, owner, org, name="Red gadget", sku="RG-1", is_active=False)
    await _create(client, owner, org, name="100% cotton_shirt", sku="widget-7")
    other = await make_org(client, owner, "Other")
    await _create(client, owner, other, name="Blue Widget elsewhere", sku="BW-1")

    async def names(**params: Any) -> list[str]:
        response = await client.get(_url(org), params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        return sorted(item["name"] for item in response.json()["items"])

    assert await names(q="WIDGET") == ["100% cotton_shirt", "Blue Widget"]
    assert await names(q="rg-") == ["Red gadget"]
    assert await names(q="%") == ["100% cotton_shirt"]
    assert await names(q="n_s") == ["100% cotton_shirt"]
    assert await names(q="gadget", is_active="true") == []
    assert await names(is_active="false") == ["Red gadget"]
    assert len(await names()) == 3


async def test_pagination_over_a_thousand_products_is_exact_and_stable(
    app: Any, client: httpx.AsyncClient, owner: Actor, org: str, db: AsyncSession
) -> None:
    org_id = uuid.UUID(org)
    db.add_all(
        Product(
            organization_id=org_id,
            name=f"Product {index}",
            sku=f"SKU-{index:04d}",
            price_cents=index,
            currency="USD",
        )
        for index in range(1000)
    )
    await db.commit()
    expected = sorted(await db.scalars(select(Product.id).where(Product.organization_id == org_id)))
    assert len(expected) == 1000

    seen: list[uuid.UUID] = []
    cursor: str | None = None
    pages = 0
    late: dict[str, Any] | None = None
    while True:
        params: dict[str, Any] = {"limit": 37, **({"cursor": cursor} if cursor else {})}
        response = await client.get(_url(org), params=params, headers=owner.headers)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 37
        seen += [uuid.UUID(item["id"]) for item in page["items"]]
        pages += 1
        if pages == 10:
            # A product added mid-walk: neither duplicates nor hides the others.
            late = await _create(client, owner, org, name="Late arrival", sku="LATE")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert late is not None
    assert len(seen) == len(set(seen)) == 1001
    assert seen == sorted(seen)
    assert seen[:1000] == expected
    assert seen[-1] == uuid.UUID(late["id"])


async def test_bad_cursor_and_limits(client: httpx.AsyncClient, owner: Actor, org: str) -> None:
    bad = await client.get(_url(org), params={"cursor": "!!"}, headers=owner.headers)
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_cursor"
    # The decoder skips characters outside base64url; the documented pattern does not.
    padded = encode_cursor(uuid.uuid4()) + "!!"
    bad = await client.get(_url(org), params={"cursor": padded}, headers=owner.headers)
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_cursor"
    first_page = await client.get(_url(org), params={"cursor": ""}, headers=owner.headers)
    assert first_page.status_code == 200
    too_many = await client.get(_url(org), params={"limit": 201}, headers=owner.headers)
    assert too_many.status_code == 422
