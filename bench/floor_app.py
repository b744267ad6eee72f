"""The practical ceiling for `GET /users/me` on this machine: the same work — decode
the JWT, one primary-key query on sessions ⋈ users with raw asyncpg — in a bare
Starlette app. Run by bench/run.py with the same server settings as Tenantry."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

QUERY = """
SELECT u.id, u.email, u.full_name, u.is_active, u.is_superuser, u.email_verified_at,
       u.created_at, u.updated_at, s.user_id, s.revoked_at, s.expires_at
FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1
"""

state: dict[str, Any] = {}


async def me(request: Request) -> Response:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    try:
        claims = jwt.decode(
            token,
            state["secret"],
            algorithms=["HS256"],
            audience="tenantry-api",
            issuer="tenantry",
        )
    except jwt.PyJWTError:
        return Response(status_code=401)
    async with state["pool"].acquire() as connection:
        row = await connection.fetchrow(QUERY, claims["sid"])
    if row is None or row["revoked_at"] is not None or not row["is_active"]:
        return Response(status_code=401)
    body = {
        "id": str(row["id"]),
        "email": row["email"],
        "full_name": row["full_name"],
        "is_active": row["is_active"],
        "is_superuser": row["is_superuser"],
        "email_verified_at": None,
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }
    return Response(json.dumps(body), media_type="application/json")


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    state["secret"] = os.environ["SECRET_KEY"]
    state["pool"] = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
    yield
    await state["pool"].close()


app = Starlette(routes=[Route("/users/me", me)], lifespan=lifespan)
