"""Registration and user administration (DESIGN.md §3, §5): who may change what on a
user, and the rule that the last active superuser stays.
"""

from __future__ import annotations

import uuid

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tenantry import audit
from tenantry.config import Settings
from tenantry.db import release_connection
from tenantry.identity.exceptions import (
    EmailTaken,
    LastSuperuser,
    UserNotFound,
    WeakPasswordError,
)
from tenantry.identity.models import User
from tenantry.identity.schemas import UserRead, UserUpdateAdmin, UserUpdateSelf
from tenantry.identity.sessions import revoke_user_sessions
from tenantry.pagination import Page, PageParams, paginate
from tenantry.request_context import RequestContext
from tenantry.security.passwords import PasswordHasher, WeakPassword, check_password_rules


def validate_new_password(password: str, *, email: str, settings: Settings) -> None:
    try:
        check_password_rules(password, email=email, settings=settings)
    except WeakPassword as exc:
        raise WeakPasswordError(str(exc)) from exc


async def get_by_email(db: AsyncSession, email: str) -> User | None:
    result = await db.execute(select(User).where(User.email == email))
    return result.scalar_one_or_none()


async def count_failed_login(db: AsyncSession, user_id: uuid.UUID) -> int:
    """One more consecutive failure, counted in the database and returned.

    One atomic statement: concurrent failures never overwrite each other's count, and
    the reset-only lock it feeds outlives a restart of the limits storage.
    """
    count = await db.scalar(
        update(User)
        .where(User.id == user_id)
        .values(failed_login_count=User.failed_login_count + 1)
        .returning(User.failed_login_count)
        .execution_options(synchronize_session=False)
    )
    return int(count or 0)


async def clear_failed_logins(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_login_count=0)
        .execution_options(synchronize_session=False)
    )


async def get(db: AsyncSession, user_id: uuid.UUID) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


async def register(
    db: AsyncSession,
    *,
    email: str,
    password: str,
    full_name: str | None,
    settings: Settings,
    hasher: PasswordHasher,
    context: RequestContext | None,
    is_superuser: bool = False,
) -> User:
    validate_new_password(password, email=email, settings=settings)
    if await get_by_email(db, email) is not None:
        raise EmailTaken()
    await release_connection(db)
    user = User(
        email=email,
        password_hash=await hasher.hash(password),
        full_name=full_name,
        is_superuser=is_superuser,
    )
    db.add(user)
    try:
        await db.flush()
        audit.record_own(
            db,
            "user.registered",
            user_id=user.id,
            context=context,
            details={"is_superuser": True} if is_superuser else None,
        )
        await db.commit()
    except IntegrityError as exc:
        # A concurrent registration of the same email won the unique index.
        await db.rollback()
        raise EmailTaken() from exc
    return user


async def update_self(
    db: AsyncSession, *, user: User, changes: UserUpdateSelf, context: RequestContext
) -> User:
    return await _apply_update(db, user=user, actor_id=user.id, changes=changes, context=context)


async def update_by_admin(
    db: AsyncSession,
    *,
    user: User,
    actor_id: uuid.UUID,
    changes: UserUpdateAdmin,
    context: RequestContext,
) -> User:
    return await _apply_update(db, user=user, actor_id=actor_id, changes=changes, context=context)


async def _apply_update(
    db: AsyncSession,
    *,
    user: User,
    actor_id: uuid.UUID,
    changes: UserUpdateSelf | UserUpdateAdmin,
    context: RequestContext,
) -> User:
    # `full_name: null` clears the name; a null flag means "leave it as it is".
    fields = {
        key: value
        for key, value in changes.model_dump(exclude_unset=True).items()
        if value is not None or key == "full_name"
    }
    changed = {key: value for key, value in fields.items() if getattr(user, key) != value}
    if not changed:
        return user
    powers: dict[str, bool] = {
        key: changed[key] for key in ("is_active", "is_superuser") if key in changed
    }
    if False in powers.values():
        await _keep_a_superuser(db, user_id=user.id, values=powers)
    for key, value in changed.items():
        setattr(user, key, value)
    if changed.get("is_active") is False:
        await revoke_user_sessions(db, user_id=user.id, reason="user_deactivated")
        action = "user.deactivated"
    else:
        action = "user.updated"
    audit.record(
        db,
        action=action,
        context=context,
        actor_user_id=actor_id,
        target_type="user",
        target_id=user.id,
        details={"fields": sorted(changed)},
    )
    await db.commit()
    return user


async def deactivate_self(db: AsyncSession, *, user: User, context: RequestContext) -> None:
    """`DELETE /users/me`: the account is kept (and its audit trail), but can never sign in."""
    await _keep_a_superuser(db, user_id=user.id, values={"is_active": False})
    user.is_active = False
    await revoke_user_sessions(db, user_id=user.id, reason="user_deactivated")
    audit.record_own(
        db,
        "user.deactivated",
        user_id=user.id,
        context=context,
    )
    await db.commit()


# The key of the advisory lock that serializes taking superuser powers away.
_SUPERUSER_LOCK = 0x7E4A_5009


async def _keep_a_superuser(
    db: AsyncSession, *, user_id: uuid.UUID, values: dict[str, bool]
) -> None:
    """Write `is_active` / `is_superuser` of one user, unless that leaves no active
    superuser: nobody could then administer the service (409 `last_superuser`)."""
    # PostgreSQL, READ COMMITTED: two requests that each remove a different superuser
    # would both still see the other one active. One transaction-scoped advisory lock
    # makes them take turns, and the conditional UPDATE below, run after the lock with a
    # fresh snapshot, sees the first one's result. (Locking every superuser row in id
    # order instead deadlocked under a burst: waiters queue on row versions, not rows.)
    # SQLite runs one writer at a time; there the conditional UPDATE alone decides.
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(select(func.pg_advisory_xact_lock(_SUPERUSER_LOCK)))
    other = aliased(User)
    another_remains = exists().where(
        other.is_superuser.is_(True), other.is_active.is_(True), other.id != user_id
    )
    result = await db.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.is_superuser.is_(False), User.is_active.is_(False), another_remains),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        await db.rollback()
        raise LastSuperuser("Make another user an active superuser first.")


async def list_users(db: AsyncSession, *, page: PageParams) -> Page[UserRead]:
    return await paginate(db, select(User), key=User.id, page=page, render=UserRead.model_validate)
