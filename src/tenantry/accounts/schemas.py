from __future__ import annotations

from pydantic import BaseModel, Field

from tenantry.auth.schemas import PASSWORD_INPUT_MAX
from tenantry.users.schemas import Email, StrictBody

# Issued tokens are 43 characters; anything far longer is refused before a lookup.
TOKEN_INPUT_MAX = 256


class ForgotPasswordRequest(StrictBody):
    email: Email


class ResetPasswordRequest(StrictBody):
    token: str = Field(min_length=1, max_length=TOKEN_INPUT_MAX)
    new_password: str = Field(max_length=PASSWORD_INPUT_MAX)


class ChangePasswordRequest(StrictBody):
    current_password: str = Field(max_length=PASSWORD_INPUT_MAX)
    new_password: str = Field(max_length=PASSWORD_INPUT_MAX)


class VerifyEmailRequest(StrictBody):
    token: str = Field(min_length=1, max_length=TOKEN_INPUT_MAX)


class MailAccepted(BaseModel):
    """The 202 answer: the same words whether or not a mail is actually sent."""

    detail: str
