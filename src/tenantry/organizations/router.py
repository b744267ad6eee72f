"""Organizations, members, roles, invitations and the permission catalogue (DESIGN.md §5).

Every route under `/organizations/{org_id}` declares its permission with `requires`;
non-members get `404` before any handler runs.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from tenantry.db import DbSession
from tenantry.dependencies import AppSettings, Limits
from tenantry.identity.dependencies import CurrentUser
from tenantry.openapi import problems
from tenantry.organizations import invitations, members, organizations, roles
from tenantry.organizations.access import OrgAccess
from tenantry.organizations.dependencies import (
    InvitationMailer,
    audit_denials,
    requires,
    requires_or_self,
)
from tenantry.organizations.permissions import PERMISSION_DESCRIPTIONS, Permission
from tenantry.organizations.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationRead,
    MemberRead,
    MembershipRead,
    MemberUpdate,
    MyOrganization,
    OrganizationCreate,
    OrganizationUpdate,
    PermissionRead,
    RoleCreate,
    RoleRead,
    RoleUpdate,
)
from tenantry.pagination import Page, PageParams, page_params
from tenantry.request_context import Context

router = APIRouter(responses=problems(401))
in_organization = APIRouter(
    prefix="/organizations/{org_id}", tags=["organizations"], responses=problems(403, 404)
)

Pagination = Annotated[PageParams, Depends(page_params)]


# --- organizations ----------------------------------------------------------------


@router.post(
    "/organizations",
    tags=["organizations"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(409, 422),
)
async def create_organization(
    body: OrganizationCreate, user: CurrentUser, db: DbSession, context: Context
) -> MyOrganization:
    """Create an organization; the caller becomes its owner."""
    return await organizations.create_organization(
        db, user=user, name=body.name, slug=body.slug, context=context
    )


@router.get("/organizations", tags=["organizations"], responses=problems(400))
async def list_my_organizations(
    user: CurrentUser, db: DbSession, page: Pagination
) -> Page[MyOrganization]:
    """The caller's organizations, each with the caller's role."""
    return await organizations.list_my_organizations(db, user=user, page=page)


@in_organization.get("")
async def read_organization(
    access: Annotated[OrgAccess, requires(Permission.org_read)],
) -> MyOrganization:
    return organizations.my_organization(access)


@in_organization.patch("", responses=problems(409, 422))
async def update_organization(
    body: OrganizationUpdate,
    access: Annotated[OrgAccess, requires(Permission.org_update)],
    db: DbSession,
    context: Context,
) -> MyOrganization:
    return await organizations.update_organization(db, access=access, changes=body, context=context)


@in_organization.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def delete_organization(
    access: Annotated[OrgAccess, requires(Permission.org_delete)],
    db: DbSession,
    context: Context,
) -> None:
    """Delete the organization with its members, invitations, custom roles and products."""
    await organizations.delete_organization(db, access=access, context=context)


# --- members ----------------------------------------------------------------------


@in_organization.get("/members", responses=problems(400))
async def list_members(
    access: Annotated[OrgAccess, requires(Permission.members_read)],
    db: DbSession,
    page: Pagination,
) -> Page[MemberRead]:
    return await members.list_members(db, organization_id=access.organization.id, page=page)


@in_organization.patch("/members/{user_id}", responses=problems(409, 422))
async def change_member_role(
    user_id: uuid.UUID,
    body: MemberUpdate,
    access: Annotated[OrgAccess, requires(Permission.members_manage)],
    db: DbSession,
    context: Context,
) -> MemberRead:
    """Give a member another role. Nobody grants what they lack; owners alone touch owners."""
    return await members.change_member_role(
        db, access=access, user_id=user_id, role_name=body.role, context=context
    )


@in_organization.delete(
    "/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(409)
)
async def remove_member(
    user_id: uuid.UUID,
    access: Annotated[OrgAccess, requires_or_self(Permission.members_manage)],
    db: DbSession,
    context: Context,
) -> None:
    """Remove a member, or leave when `user_id` is the caller's own id."""
    await members.remove_member(db, access=access, user_id=user_id, context=context)


# --- roles ------------------------------------------------------------------------


@in_organization.get("/roles")
async def list_roles(
    access: Annotated[OrgAccess, requires(Permission.members_read)], db: DbSession
) -> Page[RoleRead]:
    """Built-in roles first, then the organization's own."""
    found = await roles.list_roles(db, organization_id=access.organization.id)
    return Page[RoleRead](items=found, next_cursor=None)


@in_organization.post("/roles", status_code=status.HTTP_201_CREATED, responses=problems(409, 422))
async def create_role(
    body: RoleCreate,
    access: Annotated[OrgAccess, requires(Permission.roles_manage)],
    db: DbSession,
    context: Context,
) -> RoleRead:
    return await roles.create_role(db, access=access, body=body, context=context)


@in_organization.patch("/roles/{role_id}", responses=problems(409, 422))
async def update_role(
    role_id: uuid.UUID,
    body: RoleUpdate,
    access: Annotated[OrgAccess, requires(Permission.roles_manage)],
    db: DbSession,
    context: Context,
) -> RoleRead:
    return await roles.update_role(
        db, access=access, role_id=role_id, changes=body, context=context
    )


@in_organization.delete(
    "/roles/{role_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(409)
)
async def delete_role(
    role_id: uuid.UUID,
    access: Annotated[OrgAccess, requires(Permission.roles_manage)],
    db: DbSession,
    context: Context,
) -> None:
    await roles.delete_role(db, access=access, role_id=role_id, context=context)


@router.get("/permissions", tags=["organizations"])
async def list_permissions(_user: CurrentUser) -> Page[PermissionRead]:
    """The permission catalogue that roles are made of."""
    return Page[PermissionRead](
        items=[
            PermissionRead(name=permission, description=PERMISSION_DESCRIPTIONS[permission])
            for permission in Permission
        ],
        next_cursor=None,
    )


# --- invitations ------------------------------------------------------------------


@in_organization.post(
    "/invitations", status_code=status.HTTP_201_CREATED, responses=problems(409, 422, 429)
)
async def create_invitation(
    body: InvitationCreate,
    access: Annotated[OrgAccess, requires(Permission.members_manage)],
    db: DbSession,
    settings: AppSettings,
    send: InvitationMailer,
    limits: Limits,
    context: Context,
) -> InvitationRead:
    """Invite someone by email; the single-use link is mailed, never returned."""
    return await invitations.create_invitation(
        db,
        access=access,
        email=body.email,
        role_name=body.role,
        settings=settings,
        send=send,
        limits=limits,
        context=context,
    )


@in_organization.get("/invitations", responses=problems(400))
async def list_invitations(
    access: Annotated[OrgAccess, requires(Permission.members_manage)],
    db: DbSession,
    page: Pagination,
) -> Page[InvitationRead]:
    return await invitations.list_invitations(db, organization_id=access.organization.id, page=page)


@in_organization.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(
    invitation_id: uuid.UUID,
    access: Annotated[OrgAccess, requires(Permission.members_manage)],
    db: DbSession,
    context: Context,
) -> None:
    await invitations.revoke_invitation(
        db, access=access, invitation_id=invitation_id, context=context
    )


@router.post(
    "/invitations/accept",
    tags=["organizations"],
    responses=problems(400, 403, 409, 422),
    dependencies=[Depends(audit_denials, scope="function")],
)
async def accept_invitation(
    body: InvitationAccept, user: CurrentUser, db: DbSession, context: Context
) -> MembershipRead:
    """Join the organization; the signed-in user's email must be the invited one."""
    return await invitations.accept_invitation(db, user=user, token=body.token, context=context)


router.include_router(in_organization)
