from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from tenantry.identity.schemas import Email, StrictBody, omittable
from tenantry.organizations.permissions import Permission, parse_permissions
from tenantry.text import MultiLine, SingleLine

if TYPE_CHECKING:
    from tenantry.organizations.models import Organization, Role

OrganizationName = Annotated[str, SingleLine(max_length=200)]
# Lower-case words joined by single hyphens: safe in a URL path without encoding.
Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
]
RoleName = Annotated[
    str, StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")
]
Description = Annotated[str, MultiLine(max_length=500)]


class OrganizationCreate(StrictBody):
    name: OrganizationName
    slug: Slug | None = None


def _refuse_nulls(body: StrictBody, fields: tuple[str, ...]) -> None:
    for field in fields:
        if field in body.model_fields_set and getattr(body, field) is None:
            raise ValueError(f"{field} cannot be null")


class OrganizationUpdate(StrictBody):
    """Only the fields sent change."""

    name: OrganizationName | SkipJsonSchema[None] = omittable()
    slug: Slug | SkipJsonSchema[None] = omittable()

    @model_validator(mode="after")
    def _no_nulls(self) -> OrganizationUpdate:
        _refuse_nulls(self, ("name", "slug"))
        return self


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    slug: str
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class MyOrganization(OrganizationRead):
    """An organization as the caller sees it: with their role and what it allows."""

    role: str | None = Field(description="The caller's role; null for a platform operator.")
    permissions: list[Permission]

    @classmethod
    def of(
        cls, organization: Organization, *, role: str | None, permissions: Iterable[Permission]
    ) -> MyOrganization:
        return cls(
            **OrganizationRead.model_validate(organization).model_dump(),
            role=role,
            permissions=sorted(permissions),
        )

    @classmethod
    def as_member(cls, organization: Organization, role: Role) -> MyOrganization:
        """The organization as a member holding `role` sees it."""
        return cls.of(organization, role=role.name, permissions=parse_permissions(role.permissions))


class MemberRead(BaseModel):
    user_id: uuid.UUID
    email: str
    full_name: str | None
    role: str
    joined_at: datetime


class MemberUpdate(StrictBody):
    role: RoleName


class MembershipRead(BaseModel):
    """The membership an accepted invitation created."""

    user_id: uuid.UUID
    organization: OrganizationRead
    role: str
    joined_at: datetime


class RoleRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    permissions: list[Permission]
    builtin: bool


class RoleCreate(StrictBody):
    name: RoleName
    description: Description | None = None
    permissions: list[Permission] = Field(max_length=len(Permission))


class RoleUpdate(StrictBody):
    """Only the fields sent change; `description` may be cleared with null."""

    name: RoleName | SkipJsonSchema[None] = omittable()
    description: Description | None = None
    permissions: (
        Annotated[list[Permission], Field(max_length=len(Permission))] | SkipJsonSchema[None]
    ) = omittable()

    @model_validator(mode="after")
    def _no_nulls(self) -> RoleUpdate:
        _refuse_nulls(self, ("name", "permissions"))
        return self


class PermissionRead(BaseModel):
    name: Permission
    description: str


class InvitationCreate(StrictBody):
    email: Email
    role: RoleName


class InvitationRead(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    status: Literal["pending", "accepted", "revoked", "expired"]


class InvitationAccept(StrictBody):
    token: Annotated[str, SingleLine(max_length=128)]
