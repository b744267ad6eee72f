"""Imports every domain's tables so `Base.metadata` is complete (Alembic, tests)."""

from tenantry.audit.models import AuditEvent
from tenantry.db import Base
from tenantry.identity.models import (
    MfaChallenge,
    MfaFactor,
    OneTimeToken,
    RecoveryCode,
    Session,
    User,
)
from tenantry.organizations.models import Invitation, Membership, Organization, Role
from tenantry.products.models import Product

__all__ = [
    "AuditEvent",
    "Base",
    "Invitation",
    "Membership",
    "MfaChallenge",
    "MfaFactor",
    "OneTimeToken",
    "Organization",
    "Product",
    "RecoveryCode",
    "Role",
    "Session",
    "User",
]
