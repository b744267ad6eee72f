from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tenantry.users.schemas import Email, FullName, StrictBody

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
