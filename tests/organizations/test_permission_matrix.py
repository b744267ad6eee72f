"""Tenant walls, property-based: random organizations, users and role assignments; then
every organization route, for every (user, organization) pair, is checked against the
permission table (DESIGN.md §1.4, §3).

- A non-member gets `404 not_found`, with nothing of the organization in the answer.
- A member gets the route's success status exactly when their role's permissions allow
  it (including the granting rules), and `403 forbidden` otherwise.
- A superuser passes everywhere.

Runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` names one (as CI does).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tenantry.db import utcnow, uuid7
from tenantry.identity.models import User
from tenantry.identity.sessions import start_session
from tenantry.organizations.models import Invitation, Membership, Organization, Role
from tenantry.organizations.permissions import BUILTIN_ROLES, Permission
from tenantry.products.models import Product
from tenantry.request_context import RequestContext
from tests.organizations.conftest import MailSink
from tests.organizations.factories import (
    ROLE_IDS,
    Actor,
    insert_membership,
    insert_role,
)

ALL = frozenset(permission.value for permission in Permission)
VIEWER = frozenset(permission.value for permission in BUILTIN_ROLES["viewer"][2])
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
_names = itertools.count()

# --- the random world ---------------------------------------------------------------

ROLE_CHOICES = (None, "owner", "admin", "member", "viewer", "custom")


@st.composite
def assignments(draw: st.DrawFn) -> tuple[str | None, frozenset[str]]:
    """One user's standing in one organization: no membership, a built-in role, or a
    custom role with any subset of the permissions."""
    choice = draw(st.sampled_from(ROLE_CHOICES))
    if choice == "custom":
        return choice, draw(st.frozensets(st.sampled_from(sorted(ALL))))
    return choice, frozenset()


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    organizations = draw(st.integers(1, 2))
    users = draw(st.integers(2, 3))
    return {
        "organizations": organizations,
        "superusers": draw(
            st.lists(st.integers(0, 9).map(lambda n: n == 0), min_size=users, max_size=users)
        ),
        "grid": draw(
            st.lists(
                st.lists(assignments(), min_size=organizations, max_size=organizations),
                min_size=users,
                max_size=users,
            )
        ),
    }


@dataclass
class Org:
    id: uuid.UUID
    name: str
    founder: Actor
    target: Actor  # a viewer the member routes act on
    probe_role: uuid.UUID  # a custom role without permissions
    probe_product: uuid.UUID
    members: set[uuid.UUID] = field(default_factory=set)


@dataclass
class Caller:
    actor: Actor
    superuser: bool
    permissions: dict[uuid.UUID, frozenset[str] | None]  # None: not a member


async def _insert_product(app: Any, org_id: uuid.UUID) -> uuid.UUID:
    async with app.state.sessionmaker() as db:
        product = Product(organization_id=org_id, name="Probe", price_cents=1, currency="EUR")
        db.add(product)
        await db.commit()
        return product.id


async def _insert_invitation(app: Any, org_id: uuid.UUID) -> uuid.UUID:
    async with app.state.sessionmaker() as db:
        invitation = Invitation(
            organization_id=org_id,
            email=f"pending-{uuid.uuid4().hex[:8]}@example.com",
            role_id=ROLE_IDS["viewer"],
            token_hash=os.urandom(32),
            expires_at=utcnow() + timedelta(days=1),
        )
        db.add(invitation)
        await db.commit()
        return invitation.id


def _new_user(*, is_superuser: bool = False) -> User:
    return User(
        id=uuid7(),
        email=f"user-{uuid.uuid4().hex[:12]}@example.com",
        password_hash="!not-a-hash",
        is_superuser=is_superuser,
    )


async def build_world(app: Any, plan: dict[str, Any]) -> tuple[list[Org], list[Caller]]:
    """Writes the whole world in one transaction, parents flushed before children (the
    models declare no relationships for the unit of work to order by)."""
    settings, signer = app.state.settings, app.state.signer
    no_context = RequestContext(ip=None, user_agent=None, request_id=None)
    founders = [_new_user() for _ in range(plan["organizations"])]
    targets = [_new_user() for _ in range(plan["organizations"])]
    callers_users = [_new_user(is_superuser=flag) for flag in plan["superusers"]]
    organizations = [
        Organization(
            id=uuid7(),
            name=f"Walled {uuid.uuid4().hex[:12]}",
            slug=f"walled-{uuid.uuid4().hex}",
            created_by=founder.id,
        )
        for founder in founders
    ]
    probe_roles = [
        Role(id=uuid7(), organization_id=org.id, name=f"probe-{index}", permissions=[])
        for index, org in enumerate(organizations)
    ]
    products = [
        Product(id=uuid7(), organization_id=org.id, name="Probe", price_cents=1, currency="EUR")
        for org in organizations
    ]
    custom_roles: list[Role] = []
    memberships = [
        Membership(user_id=user.id, organization_id=org.id, role_id=ROLE_IDS[role])
        for org, founder, target in zip(organizations, founders, targets, strict=True)
        for user, role in ((founder, "owner"), (target, "viewer"))
    ]
    held_by: list[dict[uuid.UUID, frozenset[str] | None]] = []
    for user, row in zip(callers_users, plan["grid"], strict=True):
        held: dict[uuid.UUID, frozenset[str] | None] = {}
        for org, (choice, custom) in zip(organizations, row, strict=True):
            if choice is None:
                held[org.id] = None
                continue
            if choice == "custom":
                role = Role(
                    id=uuid7(),
                    organization_id=org.id,
                    name=f"custom-{next(_names)}",
                    permissions=sorted(custom),
                )
                custom_roles.append(role)
                role_id, held[org.id] = role.id, custom
            else:
                role_id = ROLE_IDS[choice]
                held[org.id] = frozenset(p.value for p in BUILTIN_ROLES[choice][2])
            memberships.append(Membership(user_id=user.id, organization_id=org.id, role_id=role_id))
        held_by.append(held)

    tokens: dict[uuid.UUID, str] = {}
    async with app.state.sessionmaker() as db:
        everyone = founders + targets + callers_users
        db.add_all(everyone)
        await db.flush()
        sessions = [
            start_session(db, user_id=user.id, settings=settings, context=no_context)
            for user in everyone
        ]
        db.add_all(organizations)
        await db.flush()
        db.add_all([*probe_roles, *custom_roles, *products])
        await db.flush()
        db.add_all(memberships)
        await db.commit()
        for user, session in zip(everyone, sessions, strict=True):
            tokens[user.id] = signer.issue(user_id=user.id, session_id=session.id)

    def actor(user: User) -> Actor:
        return Actor(
            id=user.id, email=user.email, headers={"Authorization": f"Bearer {tokens[user.id]}"}
        )

    orgs = [
        Org(
            id=org.id,
            name=org.name,
            founder=actor(founder),
            target=actor(target),
            probe_role=role.id,
            probe_product=product.id,
            members={m.user_id for m in memberships if m.organization_id == org.id},
        )
        for org, founder, target, role, product in zip(
            organizations, founders, targets, probe_roles, products, strict=True
        )
    ]
    callers = [
        Caller(actor=actor(user), superuser=user.is_superuser, permissions=held)
        for user, held in zip(callers_users, held_by, strict=True)
    ]
    return orgs, callers


# --- the routes and what each needs ---------------------------------------------------

Send = Callable[[httpx.AsyncClient, Any, Org, Actor], Awaitable[httpx.Response]]
Check = Callable[[httpx.Response, Org], None]


@dataclass(frozen=True)
class Probe:
    name: str
    needs: frozenset[str]
    success: int
    send: Send
    check: Check | None = None
    restore: Callable[[Any, Org], Awaitable[None]] | None = None


def _get(path: str) -> Send:
    async def send(client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor) -> httpx.Response:
        return await client.get(path.format(org=org.id), headers=actor.headers)

    return send


def _check_org(response: httpx.Response, org: Org) -> None:
    assert response.json()["id"] == str(org.id)


def _check_members(response: httpx.Response, org: Org) -> None:
    listed = {uuid.UUID(item["user_id"]) for item in response.json()["items"]}
    assert listed == org.members


def _check_products(response: httpx.Response, org: Org) -> None:
    assert all(item["organization_id"] == str(org.id) for item in response.json()["items"])


async def _restore_target(app: Any, org: Org) -> None:
    async with app.state.sessionmaker() as db:
        present = await db.scalar(
            select(Membership.user_id).where(
                Membership.organization_id == org.id, Membership.user_id == org.target.id
            )
        )
    if present is None:
        await insert_membership(
            app, org_id=org.id, user_id=org.target.id, role_id=ROLE_IDS["viewer"]
        )


async def _patch_org(
    client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor
) -> httpx.Response:
    return await client.patch(
        f"/organizations/{org.id}", json={"name": org.name}, headers=actor.headers
    )


async def _set_target_role(
    client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor
) -> httpx.Response:
    return await client.patch(
        f"/organizations/{org.id}/members/{org.target.id}",
        json={"role": "viewer"},
        headers=actor.headers,
    )


async def _remove_target(
    client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor
) -> httpx.Response:
    return await client.delete(
        f"/organizations/{org.id}/members/{org.target.id}", headers=actor.headers
    )


async def _create_role(
    client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor
) -> httpx.Response:
    return await client.post(
        f"/organizations/{org.id}/roles",
        json={"name": f"made-{next(_names)}", "permissions": []},
        headers=actor.headers,
    )


async def _update_role(
    client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor
) -> httpx.Response:
    return await client.patch(
        f"/organizations/{org.id}/roles/{org.probe_role}",
        json={"description": f"touched {next(_names)}"},
        headers=actor.headers,
    )


async def _delete_role(
    client: httpx.AsyncClient, app: Any, org: Org, actor: Actor
) -> httpx.Response:
    role_id = await insert_role(app, org_id=org.id, name=f"doomed-{next(_names)}", permissions=[])
    return await client.delete(f"/organizations/{org.id}/roles/{role_id}", headers=actor.headers)


async def _invite(client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor) -> httpx.Response:
    return await client.post(
        f"/organizations/{org.id}/invitations",
        json={"email": f"guest-{next(_names)}@example.com", "role": "viewer"},
        headers=actor.headers,
    )


async def _revoke(client: httpx.AsyncClient, app: Any, org: Org, actor: Actor) -> httpx.Response:
    invitation_id = await _insert_invitation(app, org.id)
    return await client.delete(
        f"/organizations/{org.id}/invitations/{invitation_id}", headers=actor.headers
    )


async def _create_product(
    client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor
) -> httpx.Response:
    return await client.post(
        f"/organizations/{org.id}/products",
        json={"name": "Made", "price_cents": 5, "currency": "USD"},
        headers=actor.headers,
    )


async def _read_product(
    client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor
) -> httpx.Response:
    return await client.get(
        f"/organizations/{org.id}/products/{org.probe_product}", headers=actor.headers
    )


async def _update_product(
    client: httpx.AsyncClient, _app: Any, org: Org, actor: Actor
) -> httpx.Response:
    return await client.patch(
        f"/organizations/{org.id}/products/{org.probe_product}",
        json={"price_cents": next(_names)},
        headers=actor.headers,
    )


async def _delete_product(
    client: httpx.AsyncClient, app: Any, org: Org, actor: Actor
) -> httpx.Response:
    product_id = await _insert_product(app, org.id)
    return await client.delete(
        f"/organizations/{org.id}/products/{product_id}", headers=actor.headers
    )


def _needs(*permissions: Permission) -> frozenset[str]:
    return frozenset(permission.value for permission in permissions)


P = Permission
PROBES = [
    Probe("read org", _needs(P.org_read), 200, _get("/organizations/{org}"), _check_org),
    Probe("update org", _needs(P.org_update), 200, _patch_org, _check_org),
    Probe(
        "list members",
        _needs(P.members_read),
        200,
        _get("/organizations/{org}/members"),
        _check_members,
    ),
    # Granting or removing the viewer role needs the viewer's permissions as well.
    Probe("change role", _needs(P.members_manage) | VIEWER, 200, _set_target_role),
    Probe(
        "remove member",
        _needs(P.members_manage) | VIEWER,
        204,
        _remove_target,
        restore=_restore_target,
    ),
    Probe("list roles", _needs(P.members_read), 200, _get("/organizations/{org}/roles")),
    Probe("create role", _needs(P.roles_manage), 201, _create_role),
    Probe("update role", _needs(P.roles_manage), 200, _update_role),
    Probe("delete role", _needs(P.roles_manage), 204, _delete_role),
    Probe(
        "list invitations", _needs(P.members_manage), 200, _get("/organizations/{org}/invitations")
    ),
    Probe("invite", _needs(P.members_manage) | VIEWER, 201, _invite),
    Probe("revoke invitation", _needs(P.members_manage), 204, _revoke),
    Probe(
        "list products",
        _needs(P.products_read),
        200,
        _get("/organizations/{org}/products"),
        _check_products,
    ),
    Probe("create product", _needs(P.products_write), 201, _create_product),
    Probe("read product", _needs(P.products_read), 200, _read_product),
    Probe("update product", _needs(P.products_write), 200, _update_product),
    Probe("delete product", _needs(P.products_delete), 204, _delete_product),
]


def _held(caller: Caller, org: Org) -> frozenset[str] | None:
    """What the caller may do in `org`; None for a stranger to it."""
    if caller.superuser:
        return ALL
    return caller.permissions[org.id]


def assert_wall(response: httpx.Response, org: Org, what: str) -> None:
    assert response.status_code == 404, f"{what}: {response.status_code} {response.text}"
    body = response.json()
    assert body["code"] == "not_found", what
    assert set(body) <= PROBLEM_KEYS, what
    for secret in (str(org.id), org.name, str(org.probe_product), str(org.target.id)):
        assert secret not in response.text, what


@settings(
    max_examples=int(os.environ.get("PERMISSION_MATRIX_EXAMPLES", "15")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=worlds())
async def test_every_route_answers_by_the_permission_table(
    app: Any, client: httpx.AsyncClient, mail_sink: MailSink, plan: dict[str, Any]
) -> None:
    orgs, callers = await build_world(app, plan)

    for caller, org, probe in itertools.product(callers, orgs, PROBES):
        what = f"{probe.name} by {_held(caller, org)} (superuser={caller.superuser})"
        response = await probe.send(client, app, org, caller.actor)
        held = _held(caller, org)
        if held is None:
            assert_wall(response, org, what)
        elif probe.needs <= held:
            assert response.status_code == probe.success, f"{what}: {response.text}"
            if probe.check is not None:
                probe.check(response, org)
        else:
            assert response.status_code == 403, f"{what}: {response.status_code} {response.text}"
            assert response.json()["code"] == "forbidden", what
        if probe.restore is not None:
            await probe.restore(app, org)

    # Deleting is last: the first caller allowed to deletes, and then the organization
    # is gone for everyone.
    for org in orgs:
        deleted = False
        for caller in callers:
            held = _held(caller, org)
            response = await client.delete(f"/organizations/{org.id}", headers=caller.actor.headers)
            what = f"delete org by {held}"
            if deleted or held is None:
                assert_wall(response, org, what)
            elif Permission.org_delete.value in held:
                assert response.status_code == 204, f"{what}: {response.text}"
                deleted = True
            else:
                assert response.status_code == 403, what
        founder_view = await client.get(f"/organizations/{org.id}", headers=org.founder.headers)
        assert founder_view.status_code == (404 if deleted else 200)
        async with app.state.sessionmaker() as db:
            remaining = await db.scalar(select(Role.id).where(Role.organization_id == org.id))
        assert (remaining is None) == deleted
