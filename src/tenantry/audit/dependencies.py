"""Query filters and the operator check shared by the audit routes."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query
from pydantic import AwareDatetime, BeforeValidator, Field

from tenantry.audit.schemas import ACTION_FILTER_PATTERN, AuditFilters
from tenantry.auth.dependencies import Superuser

# No event is older than the epoch (ids are uuid7), and the id range of a window reaches
# a second past its ends: beyond these bounds `0001-01-01T00:00:00Z` and
# `9999-12-31T23:59:59Z` overflowed Python's calendar (a 500) instead of matching nothing.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


def _iso_8601_only(value: object) -> object:
    # Pydantic would read `0.5` or `1700000000` as Unix time: the document says ISO 8601.
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected an ISO 8601 date and time with a time zone")
    return value


# AwareDatetime: a timestamp without a zone is ambiguous, so it is a 422.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_8601_only), Field(ge=EARLIEST, le=LATEST)]


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
            description="ISO 8601 with a time zone, 1970 to 9999-12-31T00:00Z; "
            "events at or after this instant."
        ),
    ] = None,
    until: Annotated[
        Instant | None,
        Query(
            description="ISO 8601 with a time zone, 1970 to 9999-12-31T00:00Z; "
            "events strictly before this instant."
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
