"""An organization keeps an owner under bursts of concurrent demotions and removals
(DESIGN.md §3, `409 last_owner`): changes to ownership are serialized by a lock on the
organization, so no two requests both see "another owner remains"."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.organizations.models import Membership
from tests.organizations.factories import ROLE_IDS, Actor, add_member, make_org, make_user


async def _owners(db: AsyncSession, org: str) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.organization_id == uuid.UUID(org),
            Membership.role_id == ROLE_IDS["owner"],
        )
        .execution_options(populate_existing=True)
    )
    return int(count or 0)


def _demote(client: httpx.AsyncClient, org: str, actor: Actor, target: Actor) -> Any:
    return client.patch(
        f"/organizations/{org}/members/{target.id}", json={"role": "admin"}, headers=actor.headers
    )


def _remove(client: httpx.AsyncClient, org: str, actor: Actor, target: Actor) -> Any:
    return client.delete(f"/organizations/{org}/members/{target.id}", headers=actor.headers)


async def test_fifty_concurrent_demotions_and_removals_never_leave_zero_owners(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    for _round in range(2):
        first = await make_user(app)
        org = await make_org(client, first)
        second = await add_member(app, org, "owner")
        pairs = [(first, second), (second, first), (first, first), (second, second)]
        requests = [
            (_demote if n % 2 else _remove)(client, org, *pairs[(n // 2) % len(pairs)])
            for n in range(50)
        ]

        responses = await asyncio.gather(*requests)

        statuses = Counter(response.status_code for response in responses)
        # Winners (200, 204); losers: the last owner now (409), no longer an owner or
        # a member at all (403, 404). Never a 500, never a database error.
        assert set(statuses) <= {200, 204, 403, 404, 409}, [r.text for r in responses]
        assert statuses[409] >= 1
        assert await _owners(db, org) == 1


async def test_fifty_concurrent_demotions_of_each_other_leave_exactly_one_owner(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    first = await make_user(app)
    org = await make_org(client, first)
    second = await add_member(app, org, "owner")

    responses = await asyncio.gather(
        *(_demote(client, org, *((first, second) if n % 2 else (second, first))) for n in range(50))
    )

    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {200, 403, 409}, [r.text for r in responses]
    assert await _owners(db, org) == 1
