from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.db import utcnow
from tenantry.organizations.models import Invitation, Membership
from tests.organizations.conftest import MailSink
from tests.organizations.factories import ROLE_IDS, Actor, add_member, make_org, make_user


async def _invite(
    client: httpx.AsyncClient, actor: Actor, org: str, email: str, role: str = "member"
) -> httpx.Response:
    return await client.post(
        f"/organizations/{org}/invitations",
        json={"email": email, "role": role},
        headers=actor.headers,
    )


async def _accept(client: httpx.AsyncClient, actor: Actor, token: str) -> httpx.Response:
    return await client.post("/invitations/accept", json={"token": token}, headers=actor.headers)


async def test_invitation_flow_end_to_end(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, mail_sink: MailSink
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner, "Acme")
    invitee = await make_user(app, email="new.hire@example.com")

    created = await _invite(client, owner, org, " New.Hire@Example.com ", "viewer")
    assert created.status_code == 201, created.text
    invitation = created.json()
    assert (invitation["email"], invitation["role"], invitation["status"]) == (
        "new.hire@example.com",
        "viewer",
        "pending",
    )
    assert "token" not in created.text
    expires_at = datetime.fromisoformat(invitation["expires_at"])
    assert abs((expires_at - (utcnow() + timedelta(days=7))).total_seconds()) < 60

    [mail] = mail_sink.sent
    assert mail.to == "new.hire@example.com"
    assert mail.organization_name == "Acme"
    assert mail.link.startswith("http://127.0.0.1:8000/accept-invitation?token=")
    token = mail_sink.token_for(invitee.email)

    # Only the digest is stored.
    stored = await db.get_one(Invitation, uuid.UUID(invitation["id"]))
    assert stored.token_hash == hashlib.sha256(token.encode()).digest()
    assert token.encode() not in stored.token_hash

    accepted = await _accept(client, invitee, token)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["organization"]["id"], body["role"], body["user_id"]) == (
        org,
        "viewer",
        str(invitee.id),
    )
    membership = await db.get(Membership, (invitee.id, uuid.UUID(org)))
    assert membership is not None
    assert membership.role_id == ROLE_IDS["viewer"]
    assert (await client.get(f"/organizations/{org}", headers=invitee.headers)).status_code == 200

    reused = await _accept(client, invitee, token)
    assert reused.status_code == 400
    assert reused.json()["code"] == "invalid_token"

    listed = await client.get(f"/organizations/{org}/invitations", headers=owner.headers)
    assert [item["status"] for item in listed.json()["items"]] == ["accepted"]
    actions = list(
        await db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.organization_id == uuid.UUID(org))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
    )
    assert actions[:2] == ["org.created", "invitation.created"]
    # Accepting writes both events in one transaction.
    assert sorted(actions[2:]) == ["invitation.accepted", "member.added"]


async def test_accepting_needs_the_invited_email(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, mail_sink: MailSink
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    await _invite(client, owner, org, "right@example.com")
    token = mail_sink.token_for("right@example.com")
    intruder = await make_user(app)
    response = await _accept(client, intruder, token)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert await db.get(Membership, (intruder.id, uuid.UUID(org))) is None
    denial = await db.scalar(select(AuditEvent).where(AuditEvent.action == "access.denied"))
    assert denial is not None
    assert (denial.actor_user_id, denial.organization_id) == (intruder.id, uuid.UUID(org))
    # The invitation was not spent by the failed attempt.
    rightful = await make_user(app, email="right@example.com")
    assert (await _accept(client, rightful, token)).status_code == 200


async def test_accepting_when_already_a_member_is_409(
    app: Any, client: httpx.AsyncClient, mail_sink: MailSink
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    invitee = await make_user(app, email="twice@example.com")
    await _invite(client, owner, org, invitee.email)
    first_token = mail_sink.token_for(invitee.email)
    await _invite(client, owner, org, invitee.email)
    second_token = mail_sink.token_for(invitee.email)
    assert (await _accept(client, invitee, second_token)).status_code == 200

    late = await _accept(client, invitee, first_token)
    assert late.status_code == 409
    assert late.json()["code"] == "already_member"
    # Inviting an existing member is refused up front.
    again = await _invite(client, owner, org, invitee.email)
    assert again.status_code == 409
    assert again.json()["code"] == "already_member"


async def test_unknown_expired_and_revoked_tokens_are_400(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, mail_sink: MailSink
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    invitee = await make_user(app, email="late@example.com")

    assert (await _accept(client, invitee, "not-a-token")).json()["code"] == "invalid_token"

    expiring = await _invite(client, owner, org, invitee.email)
    expired_token = mail_sink.token_for(invitee.email)
    await db.execute(
        update(Invitation)
        .where(Invitation.id == uuid.UUID(expiring.json()["id"]))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    response = await _accept(client, invitee, expired_token)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")

    revoking = await _invite(client, owner, org, invitee.email)
    revoked_token = mail_sink.token_for(invitee.email)
    revoked = await client.delete(
        f"/organizations/{org}/invitations/{revoking.json()['id']}", headers=owner.headers
    )
    assert revoked.status_code == 204
    response = await _accept(client, invitee, revoked_token)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")

    statuses = {
        item["id"]: item["status"]
        for item in (
            await client.get(f"/organizations/{org}/invitations", headers=owner.headers)
        ).json()["items"]
    }
    assert statuses == {expiring.json()["id"]: "expired", revoking.json()["id"]: "revoked"}
    assert await db.get(Membership, (invitee.id, uuid.UUID(org))) is None
    revoked_events = await db.scalars(
        select(AuditEvent).where(AuditEvent.action == "invitation.revoked")
    )
    assert [event.target_id for event in revoked_events] == [revoking.json()["id"]]


async def test_invitations_follow_the_granting_rules(
    app: Any, client: httpx.AsyncClient, mail_sink: MailSink
) -> None:
    owner = await make_user(app)
    org = await make_org(client, owner)
    admin = await add_member(app, org, "admin")
    member = await add_member(app, org, "member")
    as_owner = await _invite(client, admin, org, "boss@example.com", "owner")
    assert as_owner.status_code == 403
    by_member = await _invite(client, member, org, "friend@example.com", "viewer")
    assert by_member.status_code == 403
    unknown = await _invite(client, admin, org, "friend@example.com", "emperor")
    assert unknown.status_code == 422
    assert mail_sink.sent == []
    ok = await _invite(client, owner, org, "boss@example.com", "owner")
    assert ok.status_code == 201


async def test_invitations_of_another_organization_cannot_be_revoked(
    app: Any, client: httpx.AsyncClient, mail_sink: MailSink
) -> None:
    owner = await make_user(app)
    org, other = await make_org(client, owner), await make_org(client, owner, "Other")
    invitation = await _invite(client, owner, other, "x@example.com")
    response = await client.delete(
        f"/organizations/{org}/invitations/{invitation.json()['id']}", headers=owner.headers
    )
    assert response.status_code == 404
