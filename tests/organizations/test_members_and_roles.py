from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.organizations.models import Membership
from tests.organizations.factories import (
    ROLE_IDS,
    Actor,
    add_member,
    insert_membership,
    insert_role,
    make_org,
    make_user,
)


async def _role_of(db: AsyncSession, org: str, user: Actor) -> uuid.UUID | None:
    membership = await db.scalar(
        select(Membership)
        .where(Membership.organization_id == uuid.UUID(org), Membership.user_id == user.id)
        .execution_options(populate_existing=True)
    )
    return membership.role_id if membership else None


async def _denials(db: AsyncSession, actor: Actor) -> list[dict[str, Any]]:
    events = await db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "access.denied", AuditEvent.actor_user_id == actor.id)
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    return [event.details for event in events]


async def _set_role(
    client: httpx.AsyncClient, actor: Actor, org: str, target: Actor, role: str
) -> httpx.Response:
    return await client.patch(
        f"/organizations/{org}/members/{target.id}", json={"role": role}, headers=actor.headers
    )


# --- escalation attempts ------------------------------------------------------------


async def test_admin_cannot_make_someone_owner(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    admin = await add_member(app, org, "admin")
    member = await add_member(app, org, "member")
    for target in (member, admin):
        response = await _set_role(client, admin, org, target, "owner")
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    assert await _role_of(db, org, member) == ROLE_IDS["member"]
    assert await _role_of(db, org, admin) == ROLE_IDS["admin"]
    denials = await _denials(db, admin)
    assert [denial["wanted"] for denial in denials] == [["role:owner"], ["role:owner"]]
    assert denials[0]["route"] == "PATCH /organizations/{org_id}/members/{user_id}"


async def test_member_cannot_change_their_own_role(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    member = await add_member(app, org, "member")
    for role in ("admin", "owner", "viewer"):
        response = await _set_role(client, member, org, member, role)
        assert response.status_code == 403
    assert await _role_of(db, org, member) == ROLE_IDS["member"]
    assert len(await _denials(db, member)) == 3


async def test_custom_role_cannot_carry_a_permission_its_creator_lacks(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    admin = await add_member(app, org, "admin")
    response = await client.post(
        f"/organizations/{org}/roles",
        json={"name": "deleter", "permissions": ["org:delete", "products:read"]},
        headers=admin.headers,
    )
    assert response.status_code == 403
    assert (await _denials(db, admin))[-1]["wanted"] == ["org:delete"]
    roles = (await client.get(f"/organizations/{org}/roles", headers=admin.headers)).json()
    assert "deleter" not in [role["name"] for role in roles["items"]]

    # Nor can an existing role be widened past the editor's own permissions.
    manager_role = await insert_role(
        app, org_id=org, name="manager", permissions=["roles:manage", "org:read"]
    )
    manager = await make_user(app)
    await insert_membership(app, org_id=org, user_id=manager.id, role_id=manager_role)
    harmless = await client.post(
        f"/organizations/{org}/roles",
        json={"name": "reader", "permissions": ["org:read"]},
        headers=manager.headers,
    )
    assert harmless.status_code == 201
    widened = await client.patch(
        f"/organizations/{org}/roles/{harmless.json()['id']}",
        json={"permissions": ["org:read", "members:manage"]},
        headers=manager.headers,
    )
    assert widened.status_code == 403
    self_widened = await client.patch(
        f"/organizations/{org}/roles/{manager_role}",
        json={"permissions": ["roles:manage", "org:read", "org:delete"]},
        headers=manager.headers,
    )
    assert self_widened.status_code == 403


async def test_member_manager_cannot_grant_a_role_stronger_than_their_own(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    gatekeeper_role = await insert_role(
        app,
        org_id=org,
        name="gatekeeper",
        permissions=["members:manage", "members:read", "org:read", "products:read"],
    )
    gatekeeper = await make_user(app)
    await insert_membership(app, org_id=org, user_id=gatekeeper.id, role_id=gatekeeper_role)
    viewer = await add_member(app, org, "viewer")
    # `member` holds products:write, which the gatekeeper lacks.
    response = await _set_role(client, gatekeeper, org, viewer, "member")
    assert response.status_code == 403
    assert (await _denials(db, gatekeeper))[-1]["wanted"] == ["products:write"]
    assert await _role_of(db, org, viewer) == ROLE_IDS["viewer"]
    # And cannot touch someone whose role is stronger, even to weaken it.
    member = await add_member(app, org, "member")
    assert (await _set_role(client, gatekeeper, org, member, "gatekeeper")).status_code == 403
    removal = await client.delete(
        f"/organizations/{org}/members/{member.id}", headers=gatekeeper.headers
    )
    assert removal.status_code == 403
    assert await _role_of(db, org, member) == ROLE_IDS["member"]


async def test_admin_cannot_remove_or_demote_the_owner(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    admin = await add_member(app, org, "admin")
    removal = await client.delete(f"/organizations/{org}/members/{owner.id}", headers=admin.headers)
    assert removal.status_code == 403
    demotion = await _set_role(client, admin, org, owner, "viewer")
    assert demotion.status_code == 403
    assert await _role_of(db, org, owner) == ROLE_IDS["owner"]


async def test_last_owner_cannot_leave_or_be_demoted(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    leave = await client.delete(f"/organizations/{org}/members/{owner.id}", headers=owner.headers)
    assert leave.status_code == 409
    assert leave.json()["code"] == "last_owner"
    demote = await _set_role(client, owner, org, owner, "admin")
    assert demote.status_code == 409
    assert demote.json()["code"] == "last_owner"
    assert await _role_of(db, org, owner) == ROLE_IDS["owner"]

    # With a second owner, either can step down, but never both.
    second = await add_member(app, org, "admin")
    promoted = await _set_role(client, owner, org, second, "owner")
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "owner"
    left = await client.delete(f"/organizations/{org}/members/{owner.id}", headers=owner.headers)
    assert left.status_code == 204
    last = await client.delete(f"/organizations/{org}/members/{second.id}", headers=second.headers)
    assert last.status_code == 409
    assert await _role_of(db, org, owner) is None


# --- members --------------------------------------------------------------------------


async def test_members_list_shows_role_and_paginates(app: Any, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    others = [await add_member(app, org, role) for role in ("admin", "member", "viewer")]
    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            f"/organizations/{org}/members", params=params, headers=others[2].headers
        )
        assert response.status_code == 200
        seen += [(item["email"], item["role"]) for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(
        [(owner.email, "owner")]
        + [
            (actor.email, role)
            for actor, role in zip(others, ("admin", "member", "viewer"), strict=True)
        ]
    )


async def test_owner_changes_a_role_and_it_is_audited(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    viewer = await add_member(app, org, "viewer")
    response = await _set_role(client, owner, org, viewer, "admin")
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "member.role_changed"))
    assert event is not None
    assert (event.actor_user_id, event.organization_id, event.target_id) == (
        owner.id,
        uuid.UUID(org),
        str(viewer.id),
    )
    assert event.details == {"from": "viewer", "to": "admin"}


async def test_unknown_role_and_unknown_member(app: Any, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    viewer = await add_member(app, org, "viewer")
    unknown_role = await _set_role(client, owner, org, viewer, "emperor")
    assert unknown_role.status_code == 422
    assert unknown_role.json()["code"] == "unknown_role"
    stranger = await make_user(app)
    unknown_member = await _set_role(client, owner, org, stranger, "viewer")
    assert unknown_member.status_code == 404


async def test_a_role_of_another_organization_cannot_be_granted(
    app: Any, client: httpx.AsyncClient
) -> None:
    owner = await make_user(app)
    org, other = await make_org(client, owner), await make_org(client, owner, "Other")
    await insert_role(app, org_id=other, name="elsewhere", permissions=[])
    viewer = await add_member(app, org, "viewer")
    response = await _set_role(client, owner, org, viewer, "elsewhere")
    assert response.status_code == 422


async def test_removed_member_loses_access_on_the_next_request(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    member = await add_member(app, org, "member")
    assert (await client.get(f"/organizations/{org}", headers=member.headers)).status_code == 200
    removal = await client.delete(
        f"/organizations/{org}/members/{member.id}", headers=owner.headers
    )
    assert removal.status_code == 204
    after = await client.get(f"/organizations/{org}", headers=member.headers)
    assert after.status_code == 404
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "member.removed"))
    assert event is not None
    assert event.details == {"role": "member", "left": False}


async def test_any_member_can_leave(app: Any, client: httpx.AsyncClient, db: AsyncSession) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    viewer = await add_member(app, org, "viewer")
    response = await client.delete(
        f"/organizations/{org}/members/{viewer.id}", headers=viewer.headers
    )
    assert response.status_code == 204
    assert await _role_of(db, org, viewer) is None


# --- roles ----------------------------------------------------------------------------


async def test_custom_role_lifecycle(app: Any, client: httpx.AsyncClient, db: AsyncSession) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    created = await client.post(
        f"/organizations/{org}/roles",
        json={
            "name": "catalog",
            "description": "Keeps the catalogue",
            "permissions": ["products:write", "products:read", "products:read"],
        },
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    role = created.json()
    assert role["permissions"] == ["products:read", "products:write"]
    assert role["builtin"] is False

    duplicate = await client.post(
        f"/organizations/{org}/roles",
        json={"name": "catalog", "permissions": []},
        headers=owner.headers,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "role_name_taken"
    builtin_name = await client.post(
        f"/organizations/{org}/roles",
        json={"name": "admin", "permissions": []},
        headers=owner.headers,
    )
    assert builtin_name.status_code == 409
    assert builtin_name.json()["code"] == "role_name_taken"

    renamed = await client.patch(
        f"/organizations/{org}/roles/{role['id']}",
        json={"name": "catalogue", "permissions": ["products:read"]},
        headers=owner.headers,
    )
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["permissions"]) == (
        "catalogue",
        ["products:read"],
    )

    holder = await make_user(app)
    await insert_membership(app, org_id=org, user_id=holder.id, role_id=uuid.UUID(role["id"]))
    # The role's permissions are what the holder gets: products yes, members no.
    assert (
        await client.get(f"/organizations/{org}/products", headers=holder.headers)
    ).status_code == 200
    assert (
        await client.get(f"/organizations/{org}/members", headers=holder.headers)
    ).status_code == 403

    in_use = await client.delete(f"/organizations/{org}/roles/{role['id']}", headers=owner.headers)
    assert in_use.status_code == 409
    assert in_use.json()["code"] == "role_in_use"
    await _set_role(client, owner, org, holder, "viewer")
    deleted = await client.delete(f"/organizations/{org}/roles/{role['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    actions = list(
        await db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("role.%"))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
    )
    assert actions == ["role.created", "role.updated", "role.deleted"]


async def test_role_names_are_sent_exactly_as_the_document_says(
    app: Any, client: httpx.AsyncClient
) -> None:
    # Trimming made ` admin` (or 50 characters plus a space) valid though the documented
    # pattern and length say otherwise.
    owner = await make_user(app)
    org = await make_org(client, owner)
    for name in (" catalog", "catalog ", "c" * 50 + " "):
        response = await client.post(
            f"/organizations/{org}/roles",
            json={"name": name, "permissions": []},
            headers=owner.headers,
        )
        assert response.status_code == 422, name


async def test_builtin_roles_are_read_only(app: Any, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    for role_id in ROLE_IDS.values():
        patch = await client.patch(
            f"/organizations/{org}/roles/{role_id}",
            json={"description": "mine now"},
            headers=owner.headers,
        )
        assert patch.status_code == 403
        assert patch.json()["code"] == "builtin_role_read_only"
        delete = await client.delete(f"/organizations/{org}/roles/{role_id}", headers=owner.headers)
        assert delete.status_code == 403


async def test_roles_of_another_organization_are_not_found(
    app: Any, client: httpx.AsyncClient
) -> None:
    owner = await make_user(app)
    org, other = await make_org(client, owner), await make_org(client, owner, "Other")
    foreign = await insert_role(app, org_id=other, name="foreign", permissions=[])
    response = await client.patch(
        f"/organizations/{org}/roles/{foreign}", json={"description": "x"}, headers=owner.headers
    )
    assert response.status_code == 404
    roles = (await client.get(f"/organizations/{org}/roles", headers=owner.headers)).json()
    assert "foreign" not in [role["name"] for role in roles["items"]]


async def test_permission_catalogue(app: Any, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    response = await client.get("/permissions", headers=user.headers)
    assert response.status_code == 200
    names = [item["name"] for item in response.json()["items"]]
    assert names == [
        "org:read",
        "org:update",
        "org:delete",
        "members:read",
        "members:manage",
        "roles:manage",
        "products:read",
        "products:write",
        "products:delete",
        "audit:read",
    ]
    assert all(item["description"] for item in response.json()["items"])


async def test_superuser_acts_on_any_organization(app: Any, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    operator = await make_user(app, is_superuser=True)
    read = await client.get(f"/organizations/{org}", headers=operator.headers)
    assert read.status_code == 200
    assert read.json()["role"] is None
    viewer = await add_member(app, org, "viewer")
    assert (await _set_role(client, operator, org, viewer, "owner")).status_code == 200
    assert (
        await client.delete(f"/organizations/{org}", headers=operator.headers)
    ).status_code == 204


async def test_denial_is_recorded_even_though_the_request_fails(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    viewer = await add_member(app, org, "viewer")
    response = await client.patch(
        f"/organizations/{org}", json={"name": "Mine"}, headers=viewer.headers
    )
    assert response.status_code == 403
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "access.denied"))
    assert event is not None
    assert (event.outcome, event.actor_user_id, event.organization_id) == (
        "failure",
        viewer.id,
        uuid.UUID(org),
    )
    assert event.details["wanted"] == ["org:update"]
    assert event.ip == "203.0.113.7"


async def test_two_owners_stepping_down_at_once_leave_one_owner(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    first = await make_user(app)
    org = await make_org(client, first)
    second = await add_member(app, org, "owner")
    for attempt in range(3):
        demotions = await asyncio.gather(
            _set_role(client, first, org, second, "admin"),
            _set_role(client, second, org, first, "admin"),
        )
        statuses = sorted(response.status_code for response in demotions)
        # One wins; the loser is either the last owner now (409) or no longer an
        # owner at all, so no longer allowed to change an owner (403).
        assert statuses[0] == 200, (attempt, [r.text for r in demotions])
        assert statuses[1] in (403, 409), (attempt, [r.text for r in demotions])
        owners = await db.scalar(
            select(func.count())
            .select_from(Membership)
            .where(
                Membership.organization_id == uuid.UUID(org),
                Membership.role_id == ROLE_IDS["owner"],
            )
            .execution_options(populate_existing=True)
        )
        assert owners == 1
        # Restore two owners for the next round.
        winner = first if demotions[0].status_code == 200 else second
        loser = second if winner is first else first
        assert (await _set_role(client, winner, org, loser, "owner")).status_code == 200
        assert loser  # both stay members


async def test_two_owners_leaving_at_once_leave_one_owner(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    first = await make_user(app)
    org = await make_org(client, first)
    second = await add_member(app, org, "owner")
    departures = await asyncio.gather(
        client.delete(f"/organizations/{org}/members/{first.id}", headers=first.headers),
        client.delete(f"/organizations/{org}/members/{second.id}", headers=second.headers),
    )
    assert sorted(response.status_code for response in departures) == [204, 409]
    remaining = await db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == uuid.UUID(org))
    )
    assert remaining == 1
