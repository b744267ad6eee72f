"""Query filters and the operator check shared by the audit routes."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from fastapi import Depends, Query
from pydantic import AwareDatetime

from tenantry.audit.schemas import ACTION_FILTER_PATTERN, AuditFilters
from tenantry.auth.dependencies import Superuser


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
    # AwareDatetime: a timestamp without a zone is ambiguous, so it is a 422.
    since: Annotated[
        AwareDatetime | None,
        Query(description="ISO 8601 with a time zone; events at or after this instant."),
    ] = None,
    until: Annotated[
        AwareDatetime | None,
        Query(description="ISO 8601 with a time zone; events strictly before this instant."),
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
