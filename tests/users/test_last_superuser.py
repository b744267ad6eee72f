"""The last active superuser cannot be deactivated or demoted: someone must always be
able to administer the service. 409 `last_superuser`, also under concurrent requests."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.models import User
from tests.organizations.factories import Actor, make_user


async def _active_superusers(db: AsyncSession) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(User)
        .where(User.is_superuser.is_(True), User.is_active.is_(True))
    )
    return int(count or 0)


def _assert_last_superuser(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "last_superuser"


async def test_the_only_active_superuser_cannot_deactivate_or_demote_themselves(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    operator = await make_user(app, is_superuser=True)
    # A superuser who was deactivated before does not count.
    retired = await make_user(app, is_superuser=True)
    await db.execute(update(User).where(User.id == retired.id).values(is_active=False))
    await db.commit()

    for body in ({"is_active": False}, {"is_superuser": False}):
        _assert_last_superuser(
            await client.patch(f"/users/{operator.id}", json=body, headers=operator.headers)
        )
    _assert_last_superuser(await client.delete("/users/me", headers=operator.headers))

    assert await _active_superusers(db) == 1
    assert (await client.get("/users/me", headers=operator.headers)).status_code == 200


async def test_a_superuser_may_go_while_another_active_one_remains(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    first = await make_user(app, is_superuser=True)
    second = await make_user(app, is_superuser=True)

    demoted = await client.patch(
        f"/users/{second.id}", json={"is_superuser": False}, headers=first.headers
    )
    assert demoted.status_code == 200, demoted.text
    assert (
        await client.patch(
            f"/users/{second.id}", json={"is_superuser": True}, headers=first.headers
        )
    ).status_code == 200
    assert (await client.delete("/users/me", headers=second.headers)).status_code == 204

    assert await _active_superusers(db) == 1
    _assert_last_superuser(await client.delete("/users/me", headers=first.headers))


async def test_two_superusers_deactivating_each_other_at_once_leave_one(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """50 requests at once, half by each superuser against the other (or themselves):
    without row locks both could see the other still active and both succeed."""
    first = await make_user(app, is_superuser=True)
    second = await make_user(app, is_superuser=True)

    def attempt(index: int, actor: Actor, other: Actor) -> Any:
        if index % 3 == 0:
            return client.delete("/users/me", headers=actor.headers)
        return client.patch(
            f"/users/{other.id}",
            json={"is_active": False} if index % 3 == 1 else {"is_superuser": False},
            headers=actor.headers,
        )

    responses = await asyncio.gather(
        *(
            attempt(index, *((first, second) if index % 2 else (second, first)))
            for index in range(50)
        )
    )

    statuses = {response.status_code for response in responses}
    assert statuses <= {200, 204, 401, 403, 409}, [r.text for r in responses]
    assert 409 in statuses
    assert await _active_superusers(db) == 1
