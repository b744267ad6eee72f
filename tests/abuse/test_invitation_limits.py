"""Invitations mail addresses of the inviter's choosing: they are capped per inviter and
per organization (DESIGN.md §6), and the caps hold under a burst of concurrent requests,
in process memory and in Redis."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.organizations.models import Invitation
from tests.abuse.conftest import AppClient
from tests.organizations.conftest import MailSink
from tests.organizations.factories import Actor, add_member, insert_org, make_user


async def _burst(
    http: httpx.AsyncClient, org: uuid.UUID, inviters: list[Actor], each: int
) -> list[httpx.Response]:
    return await asyncio.gather(
        *(
            http.post(
                f"/organizations/{org}/invitations",
                json={"email": f"outsider-{uuid.uuid4().hex[:10]}@example.net", "role": "member"},
                headers=inviter.headers,
            )
            for _ in range(each)
            for inviter in inviters
        )
    )


async def _stored(db: AsyncSession, org: uuid.UUID) -> int:
    count = await db.scalar(
        select(func.count()).select_from(Invitation).where(Invitation.organization_id == org)
    )
    return int(count or 0)


def _assert_refused(responses: list[httpx.Response], created: int) -> None:
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * created + [429] * (len(responses) - created)
    for response in responses:
        if response.status_code == 429:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "rate_limited"
            assert int(response.headers["retry-after"]) >= 1


async def test_sixty_concurrent_invitations_by_one_inviter_send_only_the_limit(
    app_client: AppClient, db: AsyncSession, store: dict[str, str]
) -> None:
    async with app_client(
        rate_limits_enabled=True, rate_limit_invitations_per_inviter="20/hour", **store
    ) as (app, http):
        sink = MailSink()
        app.state.invitation_mail_sink = sink
        owner = await make_user(app)
        org = await insert_org(app, owner_id=owner.id)

        responses = await _burst(http, org, [owner], 60)

        _assert_refused(responses, created=20)
        assert len(sink.sent) == 20
        assert await _stored(db, org) == 20
        # The cap is the inviter's, not the organization's: another admin may still invite.
        admin = await add_member(app, org, "admin")
        assert len([r for r in await _burst(http, org, [admin], 1) if r.status_code == 201]) == 1


async def test_an_organizations_members_together_send_only_its_limit(
    app_client: AppClient, db: AsyncSession, store: dict[str, str]
) -> None:
    async with app_client(
        rate_limits_enabled=True,
        rate_limit_invitations_per_inviter="50/hour",
        rate_limit_invitations_per_organization="25/day",
        **store,
    ) as (app, http):
        app.state.invitation_mail_sink = MailSink()
        owner = await make_user(app)
        org = await insert_org(app, owner_id=owner.id)
        admins = [await add_member(app, org, "admin") for _ in range(2)]

        responses = await _burst(http, org, [owner, *admins], 20)

        _assert_refused(responses, created=25)
        assert await _stored(db, org) == 25
        # Another organization of the same owner has a budget of its own.
        other_org = await insert_org(app, owner_id=owner.id)
        assert [r.status_code for r in await _burst(http, other_org, [owner], 1)] == [201]


async def test_invitation_limits_are_off_with_the_other_request_limits(
    app_client: AppClient, db: AsyncSession, app: Any
) -> None:
    async with app_client(
        rate_limits_enabled=False, rate_limit_invitations_per_inviter="2/hour"
    ) as (other, http):
        other.state.invitation_mail_sink = MailSink()
        owner = await make_user(other)
        org = await insert_org(other, owner_id=owner.id)
        responses = await _burst(http, org, [owner], 5)
    assert [r.status_code for r in responses] == [201] * 5
