"""The one permission check behind every organization route (DESIGN.md §1.4, §3).

`requires(Permission.x)` resolves the caller's membership, role and the organization
in one query. A non-member gets `404` — the same answer as for an organization that
does not exist, so nobody learns which ids are real. A member without the permission
gets `403`; superusers pass. Every `403` raised while the route runs (the check
itself, or a service refusing an escalation) is recorded as `access.denied` in its
own short transaction, because the request's transaction is about to roll back.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.service import record_denial
from tenantry.db import DbSession
from tenantry.identity.dependencies import CurrentUser
from tenantry.mail.mailer import MailSender
from tenantry.organizations.access import OrgAccess
from tenantry.organizations.exceptions import OrganizationNotFound, PermissionDenied
from tenantry.organizations.mail import InvitationMail, InvitationSender, compose
from tenantry.organizations.models import Membership, Organization, Role
from tenantry.organizations.permissions import (
    ALL_PERMISSIONS,
    Permission,
    parse_permissions,
)
from tenantry.request_context import Context, RequestContext


async def get_organization_access(org_id: uuid.UUID, user: CurrentUser, db: DbSession) -> OrgAccess:
    row = (
        await db.execute(
            select(Organization, Role)
            .outerjoin(
                Membership,
                and_(Membership.organization_id == Organization.id, Membership.user_id == user.id),
            )
            .outerjoin(Role, Role.id == Membership.role_id)
            .where(Organization.id == org_id)
        )
    ).one_or_none()
    if row is None:
        raise OrganizationNotFound()
    organization, role = row
    if user.is_superuser:
        return OrgAccess(organization, user, role, frozenset(ALL_PERMISSIONS))
    if role is None:
        # Not a member: indistinguishable from an organization that does not exist.
        raise OrganizationNotFound()
    return OrgAccess(organization, user, role, parse_permissions(role.permissions))


async def _check(
    request: Request, access: OrgAccess, context: RequestContext, wanted: Permission | None
) -> None:
    if wanted is not None and wanted not in access.permissions:
        await record_denial(
            request.app.state.sessionmaker,
            actor_user_id=access.user.id,
            organization_id=access.organization.id,
            wanted=[wanted.value],
            context=context,
        )
        raise PermissionDenied(f"Your role does not grant `{wanted.value}`.", wanted=[wanted])


async def _record_refusal(
    request: Request,
    db: AsyncSession,
    access: OrgAccess,
    context: RequestContext,
    refusal: PermissionDenied,
) -> None:
    # A service refused an escalation (granting what the caller lacks, the owner role).
    # End the request's transaction first: whatever it holds (a row lock, SQLite's
    # write lock) must not stall the denial's own transaction.
    # The rollback expires every loaded row, so the ids are read before it.
    actor_user_id, organization_id = access.user.id, access.organization.id
    await db.rollback()
    await record_denial(
        request.app.state.sessionmaker,
        actor_user_id=actor_user_id,
        organization_id=organization_id,
        wanted=refusal.wanted,
        context=context,
    )


@cache
def require_permission(permission: Permission) -> Callable[..., AsyncIterator[OrgAccess]]:
    """The dependency for one permission; cached, so FastAPI sees one callable per permission."""

    async def dependency(
        request: Request,
        access: Annotated[OrgAccess, Depends(get_organization_access)],
        db: DbSession,
        context: Context,
    ) -> AsyncIterator[OrgAccess]:
        await _check(request, access, context, permission)
        try:
            yield access
        except PermissionDenied as refusal:
            await _record_refusal(request, db, access, context, refusal)
            raise

    dependency.__name__ = f"require_{permission.name}"
    return dependency


@cache
def require_permission_or_self(
    permission: Permission,
) -> Callable[..., AsyncIterator[OrgAccess]]:
    """For routes on `/…/{user_id}` that a member may always use on themselves (leaving)."""

    async def dependency(
        request: Request,
        user_id: uuid.UUID,
        access: Annotated[OrgAccess, Depends(get_organization_access)],
        db: DbSession,
        context: Context,
    ) -> AsyncIterator[OrgAccess]:
        await _check(request, access, context, None if user_id == access.user.id else permission)
        try:
            yield access
        except PermissionDenied as refusal:
            await _record_refusal(request, db, access, context, refusal)
            raise

    dependency.__name__ = f"require_{permission.name}_or_self"
    return dependency


def requires(permission: Permission) -> Any:
    """`access: Annotated[OrgAccess, requires(Permission.org_read)]` on a route.

    `scope="function"` ends the dependency before the response is sent, so the denial
    is on record by the time the client reads its `403`.
    """
    return Depends(require_permission(permission), scope="function")


def requires_or_self(permission: Permission) -> Any:
    return Depends(require_permission_or_self(permission), scope="function")


async def audit_denials(
    request: Request, user: CurrentUser, context: Context
) -> AsyncIterator[None]:
    """For routes outside an organization's path that may still refuse with `403`."""
    try:
        yield
    except PermissionDenied as exc:
        await record_denial(
            request.app.state.sessionmaker,
            actor_user_id=user.id,
            organization_id=exc.organization_id,
            wanted=exc.wanted,
            context=context,
        )
        raise


async def get_invitation_sender(request: Request) -> InvitationSender:
    """How this app sends invitation mail: the test sink when one is set, else the mailer."""
    sink: InvitationSender | None = getattr(request.app.state, "invitation_mail_sink", None)
    if sink is not None:
        return sink
    mailer = getattr(request.app.state, "mailer", None)
    if not isinstance(mailer, MailSender):
        mailer = MailSender(request.app.state.settings)
    sender = mailer
    max_name_chars = request.app.state.settings.mail_quoted_text_max_chars

    async def send_invitation_mail(mail: InvitationMail) -> None:
        # The mailer logs, retries and never raises; without SMTP it writes the mail
        # (and so the link) to the log in development and test only.
        await sender.send(compose(mail, max_name_chars=max_name_chars))

    return send_invitation_mail


InvitationMailer = Annotated[InvitationSender, Depends(get_invitation_sender)]
