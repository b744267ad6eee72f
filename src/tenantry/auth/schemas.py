from __future__ import annotations

import uuid
from datetime import datetime
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


class TokenPairResponse(AccessTokenResponse):
    """RFC 6749 §5.1 access token response."""

    refresh_token: str


class OAuthError(BaseModel):
    """RFC 6749 §5.2 error response."""

    error: str
    error_description: str | None = None


class SessionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool
