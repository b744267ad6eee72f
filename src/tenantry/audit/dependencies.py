"""Query filters and the operator check shared by the audit routes."""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Annotated

from fastapi import Depends, Query
from pydantic import AwareDatetime, BeforeValidator

from tenantry.audit.schemas import ACTION_FILTER_PATTERN, AuditFilters
from tenantry.auth.dependencies import Superuser


def _iso_8601_only(value: object) -> object:
    # Pydantic would read `0.5` or `1700000000` as Unix time: the document says ISO 8601.
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected an ISO 8601 date and time with a time zone")
    return value


# AwareDatetime: a timestamp without a zone is ambiguous, so it is a 422.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_8601_only)]


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
        Query(description="ISO 8601 with a time zone; events at or after this instant."),
    ] = None,
    until: Annotated[
        Instant | None,
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
