"""Query filters and the operator check shared by the audit routes.

Reading the audit trail (DESIGN.md §5 "Audit"). Events are append-only: no route
here, or anywhere, updates or deletes one; `tenantry audit prune` alone removes old ones.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BeforeValidator

from tenantry.audit import service
from tenantry.audit.schemas import ACTION_FILTER_PATTERN, AuditEventRead, AuditFilters
from tenantry.db import DbSession
from tenantry.identity.dependencies import Superuser
from tenantry.openapi import problems
from tenantry.organizations.access import OrgAccess
from tenantry.organizations.dependencies import requires
from tenantry.organizations.permissions import Permission
from tenantry.pagination import Page, PageParams, page_params

# Years 1970 to 9998, as written: no event is older than the epoch (ids are uuid7), and
# the id range of a window reaches past its ends, so `0001-…` and `9999-12-31T23:59:59Z`
# overflowed Python's calendar (a 500). The rule is on the text as sent, so the OpenAPI
# document can state it as a pattern and clients can check it before sending.
INSTANT_PATTERN = r"^(?:19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
_INSTANT = re.compile(INSTANT_PATTERN)


def _iso_8601_from_1970_to_9998(value: object) -> object:
    # Pydantic would also read `0.5` or `1700000000` as Unix time: the document says
    # ISO 8601.
    if isinstance(value, str) and not _INSTANT.match(value):
        raise ValueError("expected an ISO 8601 date and time from 1970 to 9998")
    return value


# AwareDatetime: a timestamp without a zone is ambiguous, so it is a 422.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_8601_from_1970_to_9998)]
_INSTANT_DOC = {"pattern": INSTANT_PATTERN}


async def audit_filters(
    action: Annotated[
        str | None,
        Query(
            pattern=ACTION_FILTER_PATTERN,
            description="An exact action (`auth.login.failed`), or a prefix ending in `*` "
            "(`auth.*`: every action starting with `auth.`).",
        ),
    ] = None,
    actor: Annotated[
        uuid.UUID | None, Query(description="Only events caused by this user id.")
    ] = None,
    since: Annotated[
        Instant | None,
        Query(
            description="ISO 8601 with a time zone, years 1970 to 9998; "
            "events at or after this instant.",
            json_schema_extra=_INSTANT_DOC,
        ),
    ] = None,
    until: Annotated[
        Instant | None,
        Query(
            description="ISO 8601 with a time zone, years 1970 to 9998; "
            "events strictly before this instant.",
            json_schema_extra=_INSTANT_DOC,
        ),
    ] = None,
) -> AuditFilters:
    return AuditFilters(action=action, actor=actor, since=since, until=until)


Filters = Annotated[AuditFilters, Depends(audit_filters)]


async def platform_audit_filters(
    filters: Filters,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Only events of this organization.")
    ] = None,
) -> AuditFilters:
    return dataclasses.replace(filters, organization_id=organization_id)


PlatformFilters = Annotated[AuditFilters, Depends(platform_audit_filters)]


# The platform-wide trail is for superusers; `Superuser` records every refusal.
AuditOperator = Superuser


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
