"""The audit writer every domain calls inside its own transaction (DESIGN.md §1.5)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
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
