from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from tenantry.auth.schemas import PASSWORD_INPUT_MAX
from tenantry.text import SingleLine
from tenantry.users.schemas import Email, StrictBody

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
