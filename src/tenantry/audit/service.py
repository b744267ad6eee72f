"""The audit writer every domain calls inside its own transaction (DESIGN.md §1.5)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.audit.models import AuditEvent
from tenantry.audit.retention import PRUNE_BATCH_SIZE
from tenantry.audit.schemas import AuditEventRead, AuditFilters
from tenantry.pagination import Page, PageParams, keyset, paginate
from tenantry.request_context import RequestContext


def record(
    db: AsyncSession,
    *,
    action: str,
    context: RequestContext | None,
    outcome: Literal["success", "failure"] = "success",
    actor_user_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the caller's unit of work: it commits or rolls back with the change.

    `details` are stored as JSON data, so user-supplied text can never forge a record.
    Callers must never put a password, token or hash in them.
    """
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor_user_id=actor_user_id,
        organization_id=organization_id,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=context.ip if context else None,
        user_agent=context.user_agent if context else None,
        request_id=context.request_id if context else None,
        details=details or {},
    )
    db.add(event)
    return event


def record_own(
    db: AsyncSession,
    action: str,
    *,
    user_id: uuid.UUID | None,
    context: RequestContext | None,
    outcome: Literal["success", "failure"] = "success",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """An event a user caused on their own account (sign-in, password, email); `None`
    for an attempt on an address no account has, which is recorded all the same."""
    return record(
        db,
        action=action,
        context=context,
        outcome=outcome,
        actor_user_id=user_id,
        target_type="user",
        target_id=user_id,
        details=details,
    )


# Events are written only by `record`, whose uuid7 id and `occurred_at` come from the
# same clock in the same flush. So a time window is also an id range, which the id
# indexes walk instead of scanning every newer event; the slack covers the moments
# between the two values, and the exact `occurred_at` condition still decides.
_ID_CLOCK_SLACK = timedelta(seconds=1)


def events_query(*, filters: AuditFilters, page: PageParams) -> Select[AuditEvent]:
    """One page of events, newest first by id (uuid7: time-ordered, counted within a
    millisecond); the cursor means "ids below the last one".

    Every filter narrows an index range: (organization_id, action, id) for an exact
    action, (organization_id, id) or (actor_user_id, id) otherwise, so a deep page
    costs what the first one does (`bench/audit_query.py` measures it).
    """
    return keyset(_filtered(filters), AuditEvent.id, page, newest_first=True)


def _filtered(filters: AuditFilters) -> Select[AuditEvent]:
    statement = select(AuditEvent)
    if filters.organization_id is not None:
        statement = statement.where(AuditEvent.organization_id == filters.organization_id)
    if filters.action is not None:
        if filters.action.endswith("*"):
            prefix = filters.action.removesuffix("*")
            # autoescape keeps `_` literal. (SQLite's LIKE ignores ASCII case; action
            # names and this filter are lower-case, so both backends agree.)
            statement = statement.where(AuditEvent.action.startswith(prefix, autoescape=True))
        else:
            statement = statement.where(AuditEvent.action == filters.action)
    if filters.actor is not None:
        statement = statement.where(AuditEvent.actor_user_id == filters.actor)
    if filters.since is not None:
        statement = statement.where(AuditEvent.occurred_at >= filters.since)
        if (lowest := _first_id_at(filters.since - _ID_CLOCK_SLACK)) is not None:
            statement = statement.where(AuditEvent.id >= lowest)
    if filters.until is not None:
        statement = statement.where(AuditEvent.occurred_at < filters.until)
        if (highest := _first_id_at(filters.until + _ID_CLOCK_SLACK)) is not None:
            statement = statement.where(AuditEvent.id < highest)
    return statement


def _first_id_at(moment: datetime) -> uuid.UUID | None:
    """The smallest uuid7 of `moment`'s millisecond; None beyond the calendar's end."""
    try:
        millis = max(int(moment.timestamp() * 1000), 0)
    except (OverflowError, ValueError):
        return None
    return uuid.UUID(int=(millis << 80) | (0x7 << 76) | (0x2 << 62))


async def list_events(
    db: AsyncSession, *, filters: AuditFilters, page: PageParams
) -> Page[AuditEventRead]:
    return await paginate(
        db,
        _filtered(filters),
        key=AuditEvent.id,
        page=page,
        render=AuditEventRead.model_validate,
        newest_first=True,
    )


async def count_events_before(db: AsyncSession, *, cutoff: datetime) -> int:
    count = await db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.occurred_at < cutoff)
    )
    return int(count or 0)


async def prune_events(
    db: AsyncSession, *, cutoff: datetime, batch_size: int = PRUNE_BATCH_SIZE
) -> int:
    """Delete every event that occurred before `cutoff`; return how many were deleted.

    One short transaction per batch, so PostgreSQL never holds a long lock and writers
    (every request records events) keep going while a large backlog is pruned.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    deleted = 0
    while True:
        batch = (
            select(AuditEvent.id)
            .where(AuditEvent.occurred_at < cutoff)
            .limit(batch_size)
            .scalar_subquery()
        )
        result = await db.execute(
            delete(AuditEvent).where(AuditEvent.id.in_(batch)),
            execution_options={"synchronize_session": False},
        )
        await db.commit()
        removed = int(getattr(result, "rowcount", 0) or 0)
        deleted += removed
        if removed < batch_size:
            return deleted


async def record_denial(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    actor_user_id: uuid.UUID,
    organization_id: uuid.UUID | None,
    wanted: list[str],
    context: RequestContext,
) -> None:
    """Write `access.denied` in a transaction of its own: the request's will roll back."""
    async with sessionmaker() as session:
        record(
            session,
            action="access.denied",
            outcome="failure",
            context=context,
            actor_user_id=actor_user_id,
            organization_id=organization_id,
            target_type="organization" if organization_id else None,
            target_id=organization_id,
            details={"wanted": wanted, "route": context.route},
        )
        await session.commit()
