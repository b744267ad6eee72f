from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.audit.models import AuditEvent
from tenantry.db import utcnow

InsertEvents = Callable[..., Awaitable[list[AuditEvent]]]


def uuid7_at(moment: datetime) -> uuid.UUID:
    """A uuid7 (RFC 9562) for the millisecond of `moment`, as `db.uuid7` makes for now."""
    millis = int(moment.timestamp() * 1000)
    value = millis << 80 | int.from_bytes(os.urandom(10)) & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value)


@pytest.fixture
def insert_events(app: Any) -> InsertEvents:
    """Write events straight to the table: `count` of them, one second apart, oldest
    first, ending at `newest` (default now). Like `audit.record`, each id is a uuid7 of
    the event's own time."""

    async def insert(
        count: int = 1,
        *,
        action: str = "product.created",
        organization_id: uuid.UUID | str | None = None,
        actor_user_id: uuid.UUID | None = None,
        newest: datetime | None = None,
        outcome: str = "success",
        **columns: Any,
    ) -> list[AuditEvent]:
        end = newest or utcnow()
        times = [end - timedelta(seconds=count - 1 - index) for index in range(count)]
        events = [
            AuditEvent(
                id=uuid7_at(moment),
                occurred_at=moment,
                action=action,
                outcome=outcome,
                actor_user_id=actor_user_id,
                organization_id=uuid.UUID(str(organization_id)) if organization_id else None,
                details={"index": index},
                **columns,
            )
            for index, moment in enumerate(times)
        ]
        sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
        async with sessionmaker() as db:
            db.add_all(events)
            await db.commit()
        return events

    return insert
