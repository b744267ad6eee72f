from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db import Base, UTCDateTime, utcnow, uuid7


class AuditEvent(Base):
    """Append-only record of a state change. No foreign keys: events outlive their subjects."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # Newest-first keyset pages per organization, and the platform-wide view.
        Index("ix_audit_events_organization_id_id", "organization_id", "id"),
        # An exact `action` filter walks one (organization, action) range already in id order.
        Index("ix_audit_events_organization_id_action_id", "organization_id", "action", "id"),
        Index("ix_audit_events_actor_user_id_id", "actor_user_id", "id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
