"""Serves `/users`: the signed-in user's own profile, and user administration for
superusers (DESIGN.md §5).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from tenantry.db import DbSession
from tenantry.identity import users as service
from tenantry.identity.dependencies import CurrentPrincipal, Superuser, UserRow
from tenantry.identity.schemas import UserRead, UserUpdateAdmin, UserUpdateSelf
from tenantry.openapi import problems
from tenantry.pagination import Page, PageParams, page_params
from tenantry.request_context import Context

router = APIRouter(prefix="/users", tags=["users"], responses=problems(401))


@router.get("/me")
async def read_me(principal: CurrentPrincipal) -> UserRead:
    # The principal itself, not `CurrentUser`: one dependency layer less on the path
    # every API call of a product takes.
    return UserRead.model_validate(principal.user)


@router.patch("/me", responses=problems(422))
async def update_me(
    body: UserUpdateSelf, user: UserRow, db: DbSession, context: Context
) -> UserRead:
    return UserRead.model_validate(
        await service.update_self(db, user=user, changes=body, context=context)
    )


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=problems(409))
async def delete_me(user: UserRow, db: DbSession, context: Context) -> None:
    """Deactivate the account: every session ends at once; the audit trail is kept.
    The last active superuser cannot leave (409 `last_superuser`)."""
    await service.deactivate_self(db, user=user, context=context)


@router.get("", responses=problems(400, 403))
async def list_users(
    _operator: Superuser, db: DbSession, page: Annotated[PageParams, Depends(page_params)]
) -> Page[UserRead]:
    return await service.list_users(db, page=page)


@router.get("/{user_id}", responses=problems(403, 404))
async def read_user(user_id: uuid.UUID, _operator: Superuser, db: DbSession) -> UserRead:
    return UserRead.model_validate(await service.get(db, user_id))


@router.patch("/{user_id}", responses=problems(403, 404, 409, 422))
async def update_user(
    user_id: uuid.UUID, body: UserUpdateAdmin, operator: Superuser, db: DbSession, context: Context
) -> UserRead:
    user = await service.get(db, user_id)
    return UserRead.model_validate(
        await service.update_by_admin(
            db, user=user, actor_id=operator.id, changes=body, context=context
        )
    )
