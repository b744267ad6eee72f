"""Members of an organization (DESIGN.md §3): listing them, changing a member's role and
removing one, under the rules in `access` (nobody out-ranks themselves, the last
owner stays).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.models import User
from tenantry.organizations.access import (
    OrgAccess,
    ensure_may_grant,
    ensure_may_manage,
    ensure_not_last_owner,
    lock_organization,
)
from tenantry.organizations.exceptions import (
    MemberNotFound,
)
from tenantry.organizations.models import Membership, Role
from tenantry.organizations.permissions import (
    OWNER_ROLE_ID,
)
from tenantry.organizations.roles import resolve_role
from tenantry.organizations.schemas import (
    MemberRead,
)
from tenantry.pagination import Page, PageParams, paginate
from tenantry.request_context import RequestContext


async def _get_member(
    db: AsyncSession, *, organization_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, Role, User]:
    row = (
        await db.execute(
            select(Membership, Role, User)
            .join(Role, Role.id == Membership.role_id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
        )
    ).one_or_none()
    if row is None:
        raise MemberNotFound()
    membership, role, user = row
    return membership, role, user


def member_read(membership: Membership, role: Role, user: User) -> MemberRead:
    return MemberRead(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=role.name,
        joined_at=membership.created_at,
    )


async def list_members(
    db: AsyncSession, *, organization_id: uuid.UUID, page: PageParams
) -> Page[MemberRead]:
    statement = (
        select(Membership, Role, User)
        .join(Role, Role.id == Membership.role_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
    )
    return await paginate(db, statement, key=Membership.user_id, page=page, render=member_read)


async def change_member_role(
    db: AsyncSession,
    *,
    access: OrgAccess,
    user_id: uuid.UUID,
    role_name: str,
    context: RequestContext,
) -> MemberRead:
    organization_id = access.organization.id
    await lock_organization(db, organization_id)
    membership, current_role, user = await _get_member(
        db, organization_id=organization_id, user_id=user_id
    )
    new_role = await resolve_role(db, organization_id=organization_id, name=role_name)
    ensure_may_manage(access, current_role)
    ensure_may_grant(access, new_role)
    if new_role.id == current_role.id:
        return member_read(membership, current_role, user)
    if current_role.id == OWNER_ROLE_ID:
        await ensure_not_last_owner(db, organization_id)
    membership.role_id = new_role.id
    access.record(
        db,
        "member.role_changed",
        context=context,
        target_type="user",
        target_id=user_id,
        details={"from": current_role.name, "to": new_role.name},
    )
    await db.commit()
    return member_read(membership, new_role, user)


async def remove_member(
    db: AsyncSession, *, access: OrgAccess, user_id: uuid.UUID, context: RequestContext
) -> None:
    """Remove a member, or leave. Takes effect on the member's very next request."""
    organization_id = access.organization.id
    leaving = user_id == access.user.id
    await lock_organization(db, organization_id)
    membership, role, _user = await _get_member(
        db, organization_id=organization_id, user_id=user_id
    )
    if not leaving:
        ensure_may_manage(access, role)
    if role.id == OWNER_ROLE_ID:
        await ensure_not_last_owner(db, organization_id)
    await db.delete(membership)
    access.record(
        db,
        "member.removed",
        context=context,
        target_type="user",
        target_id=user_id,
        details={"role": role.name, "left": leaving},
    )
    await db.commit()
