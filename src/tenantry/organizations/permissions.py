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

OWNER_ROLE_ID = BUILTIN_ROLES["owner"][0]
BUILTIN_ROLE_IDS = frozenset(role_id for role_id, _, _ in BUILTIN_ROLES.values())

PERMISSION_DESCRIPTIONS: dict[Permission, str] = {
    Permission.org_read: "Read the organization.",
    Permission.org_update: "Rename the organization or change its slug.",
    Permission.org_delete: "Delete the organization and everything in it.",
    Permission.members_read: "List members and roles.",
    Permission.members_manage: "Invite, remove members and change their roles.",
    Permission.roles_manage: "Create, change and delete the organization's custom roles.",
    Permission.products_read: "List and read products.",
    Permission.products_write: "Create and change products.",
    Permission.products_delete: "Delete products.",
    Permission.audit_read: "Read the organization's audit trail.",
}


def parse_permissions(values: list[str]) -> frozenset[Permission]:
    """The known permissions among stored strings; an unknown one grants nothing."""
    known = {permission.value for permission in Permission}
    return frozenset(Permission(value) for value in values if value in known)
