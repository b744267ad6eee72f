"""The reference of issue 8, rebuilt for a side-by-side run: `GET /users/me` the way the
popular full-stack FastAPI template serves it — sync SQLModel on psycopg, the session
from a `yield` dependency, the token decoded with PyJWT, the user loaded by primary key,
a sync endpoint in FastAPI's thread pool. Started by bench/run.py with the same server
settings as Tenantry; it reads Tenantry's `users` table and accepts its access tokens.

Written for the comparison from the template's published structure (app/api/deps.py,
app/models.py, app/api/routes/users.py); not the template's code.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator
from datetime import datetime
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from sqlmodel import Field, Session, SQLModel, create_engine

DATABASE_URL = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql+psycopg://")
SECRET_KEY = os.environ["SECRET_KEY"]

engine = create_engine(DATABASE_URL)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(primary_key=True)
    email: str
    password_hash: str
    full_name: str | None = None
    is_active: bool = True
    is_superuser: bool = False
    email_verified_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class UserPublic(SQLModel):
    id: uuid.UUID
    email: str
    full_name: str | None = None
    is_active: bool
    is_superuser: bool


class TokenPayload(BaseModel):
    sub: str | None = None


def get_db() -> Generator[Session, None, None]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
TokenDep = Annotated[str, Depends(OAuth2PasswordBearer(tokenUrl="/login/access-token"))]


def get_current_user(session: SessionDep, token: TokenDep) -> User:
    try:
        # Tenantry's tokens carry an audience, which PyJWT insists on checking.
        payload = jwt.decode(token, SECRET_KEY, algorithms=["HS256"], audience="tenantry-api")
        token_data = TokenPayload(**payload)
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN) from exc
    user = session.get(User, uuid.UUID(token_data.sub or ""))
    if user is None:
        raise HTTPException(status_code=404, detail="User not found")
    if not user.is_active:
        raise HTTPException(status_code=400, detail="Inactive user")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

app = FastAPI()


@app.get("/users/me", response_model=UserPublic)
def read_user_me(current_user: CurrentUser) -> User:
    return current_user
