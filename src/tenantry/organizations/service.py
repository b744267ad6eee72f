"""Organizations, members and roles: the rules of DESIGN.md §3.

Who may call what is settled by `requires(...)` on the route; these functions add the
rules that depend on the data: nobody grants a permission they lack, only an owner
touches the owner role, and the last owner stays.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterable

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.identity.models import User
from tenantry.identity.principal import SignedInUser
from tenantry.organizations.dependencies import OrgAccess
from tenantry.organizations.exceptions import (
    BuiltinRoleReadOnly,
    LastOwner,
    MemberNotFound,
    PermissionDenied,
    RoleInUse,
    RoleNameTaken,
    RoleNotFound,
    SlugTaken,
    UnknownRole,
)
from tenantry.organizations.models import Invitation, Membership, Organization, Role
from tenantry.organizations.permissions import (
    BUILTIN_ROLES,
    OWNER_ROLE_ID,
    Permission,
    parse_permissions,
)
from tenantry.organizations.schemas import (
    MemberRead,
    MyOrganization,
    OrganizationUpdate,
    RoleCreate,
    RoleRead,
    RoleUpdate,
)
from tenantry.pagination import Page, PageParams, paginate
from tenantry.request_context import RequestContext

SLUG_BASE_MAX = 60  # leaves room for the collision suffix within the column's 100
SLUG_ATTEMPTS = 5


# --- presentation -----------------------------------------------------------------


def role_read(role: Role) -> RoleRead:
    return RoleRead(
        id=role.id,
        name=role.name,
        description=role.description,
        permissions=sorted(parse_permissions(role.permissions)),
        builtin=role.organization_id is None,
    )


def my_organization(access: OrgAccess) -> MyOrganization:
    return MyOrganization.of(
        access.organization,
        role=access.role.name if access.role else None,
        permissions=access.permissions,
    )


# --- rules ------------------------------------------------------------------------


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


# --- organizations ----------------------------------------------------------------


def slugify(name: str) -> str:
    """A URL-safe slug from any name: accents folded, everything else becomes hyphens."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:SLUG_BASE_MAX].strip("-") or "org"


async def _slug_exists(db: AsyncSession, slug: str) -> bool:
    return await db.scalar(select(Organization.id).where(Organization.slug == slug)) is not None


async def create_organization(
    db: AsyncSession, *, user: SignedInUser, name: str, slug: str | None, context: RequestContext
) -> MyOrganization:
    user_id = user.id  # a rollback below expires `user`; keep what we need
    if slug is not None and await _slug_exists(db, slug):
        raise SlugTaken()
    candidate = slug or slugify(name)
    if slug is None and await _slug_exists(db, candidate):
        candidate = f"{candidate}-{secrets.token_hex(3)}"
    for _ in range(SLUG_ATTEMPTS):
        organization = Organization(name=name, slug=candidate, created_by=user_id)
        db.add(organization)
        try:
            await db.flush()
            db.add(
                Membership(user_id=user_id, organization_id=organization.id, role_id=OWNER_ROLE_ID)
            )
            audit.record(
                db,
                action="org.created",
                context=context,
                actor_user_id=user_id,
                organization_id=organization.id,
                target_type="organization",
                target_id=organization.id,
                details={"name": name, "slug": candidate},
            )
            await db.commit()
        except IntegrityError:
            # A concurrent creation took the slug between our check and our insert.
            await db.rollback()
            if slug is not None:
                raise SlugTaken() from None
            candidate = f"{slugify(name)}-{secrets.token_hex(3)}"
            continue
        return MyOrganization.as_member(organization, await db.get_one(Role, OWNER_ROLE_ID))
    raise SlugTaken("Could not find a free slug; please choose one.")


async def list_my_organizations(
    db: AsyncSession, *, user: SignedInUser, page: PageParams
) -> Page[MyOrganization]:
    statement = (
        select(Organization, Role)
        .join(Membership, Membership.organization_id == Organization.id)
        .join(Role, Role.id == Membership.role_id)
        .where(Membership.user_id == user.id)
    )
    return await paginate(
        db, statement, key=Organization.id, page=page, render=MyOrganization.as_member
    )


async def update_organization(
    db: AsyncSession, *, access: OrgAccess, changes: OrganizationUpdate, context: RequestContext
) -> MyOrganization:
    organization = access.organization
    fields = {
        key: value
        for key, value in changes.model_dump(exclude_unset=True).items()
        if value is not None and getattr(organization, key) != value
    }
    if not fields:
        return my_organization(access)
    if "slug" in fields and await _slug_exists(db, fields["slug"]):
        raise SlugTaken()
    for key, value in fields.items():
        setattr(organization, key, value)
    audit.record(
        db,
        action="org.updated",
        context=context,
        actor_user_id=access.user.id,
        organization_id=organization.id,
        target_type="organization",
        target_id=organization.id,
        details={"changes": fields},
    )
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise SlugTaken() from None
    return my_organization(access)


async def delete_organization(
    db: AsyncSession, *, access: OrgAccess, context: RequestContext
) -> None:
    """Delete the organization and everything inside it.

    This domain's rows go explicitly, children first: memberships point at custom roles
    with `RESTRICT`, so the order matters. Products (a domain that depends on this one,
    not the reverse) go by their `ON DELETE CASCADE`, which SQLite enforces too because
    every connection turns `PRAGMA foreign_keys` on; a test checks no row is left.
    """
    organization = access.organization
    organization_id = organization.id
    for statement in (
        delete(Invitation).where(Invitation.organization_id == organization_id),
        delete(Membership).where(Membership.organization_id == organization_id),
        delete(Role).where(Role.organization_id == organization_id),
        delete(Organization).where(Organization.id == organization_id),
    ):
        await db.execute(statement.execution_options(synchronize_session=False))
    audit.record(
        db,
        action="org.deleted",
        context=context,
        actor_user_id=access.user.id,
        organization_id=organization_id,
        target_type="organization",
        target_id=organization_id,
        details={"name": organization.name, "slug": organization.slug},
    )
    await db.commit()


# --- roles ------------------------------------------------------------------------


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
        audit.record(
            db,
            action="role.created",
            context=context,
            actor_user_id=access.user.id,
            organization_id=organization_id,
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
    audit.record(
        db,
        action="role.updated",
        context=context,
        actor_user_id=access.user.id,
        organization_id=organization_id,
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
    audit.record(
        db,
        action="role.deleted",
        context=context,
        actor_user_id=access.user.id,
        organization_id=organization_id,
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


# --- members ----------------------------------------------------------------------


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
    audit.record(
        db,
        action="member.role_changed",
        context=context,
        actor_user_id=access.user.id,
        organization_id=organization_id,
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
    audit.record(
        db,
        action="member.removed",
        context=context,
        actor_user_id=access.user.id,
        organization_id=organization_id,
        target_type="user",
        target_id=user_id,
        details={"role": role.name, "left": leaving},
    )
    await db.commit()
