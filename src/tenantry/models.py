"""Imports every domain's tables so `Base.metadata` is complete (Alembic, tests)."""

from tenantry.accounts.models import OneTimeToken
from tenantry.audit.models import AuditEvent
from tenantry.auth.models import Session
from tenantry.db import Base
from tenantry.organizations.models import Invitation, Membership, Organization, Role
from tenantry.products.models import Product
from tenantry.users.models import User

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
