"""Imports every domain's tables so `Base.metadata` is complete (Alembic, tests)."""

from tenantry.audit.models import AuditEvent
from tenantry.db import Base
from tenantry.identity.models import OneTimeToken, Session, User
from tenantry.organizations.models import Invitation, Membership, Organization, Role
from tenantry.products.models import Product

__all__ = [
    "AuditEvent",
    "Base",
    "Invitation",
    "Membership",
    "OneTimeToken",
    "Organization",
    "Product",
    "Role",
    "Session",
    "User",
]
