"""The permission catalogue and the built-in roles (DESIGN.md §3)."""

from __future__ import annotations

import uuid
from enum import StrEnum


class Permission(StrEnum):
    org_read = "org:read"
    org_update = "org:update"
    org_delete = "org:delete"
    members_read = "members:read"
    members_manage = "members:manage"
    roles_manage = "roles:manage"
    products_read = "products:read"
    products_write = "products:write"
    products_delete = "products:delete"
    audit_read = "audit:read"


ALL_PERMISSIONS = tuple(Permission)

BUILTIN_ROLES: dict[str, tuple[uuid.UUID, str, frozenset[Permission]]] = {
    "owner": (
        uuid.UUID("00000000-0000-7000-8000-000000000001"),
        "Everything, including deleting the organization.",
        frozenset(ALL_PERMISSIONS),
    ),
    "admin": (
        uuid.UUID("00000000-0000-7000-8000-000000000002"),
        "Everything but deleting the organization; cannot grant or remove the owner role.",
        frozenset(ALL_PERMISSIONS) - {Permission.org_delete},
    ),
    "member": (
        uuid.UUID("00000000-0000-7000-8000-000000000003"),
        "Reads the organization and its members; reads and writes products.",
        frozenset(
            {
                Permission.org_read,
                Permission.members_read,
                Permission.products_read,
                Permission.products_write,
            }
        ),
    ),
    "viewer": (
        uuid.UUID("00000000-0000-7000-8000-000000000004"),
        "Reads the organization, its members and its products.",
        frozenset({Permission.org_read, Permission.members_read, Permission.products_read}),
    ),
}
