"""The organization domain's errors, each with a stable `code` (DESIGN.md §5)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from tenantry.errors import Conflict, Forbidden, NotFound, ProblemError


class OrganizationNotFound(NotFound):
    """Also the answer to every non-member, whether or not the organization exists."""

    title = "Organization not found"


class PermissionDenied(Forbidden):
    """A member asked for something their role does not allow.

    `wanted` names what was missing (a permission, or `role:owner`); the permission
    dependency records it in the `access.denied` audit event.
    """

    def __init__(
        self,
        detail: str,
        *,
        wanted: Iterable[str],
        organization_id: uuid.UUID | None = None,
    ) -> None:
        super().__init__(detail)
        self.wanted = sorted(wanted)
        self.organization_id = organization_id


class BuiltinRoleReadOnly(PermissionDenied):
    code = "builtin_role_read_only"
    title = "Built-in roles cannot be changed"


class InvitationEmailMismatch(PermissionDenied):
    title = "This invitation was sent to another email address"


class SlugTaken(Conflict):
    code = "slug_taken"
    title = "Slug already taken"


class LastOwner(Conflict):
    code = "last_owner"
    title = "An organization keeps at least one owner"


class RoleNameTaken(Conflict):
    code = "role_name_taken"
    title = "Role name already taken"


class RoleInUse(Conflict):
    code = "role_in_use"
    title = "Role in use"


class AlreadyMember(Conflict):
    code = "already_member"
    title = "Already a member"


class MemberNotFound(NotFound):
    title = "Member not found"


class RoleNotFound(NotFound):
    title = "Role not found"


class UnknownRole(ProblemError):
    status = 422
    code = "unknown_role"
    title = "Unknown role"


class InvitationNotFound(NotFound):
    title = "Invitation not found"


class InvalidInvitationToken(ProblemError):
    status = 400
    code = "invalid_token"
    title = "Invalid or expired invitation"
