"""What the audit query API reads and returns (DESIGN.md §5 "Audit")."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

# Lower-case dotted names, optionally ending in `*` for "every action under this prefix".
ACTION_FILTER_PATTERN = r"^[a-z0-9_.]{1,64}\*?$"


class AuditEventRead(BaseModel):
    """One event, every column: `details` never holds secrets (see `audit.record`)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    action: str
    outcome: str
    actor_user_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    target_type: str | None
    target_id: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """`since` is inclusive and `until` exclusive, so consecutive windows never overlap."""

    action: str | None = None
    actor: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    organization_id: uuid.UUID | None = None

    def scoped_to(self, organization_id: uuid.UUID) -> AuditFilters:
        return dataclasses.replace(self, organization_id=organization_id)
