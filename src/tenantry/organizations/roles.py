"""Roles of an organization (DESIGN.md §3): the built-in ones are read-only; a custom
role carries only permissions its author holds, and one still assigned stays.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.organizations.access import OrgAccess, ensure_permissions_grantable
from tenantry.organizations.exceptions import (
    BuiltinRoleReadOnly,
    RoleInUse,
    RoleNameTaken,
    RoleNotFound,
    UnknownRole,
)
from tenantry.organizations.models import Invitation, Membership, Role
from tenantry.organizations.permissions import (
    BUILTIN_ROLES,
    Permission,
    parse_permissions,
)
from tenantry.organizations.schemas import (
    RoleCreate,
    RoleRead,
    RoleUpdate,
)
from tenantry.request_context import RequestContext


def role_read(role: Role) -> RoleRead:
    return RoleRead(
        id=role.id,
        name=role.name,
        description=role.description,
        permissions=sorted(parse_permissions(role.permissions)),
        builtin=role.organization_id is None,
    )


async def resolve_role(db: AsyncSession, *, organization_id: uuid.UUID, name: str) -> Role:
    """A role by name: a built-in one, or one of this organization's own."""
    role = await db.scalar(
        select(Role).where(
            Role.name == name,
            or_(Role.organization_id == organization_id, Role.organization_id.is_(None)),
        )
    )
    if role is None:
        raise UnknownRole(f"No role named {name!r} exists in this organization.")
    return role


async def get_custom_role(
    db: AsyncSession, *, organization_id: uuid.UUID, role_id: uuid.UUID
) -> Role:
    role = await db.get(Role, role_id)
    if role is None or role.organization_id not in (None, organization_id):
        raise RoleNotFound()
    if role.organization_id is None:
        raise BuiltinRoleReadOnly(
            "Built-in roles cannot be changed or deleted.", wanted=["builtin_role"]
        )
    return role


async def list_roles(db: AsyncSession, *, organization_id: uuid.UUID) -> list[RoleRead]:
    roles = (
        await db.scalars(
            select(Role)
            .where(or_(Role.organization_id == organization_id, Role.organization_id.is_(None)))
            .order_by(Role.organization_id.is_not(None), Role.id)
        )
    ).all()
    return [role_read(role) for role in roles]


async def _ensure_role_name_free(
    db: AsyncSession, *, organization_id: uuid.UUID, name: str, except_id: uuid.UUID | None = None
) -> None:
    # Built-in names are reserved too: a name in a request body must mean one role.
    if name in BUILTIN_ROLES:
        raise RoleNameTaken(f"{name!r} is a built-in role.")
    existing = await db.scalar(
        select(Role.id).where(Role.organization_id == organization_id, Role.name == name)
    )
    if existing is not None and existing != except_id:
        raise RoleNameTaken()


def _stored_permissions(permissions: Iterable[Permission]) -> list[str]:
    return sorted({permission.value for permission in permissions})


async def create_role(
    db: AsyncSession, *, access: OrgAccess, body: RoleCreate, context: RequestContext
) -> RoleRead:
    organization_id = access.organization.id
    permissions = _stored_permissions(body.permissions)
    ensure_permissions_grantable(access, permissions)
    await _ensure_role_name_free(db, organization_id=organization_id, name=body.name)
    role = Role(
        organization_id=organization_id,
        name=body.name,
        description=body.description,
        permissions=permissions,
    )
    db.add(role)
    try:
        await db.flush()
        access.record(
            db,
            "role.created",
            context=context,
            target_type="role",
            target_id=role.id,
            details={"name": role.name, "permissions": permissions},
        )
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise RoleNameTaken() from None
    return role_read(role)


async def update_role(
    db: AsyncSession,
    *,
    access: OrgAccess,
    role_id: uuid.UUID,
    changes: RoleUpdate,
    context: RequestContext,
) -> RoleRead:
    organization_id = access.organization.id
    role = await get_custom_role(db, organization_id=organization_id, role_id=role_id)
    # Editing a role changes the rights of everyone holding it: both the old and the
    # new set must be within the editor's own.
    ensure_permissions_grantable(access, role.permissions)
    fields: dict[str, object] = {}
    if changes.permissions is not None:
        permissions = _stored_permissions(changes.permissions)
        ensure_permissions_grantable(access, permissions)
        if permissions != sorted(role.permissions):
            fields["permissions"] = permissions
    if changes.name is not None and changes.name != role.name:
        await _ensure_role_name_free(
            db, organization_id=organization_id, name=changes.name, except_id=role.id
        )
        fields["name"] = changes.name
    if "description" in changes.model_fields_set and changes.description != role.description:
        fields["description"] = changes.description
    if not fields:
        return role_read(role)
    for key, value in fields.items():
        setattr(role, key, value)
    access.record(
        db,
        "role.updated",
        context=context,
        target_type="role",
        target_id=role.id,
        details={"changes": fields},
    )
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise RoleNameTaken() from None
    return role_read(role)


async def delete_role(
    db: AsyncSession, *, access: OrgAccess, role_id: uuid.UUID, context: RequestContext
) -> None:
    organization_id = access.organization.id
    role = await get_custom_role(db, organization_id=organization_id, role_id=role_id)
    holders = await db.scalar(
        select(func.count()).select_from(Membership).where(Membership.role_id == role.id)
    )
    pending = await db.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.role_id == role.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    if holders or pending:
        raise RoleInUse(
            f"{holders} member(s) and {pending} pending invitation(s) use this role; "
            "give them another role first."
        )
    name = role.name
    await db.delete(role)
    access.record(
        db,
        "role.deleted",
        context=context,
        target_type="role",
        target_id=role_id,
        details={"name": name},
    )
    try:
        await db.commit()
    except IntegrityError:
        # A member was given this role between our count and our delete.
        await db.rollback()
        raise RoleInUse() from None
