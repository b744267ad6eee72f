"""Who acts on an organization, and the rules that depend on the data (DESIGN.md §3).

Who may call a route is settled by `requires(...)` (dependencies.py), which builds an
`OrgAccess`. The services then apply the rules below: nobody grants a permission they
lack, only an owner touches the owner role, and the last owner stays.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.audit.models import AuditEvent
from tenantry.identity.principal import SignedInUser
from tenantry.organizations.exceptions import (
    LastOwner,
    PermissionDenied,
)
from tenantry.organizations.models import Membership, Organization, Role
from tenantry.organizations.permissions import (
    OWNER_ROLE_ID,
    Permission,
)
from tenantry.request_context import RequestContext


@dataclass(frozen=True, slots=True)
class OrgAccess:
    """Who acts on which organization, and with what rights."""

    organization: Organization
    user: SignedInUser
    role: Role | None  # None: a superuser acting without a membership
    permissions: frozenset[Permission]
    # Plain copies of the two ids: a rollback expires the ORM rows, and reading an
    # expired row's id would need a query the async session cannot make lazily.
    organization_id: uuid.UUID = field(init=False)
    user_id: uuid.UUID = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "organization_id", self.organization.id)
        object.__setattr__(self, "user_id", self.user.id)

    @property
    def is_owner(self) -> bool:
        """Owners (and platform operators) alone may grant, change or remove the owner role."""
        return self.user.is_superuser or (self.role is not None and self.role.id == OWNER_ROLE_ID)

    def lacks(self, permissions: Iterable[str]) -> set[str]:
        held = {permission.value for permission in self.permissions}
        return {permission for permission in permissions if permission not in held}

    def record(
        self,
        db: AsyncSession,
        action: str,
        *,
        context: RequestContext,
        target_type: str,
        target_id: uuid.UUID | str,
        details: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """An audit event of this organization by this caller, in `db`'s transaction."""
        return audit.record(
            db,
            action=action,
            context=context,
            actor_user_id=self.user_id,
            organization_id=self.organization_id,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )


def ensure_may_grant(access: OrgAccess, role: Role) -> None:
    """Nobody hands out a permission they do not hold; only owners hand out ownership."""
    if role.id == OWNER_ROLE_ID and not access.is_owner:
        raise PermissionDenied("Only an owner can grant the owner role.", wanted=["role:owner"])
    if missing := access.lacks(role.permissions):
        raise PermissionDenied(
            "You cannot grant permissions you do not hold.", wanted=sorted(missing)
        )


def ensure_may_manage(access: OrgAccess, current_role: Role) -> None:
    """Nobody changes or removes a member whose role is stronger than their own."""
    if current_role.id == OWNER_ROLE_ID and not access.is_owner:
        raise PermissionDenied(
            "Only an owner can change or remove an owner.", wanted=["role:owner"]
        )
    if missing := access.lacks(current_role.permissions):
        raise PermissionDenied(
            "This member holds permissions you do not; you cannot change them.",
            wanted=sorted(missing),
        )


def ensure_permissions_grantable(access: OrgAccess, permissions: Iterable[str]) -> None:
    if missing := access.lacks(permissions):
        raise PermissionDenied(
            "A role cannot carry permissions its author does not hold.", wanted=sorted(missing)
        )


async def lock_organization(db: AsyncSession, organization_id: uuid.UUID) -> None:
    """Serialize changes to who owns an organization.

    Without it two owners demoting each other at once could both see "another owner
    remains" and leave none. PostgreSQL locks the organization's row; SQLite has no row
    locks, so a write that changes nothing takes its database write lock instead.
    """
    if db.get_bind().dialect.name == "sqlite":
        await db.execute(
            update(Organization)
            .where(Organization.id == organization_id)
            .values(updated_at=Organization.updated_at)
            .execution_options(synchronize_session=False)
        )
        return
    await db.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update()
    )


async def count_owners(db: AsyncSession, organization_id: uuid.UUID) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization_id, Membership.role_id == OWNER_ROLE_ID)
    )
    return int(count or 0)


async def ensure_not_last_owner(db: AsyncSession, organization_id: uuid.UUID) -> None:
    if await count_owners(db, organization_id) <= 1:
        raise LastOwner("Make another member owner first.")
