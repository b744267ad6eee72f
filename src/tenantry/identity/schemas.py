"""Request and response bodies of `/auth` and `/users`, and the email rule every
other package reuses (trimmed, lower-cased, at most 320 characters).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from tenantry.text import SingleLine


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def normalize_email(value: str) -> str:
    return value.strip().lower()


# Trimmed before validation, stored lower-cased (DESIGN.md §3).
Email = Annotated[
    EmailStr, BeforeValidator(_strip), AfterValidator(normalize_email), Field(max_length=320)
]
FullName = Annotated[str, SingleLine(max_length=200)]


def omittable() -> Any:
    """A field a client may leave out but not send as null (`X | SkipJsonSchema[None]`):
    the document shows neither null nor the `None` default, which no client may send."""
    return Field(None, json_schema_extra=_drop_default)


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class StrictBody(BaseModel):
    """Request bodies refuse unknown fields: nobody sets `is_superuser` by adding it."""

    model_config = ConfigDict(extra="forbid")


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    email_verified_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UserUpdateSelf(StrictBody):
    full_name: FullName | None = None


class UserUpdateAdmin(StrictBody):
    full_name: FullName | None = None
    # Strict: `0` or `"no"` for a flag is a mistake, not a `false`.
    is_active: StrictBool | None = None
    is_superuser: StrictBool | None = None


# Long enough for any allowed password; longer input is refused before hashing.
PASSWORD_INPUT_MAX = 4096


class RegisterRequest(StrictBody):
    email: Email
    password: str = Field(max_length=PASSWORD_INPUT_MAX)
    full_name: FullName | None = None


class LoginRequest(StrictBody):
    email: Email
    password: str = Field(max_length=PASSWORD_INPUT_MAX)


class AccessTokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class TokenPairResponse(AccessTokenResponse):
    """RFC 6749 §5.1 access token response."""

    refresh_token: str


class OAuthError(BaseModel):
    """RFC 6749 §5.2 error response."""

    error: str
    error_description: str | None = None


class MfaRequiredError(OAuthError):
    """The password grant for a user with a second factor (DESIGN.md §10): finish with
    the mfa grant and this `mfa_token`."""

    mfa_token: str


class SessionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


# Issued tokens are 43 characters; anything far longer is refused before a lookup.
TOKEN_INPUT_MAX = 256
Token = Annotated[str, SingleLine(max_length=TOKEN_INPUT_MAX)]


class ForgotPasswordRequest(StrictBody):
    email: Email


class ResetPasswordRequest(StrictBody):
    token: Token
    new_password: str = Field(max_length=PASSWORD_INPUT_MAX)


class ChangePasswordRequest(StrictBody):
    current_password: str = Field(max_length=PASSWORD_INPUT_MAX)
    new_password: str = Field(max_length=PASSWORD_INPUT_MAX)


class VerifyEmailRequest(StrictBody):
    token: Token


class MailAccepted(BaseModel):
    """The 202 answer: the same words whether or not a mail is actually sent."""

    detail: str


MFA_CODE_INPUT_MAX = 64
FactorName = Annotated[str, SingleLine(max_length=100)]
MfaCode = Annotated[str, Field(max_length=MFA_CODE_INPUT_MAX)]
PasswordInput = Annotated[str, Field(max_length=PASSWORD_INPUT_MAX)]


def _absent(schema: dict[str, Any]) -> None:
    """An optional field that is left out, never null: no `default: null` either."""
    schema.pop("default", None)


class MfaFactorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: Literal["totp", "webauthn"]
    name: str
    created_at: datetime
    last_used_at: datetime | None


class MfaOverview(BaseModel):
    factors: list[MfaFactorRead]
    recovery_codes_left: int


class TotpEnrolRequest(StrictBody):
    name: FactorName | None = None


class TotpEnrolment(BaseModel):
    factor_id: uuid.UUID
    secret: str
    otpauth_uri: str
    qr_svg: str


class MfaCodeRequest(StrictBody):
    code: str = Field(max_length=MFA_CODE_INPUT_MAX)


class RecoveryCodes(BaseModel):
    recovery_codes: list[str]


class FactorRename(StrictBody):
    name: FactorName


class MfaVerifyRequest(StrictBody):
    """Exactly one of `code` (TOTP) and `recovery_code`."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["code"]}, {"required": ["recovery_code"]}]}
    )

    mfa_token: str = Field(max_length=TOKEN_INPUT_MAX)
    code: MfaCode | SkipJsonSchema[None] = Field(None, json_schema_extra=_absent)
    recovery_code: MfaCode | SkipJsonSchema[None] = Field(None, json_schema_extra=_absent)

    @model_validator(mode="after")
    def _one_of(self) -> MfaVerifyRequest:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send exactly one of code and recovery_code")
        return self


class ReauthenticateRequest(StrictBody):
    """Exactly one of `password`, `code` (TOTP) and `recovery_code`."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["password"]},
                {"required": ["code"]},
                {"required": ["recovery_code"]},
            ]
        }
    )

    password: Annotated[str, Field(max_length=PASSWORD_INPUT_MAX)] | SkipJsonSchema[None] = Field(
        None, json_schema_extra=_absent
    )
    code: MfaCode | SkipJsonSchema[None] = Field(None, json_schema_extra=_absent)
    recovery_code: MfaCode | SkipJsonSchema[None] = Field(None, json_schema_extra=_absent)

    @model_validator(mode="after")
    def _one_of(self) -> ReauthenticateRequest:
        given = [v for v in (self.password, self.code, self.recovery_code) if v is not None]
        if len(given) != 1:
            raise ValueError("send exactly one of password, code and recovery_code")
        return self
