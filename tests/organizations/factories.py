"""Small factories shared by the organization and product tests.

Users and their sessions are written straight to the database (no password hashing,
no login rate limits), then act only through real HTTP with a real access token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.identity.models import User
from tenantry.identity.sessions import start_session
from tenantry.organizations.models import Membership, Organization, Role
from tenantry.organizations.permissions import BUILTIN_ROLES, OWNER_ROLE_ID
from tenantry.request_context import RequestContext

ROLE_IDS = {name: role_id for name, (role_id, _, _) in BUILTIN_ROLES.items()}


@dataclass(frozen=True)
class Actor:
    id: uuid.UUID
    email: str
    headers: dict[str, str]


def _sessionmaker(app: Any) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return sessionmaker


async def make_user(app: Any, *, email: str | None = None, is_superuser: bool = False) -> Actor:
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    async with _sessionmaker(app)() as db:
        user = User(email=email, password_hash="!not-a-hash", is_superuser=is_superuser)
        db.add(user)
        await db.flush()
        session = start_session(
            db,
            user_id=user.id,
            settings=app.state.settings,
            context=RequestContext(ip=None, user_agent=None, request_id=None),
        )
        await db.commit()
        user_id, session_id = user.id, session.id
    token = app.state.signer.issue(user_id=user_id, session_id=session_id)
    return Actor(id=user_id, email=email, headers={"Authorization": f"Bearer {token}"})


async def make_org(client: httpx.AsyncClient, owner: Actor, name: str = "Acme") -> str:
    response = await client.post("/organizations", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    org_id: str = response.json()["id"]
    return org_id


async def insert_org(app: Any, *, owner_id: uuid.UUID, name: str = "Acme") -> uuid.UUID:
    """An organization with its owner, written directly (for tests that need many)."""
    async with _sessionmaker(app)() as db:
        organization = Organization(
            name=name, slug=f"org-{uuid.uuid4().hex[:16]}", created_by=owner_id
        )
        db.add(organization)
        await db.flush()
        db.add(Membership(user_id=owner_id, organization_id=organization.id, role_id=OWNER_ROLE_ID))
        await db.commit()
        return organization.id


async def insert_membership(
    app: Any, *, org_id: uuid.UUID | str, user_id: uuid.UUID, role_id: uuid.UUID
) -> None:
    async with _sessionmaker(app)() as db:
        db.add(Membership(user_id=user_id, organization_id=uuid.UUID(str(org_id)), role_id=role_id))
        await db.commit()


async def insert_role(
    app: Any, *, org_id: uuid.UUID | str, name: str, permissions: list[str]
) -> uuid.UUID:
    async with _sessionmaker(app)() as db:
        role = Role(organization_id=uuid.UUID(str(org_id)), name=name, permissions=permissions)
        db.add(role)
        await db.commit()
        return role.id


async def add_member(
    app: Any, org_id: uuid.UUID | str, role: str = "member", *, email: str | None = None
) -> Actor:
    actor = await make_user(app, email=email)
    await insert_membership(app, org_id=org_id, user_id=actor.id, role_id=ROLE_IDS[role])
    return actor
