"""Invitations: a single-use, 7-day link mailed to an address; only its digest is stored."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.config import Settings
from tenantry.db import utcnow
from tenantry.identity.models import User
from tenantry.identity.principal import SignedInUser
from tenantry.organizations.access import OrgAccess, ensure_may_grant
from tenantry.organizations.exceptions import (
    AlreadyMember,
    InvalidInvitationToken,
    InvitationEmailMismatch,
    InvitationNotFound,
)
from tenantry.organizations.mail import InvitationMail, InvitationSender, invitation_link
from tenantry.organizations.models import Invitation, Membership, Organization, Role
from tenantry.organizations.roles import resolve_role
from tenantry.organizations.schemas import InvitationRead, MembershipRead, OrganizationRead
from tenantry.pagination import Page, PageParams, paginate
from tenantry.request_context import RequestContext
from tenantry.security.ratelimit import RequestLimits
from tenantry.security.tokens import digest, new_opaque_token


def invitation_read(invitation: Invitation, role: Role) -> InvitationRead:
    if invitation.accepted_at is not None:
        status = "accepted"
    elif invitation.revoked_at is not None:
        status = "revoked"
    elif invitation.expires_at <= utcnow():
        status = "expired"
    else:
        status = "pending"
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        role=role.name,
        invited_by=invitation.invited_by,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        status=status,
    )


async def _is_member(db: AsyncSession, *, organization_id: uuid.UUID, email: str) -> bool:
    found = await db.scalar(
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id, User.email == email)
    )
    return found is not None


async def create_invitation(
    db: AsyncSession,
    *,
    access: OrgAccess,
    email: str,
    role_name: str,
    settings: Settings,
    send: InvitationSender,
    limits: RequestLimits,
    context: RequestContext,
) -> InvitationRead:
    """Store the invitation, then mail the link; the token exists only in the mail."""
    organization = access.organization
    role = await resolve_role(db, organization_id=organization.id, name=role_name)
    # Inviting is granting: the same rules as changing a member's role.
    ensure_may_grant(access, role)
    if await _is_member(db, organization_id=organization.id, email=email):
        raise AlreadyMember(f"{email} is already a member of this organization.")
    # Each invitation mails an address of the inviter's choosing: without a cap, one
    # account (or one organization's members together) could use us to send spam.
    await limits.hit("invitation-inviter", str(access.user.id))
    await limits.hit("invitation-organization", str(organization.id))
    token, token_hash = new_opaque_token()
    invitation = Invitation(
        organization_id=organization.id,
        email=email,
        role_id=role.id,
        token_hash=token_hash,
        invited_by=access.user.id,
        expires_at=utcnow() + timedelta(seconds=settings.invitation_ttl_seconds),
    )
    db.add(invitation)
    await db.flush()
    access.record(
        db,
        "invitation.created",
        context=context,
        target_type="invitation",
        target_id=invitation.id,
        details={"email": email, "role": role.name},
    )
    await db.commit()
    await send(
        InvitationMail(
            to=email,
            organization_name=organization.name,
            role=role.name,
            invited_by=access.user.full_name or access.user.email,
            link=invitation_link(settings, token),
            expires_at=invitation.expires_at,
        )
    )
    return invitation_read(invitation, role)


async def list_invitations(
    db: AsyncSession, *, organization_id: uuid.UUID, page: PageParams
) -> Page[InvitationRead]:
    statement = (
        select(Invitation, Role)
        .join(Role, Role.id == Invitation.role_id)
        .where(Invitation.organization_id == organization_id)
    )
    return await paginate(db, statement, key=Invitation.id, page=page, render=invitation_read)


async def revoke_invitation(
    db: AsyncSession, *, access: OrgAccess, invitation_id: uuid.UUID, context: RequestContext
) -> None:
    organization_id = access.organization.id
    invitation = await db.get(Invitation, invitation_id)
    if invitation is None or invitation.organization_id != organization_id:
        raise InvitationNotFound()
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        return  # already settled: revoking again changes nothing
    invitation.revoked_at = utcnow()
    access.record(
        db,
        "invitation.revoked",
        context=context,
        target_type="invitation",
        target_id=invitation.id,
        details={"email": invitation.email},
    )
    await db.commit()


async def accept_invitation(
    db: AsyncSession, *, user: SignedInUser, token: str, context: RequestContext
) -> MembershipRead:
    user_id, user_email = user.id, user.email
    now = utcnow()
    row = (
        await db.execute(
            select(Invitation, Organization, Role)
            .join(Organization, Organization.id == Invitation.organization_id)
            .join(Role, Role.id == Invitation.role_id)
            .where(Invitation.token_hash == digest(token))
        )
    ).one_or_none()
    if row is None:
        raise InvalidInvitationToken()
    invitation, organization, role = row
    if (
        invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= now
    ):
        raise InvalidInvitationToken()
    if invitation.email != user_email:
        raise InvitationEmailMismatch(
            "Sign in with the address the invitation was sent to.",
            wanted=["invitation:email"],
            organization_id=organization.id,
        )
    if await _is_member(db, organization_id=organization.id, email=user_email):
        raise AlreadyMember()
    # Single use even under a race: only one request flips `accepted_at` from NULL.
    claimed = await db.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        await db.rollback()
        raise InvalidInvitationToken()
    membership = Membership(user_id=user_id, organization_id=organization.id, role_id=role.id)
    db.add(membership)
    audit.record(
        db,
        action="invitation.accepted",
        context=context,
        actor_user_id=user_id,
        organization_id=organization.id,
        target_type="invitation",
        target_id=invitation.id,
    )
    audit.record(
        db,
        action="member.added",
        context=context,
        actor_user_id=user_id,
        organization_id=organization.id,
        target_type="user",
        target_id=user_id,
        details={"role": role.name, "invitation_id": str(invitation.id)},
    )
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise AlreadyMember() from None
    return MembershipRead(
        user_id=user_id,
        organization=OrganizationRead.model_validate(organization),
        role=role.name,
        joined_at=membership.created_at,
    )
