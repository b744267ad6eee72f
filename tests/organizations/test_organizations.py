from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.organizations.models import Invitation, Membership, Organization, Role
from tenantry.products.models import Product
from tenantry.text import VISIBLE_LINE_PATTERN
from tests.organizations.factories import (
    ROLE_IDS,
    add_member,
    insert_membership,
    make_org,
    make_user,
)


async def _actions(db: AsyncSession, organization_id: str) -> list[str]:
    rows = await db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.organization_id == uuid.UUID(organization_id))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    return list(rows)


async def test_creator_becomes_owner_and_sees_the_organization_in_their_list(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    alice = await make_user(app)
    response = await client.post(
        "/organizations", json={"name": "  Ünïcode & Co.  "}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Ünïcode & Co."
    assert body["slug"] == "unicode-co"
    assert body["role"] == "owner"
    assert "org:delete" in body["permissions"]
    assert body["created_by"] == str(alice.id)

    listed = await client.get("/organizations", headers=alice.headers)
    assert listed.status_code == 200
    assert [(item["id"], item["role"]) for item in listed.json()["items"]] == [
        (body["id"], "owner")
    ]
    membership = await db.get(Membership, (alice.id, uuid.UUID(body["id"])))
    assert membership is not None
    assert membership.role_id == ROLE_IDS["owner"]
    assert await _actions(db, body["id"]) == ["org.created"]


async def test_list_shows_only_my_organizations_with_my_role(
    app: Any, client: httpx.AsyncClient
) -> None:
    alice, bob = await make_user(app), await make_user(app)
    mine = await make_org(client, alice, "Mine")
    await make_org(client, bob, "Not mine")
    shared = await make_org(client, bob, "Shared")
    await insert_membership(app, org_id=shared, user_id=alice.id, role_id=ROLE_IDS["viewer"])
    items = (await client.get("/organizations", headers=alice.headers)).json()["items"]
    assert {(item["id"], item["role"]) for item in items} == {(mine, "owner"), (shared, "viewer")}


async def test_list_is_paginated(app: Any, client: httpx.AsyncClient) -> None:
    alice = await make_user(app)
    created = [await make_org(client, alice, f"Org {index}") for index in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/organizations", params=params, headers=alice.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(created, key=uuid.UUID)


async def test_generated_slugs_get_a_suffix_on_collision(
    app: Any, client: httpx.AsyncClient
) -> None:
    alice = await make_user(app)
    first = await client.post("/organizations", json={"name": "Acme"}, headers=alice.headers)
    second = await client.post("/organizations", json={"name": "ACME!"}, headers=alice.headers)
    assert first.json()["slug"] == "acme"
    slug = second.json()["slug"]
    assert slug.startswith("acme-")
    assert slug != "acme"


async def test_name_without_letters_still_gets_a_slug(app: Any, client: httpx.AsyncClient) -> None:
    alice = await make_user(app)
    response = await client.post("/organizations", json={"name": "日本"}, headers=alice.headers)
    assert response.status_code == 201
    assert response.json()["slug"].startswith("org")


async def test_given_slug_that_is_taken_is_409(app: Any, client: httpx.AsyncClient) -> None:
    alice = await make_user(app)
    ok = await client.post(
        "/organizations", json={"name": "A", "slug": "taken"}, headers=alice.headers
    )
    assert ok.status_code == 201
    again = await client.post(
        "/organizations", json={"name": "B", "slug": "taken"}, headers=alice.headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "slug_taken"


async def test_bad_bodies_are_422(app: Any, client: httpx.AsyncClient) -> None:
    alice = await make_user(app)
    for body in (
        {"name": ""},
        {"name": "x" * 201},
        {"name": "A", "slug": "Not A Slug"},
        {"name": "A", "slug": "-edge-"},
        {"name": "line\nbreak"},
        {"name": "   "},
        # Python's strip() would take the control character off; it is refused instead.
        {"name": "\x1fAcme"},
        {"name": "A", "id": str(uuid.uuid4())},
        {"name": "A", "created_by": str(uuid.uuid4())},
    ):
        response = await client.post("/organizations", json=body, headers=alice.headers)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error"


async def test_anonymous_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/organizations")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_update_renames_and_changes_slug(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    alice = await make_user(app)
    org = await make_org(client, alice)
    await client.post(
        "/organizations", json={"name": "Other", "slug": "other"}, headers=alice.headers
    )
    response = await client.patch(
        f"/organizations/{org}", json={"name": "Renamed", "slug": "renamed"}, headers=alice.headers
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["slug"]) == ("Renamed", "renamed")
    clash = await client.patch(
        f"/organizations/{org}", json={"slug": "other"}, headers=alice.headers
    )
    assert clash.status_code == 409
    assert clash.json()["code"] == "slug_taken"
    assert await _actions(db, org) == ["org.created", "org.updated"]


async def test_admin_cannot_delete_the_organization(app: Any, client: httpx.AsyncClient) -> None:
    alice = await make_user(app)
    org = await make_org(client, alice)
    admin = await add_member(app, org, "admin")
    response = await client.delete(f"/organizations/{org}", headers=admin.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_deleting_an_organization_leaves_no_orphaned_rows(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, mail_sink: Any
) -> None:
    alice = await make_user(app)
    org = await make_org(client, alice)
    kept = await make_org(client, alice, "Kept")
    await add_member(app, org, "member")
    role = await client.post(
        f"/organizations/{org}/roles",
        json={"name": "auditor", "permissions": ["audit:read"]},
        headers=alice.headers,
    )
    assert role.status_code == 201
    invited = await client.post(
        f"/organizations/{org}/invitations",
        json={"email": "invitee@example.com", "role": "auditor"},
        headers=alice.headers,
    )
    assert invited.status_code == 201
    for index in range(3):
        product = await client.post(
            f"/organizations/{org}/products",
            json={"name": f"P{index}", "sku": f"S{index}", "price_cents": 100, "currency": "EUR"},
            headers=alice.headers,
        )
        assert product.status_code == 201
    await client.post(
        f"/organizations/{kept}/products",
        json={"name": "Stays", "price_cents": 1, "currency": "EUR"},
        headers=alice.headers,
    )

    response = await client.delete(f"/organizations/{org}", headers=alice.headers)
    assert response.status_code == 204

    org_id = uuid.UUID(org)
    for model, column in (
        (Organization, Organization.id),
        (Membership, Membership.organization_id),
        (Role, Role.organization_id),
        (Invitation, Invitation.organization_id),
        (Product, Product.organization_id),
    ):
        count = await db.scalar(select(func.count()).select_from(model).where(column == org_id))
        assert count == 0, model.__tablename__
    # Nothing of any organization dangles, and the other organization is untouched.
    assert (
        await db.scalar(
            select(func.count())
            .select_from(Product)
            .where(Product.organization_id.not_in(select(Organization.id)))
        )
        == 0
    )
    assert await db.scalar(select(func.count()).select_from(Product)) == 1
    assert await db.scalar(select(func.count()).select_from(Role)) == 4  # the built-in ones
    assert (await client.get(f"/organizations/{org}", headers=alice.headers)).status_code == 404
    assert (await client.get(f"/organizations/{kept}", headers=alice.headers)).status_code == 200
    # The audit trail outlives the organization.
    assert (await _actions(db, org))[-1] == "org.deleted"


async def test_the_document_states_name_patterns_and_omits_refused_nulls(
    client: httpx.AsyncClient,
) -> None:
    # Patterns beside a validator used to vanish from the document (pydantic drops them).
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert schemas["OrganizationCreate"]["properties"]["name"]["pattern"] == VISIBLE_LINE_PATTERN
    assert schemas["RoleCreate"]["properties"]["name"]["pattern"] == "^[a-z0-9][a-z0-9_-]*$"
    assert "pattern" in schemas["RoleCreate"]["properties"]["description"]["anyOf"][0]
    # The fields `test_null_for_a_required_field_is_422` refuses as null.
    for model, field in [
        ("OrganizationUpdate", "name"),
        ("OrganizationUpdate", "slug"),
        ("RoleUpdate", "name"),
        ("RoleUpdate", "permissions"),
    ]:
        assert "anyOf" not in schemas[model]["properties"][field], (model, field)


async def test_null_for_a_required_field_is_422(app: Any, client: httpx.AsyncClient) -> None:
    alice = await make_user(app)
    org = await make_org(client, alice)
    for body in ({"name": None}, {"slug": None}, {"name": "x", "extra": 1}):
        response = await client.patch(f"/organizations/{org}", json=body, headers=alice.headers)
        assert response.status_code == 422, body
    role = await client.post(
        f"/organizations/{org}/roles", json={"name": "r", "permissions": []}, headers=alice.headers
    )
    for body in ({"name": None}, {"permissions": None}, {"permissions": ["org:fly"]}):
        response = await client.patch(
            f"/organizations/{org}/roles/{role.json()['id']}", json=body, headers=alice.headers
        )
        assert response.status_code == 422, body
