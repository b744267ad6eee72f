"""Organizations themselves (DESIGN.md §3): creating one (its creator becomes owner,
its slug unique), listing the caller's, renaming and deleting.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.identity.principal import SignedInUser
from tenantry.organizations.access import OrgAccess
from tenantry.organizations.exceptions import (
    SlugTaken,
)
from tenantry.organizations.models import Invitation, Membership, Organization, Role
from tenantry.organizations.permissions import (
    OWNER_ROLE_ID,
)
from tenantry.organizations.schemas import (
    MyOrganization,
    OrganizationUpdate,
)
from tenantry.pagination import Page, PageParams, paginate
from tenantry.request_context import RequestContext

SLUG_BASE_MAX = 60  # leaves room for the collision suffix within the column's 100


SLUG_ATTEMPTS = 5


def my_organization(access: OrgAccess) -> MyOrganization:
    return MyOrganization.of(
        access.organization,
        role=access.role.name if access.role else None,
        permissions=access.permissions,
    )


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
    access.record(
        db,
        "org.updated",
        context=context,
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
    access.record(
        db,
        "org.deleted",
        context=context,
        target_type="organization",
        target_id=organization_id,
        details={"name": organization.name, "slug": organization.slug},
    )
    await db.commit()
