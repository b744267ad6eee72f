"""Reading the audit trail (DESIGN.md §5 "Audit"). Events are append-only: no route
here, or anywhere, updates or deletes one; `tenantry audit prune` alone removes old ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from tenantry.audit import service
from tenantry.audit.dependencies import AuditOperator, Filters, PlatformFilters
from tenantry.audit.schemas import AuditEventRead
from tenantry.db import DbSession
from tenantry.openapi import problems
from tenantry.organizations.dependencies import OrgAccess, requires
from tenantry.organizations.permissions import Permission
from tenantry.pagination import Page, PageParams, page_params

router = APIRouter(tags=["audit"], responses=problems(400, 401, 403, 422))


@router.get("/organizations/{org_id}/audit-events", responses=problems(404))
async def list_organization_events(
    access: Annotated[OrgAccess, requires(Permission.audit_read)],
    db: DbSession,
    filters: Filters,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[AuditEventRead]:
    """The organization's events, newest first."""
    return await service.list_events(
        db, filters=filters.scoped_to(access.organization.id), page=page
    )


@router.get("/audit-events")
async def list_platform_events(
    _operator: AuditOperator,
    db: DbSession,
    filters: PlatformFilters,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[AuditEventRead]:
    """Every organization's events and those outside any organization (sign-ins,
    registrations), newest first. Platform operators only."""
    return await service.list_events(db, filters=filters, page=page)
