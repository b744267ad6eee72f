"""The audit query API (DESIGN.md §5 "Audit"): who may read which events, the
filters, and newest-first keyset pages that return every event exactly once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.audit.models import AuditEvent
from tenantry.db import utcnow, uuid7
from tests.audit.conftest import InsertEvents
from tests.organizations.factories import Actor, add_member, insert_org, make_user

ORG_EVENTS = "/organizations/{}/audit-events"


async def _org_with_owner(app: Any) -> tuple[uuid.UUID, Actor]:
    owner = await make_user(app)
    return await insert_org(app, owner_id=owner.id), owner


async def _get_all(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Walk every page; fail on a repeated event or a cursor that never ends."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            ids = [item["id"] for item in items]
            assert len(ids) == len(set(ids)), "an event appeared twice"
            return items
    raise AssertionError("pagination never ended")


async def test_owner_reads_events_with_every_column(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents
) -> None:
    org_id, owner = await _org_with_owner(app)
    [event] = await insert_events(
        action="member.added",
        organization_id=org_id,
        actor_user_id=owner.id,
        target_type="user",
        target_id="42",
        ip="198.51.100.4",
        user_agent="pytest",
        request_id="req-1",
    )

    response = await client.get(ORG_EVENTS.format(org_id), headers=owner.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [
            {
                "id": str(event.id),
                "occurred_at": response.json()["items"][0]["occurred_at"],
                "action": "member.added",
                "outcome": "success",
                "actor_user_id": str(owner.id),
                "organization_id": str(org_id),
                "target_type": "user",
                "target_id": "42",
                "ip": "198.51.100.4",
                "user_agent": "pytest",
                "request_id": "req-1",
                "details": {"index": 0},
            }
        ],
        "next_cursor": None,
    }
    assert response.json()["items"][0]["occurred_at"].startswith(
        event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S")
    )


async def test_real_state_changes_are_listed_newest_first(
    app: Any, client: httpx.AsyncClient
) -> None:
    owner = await make_user(app)
    created = await client.post("/organizations", json={"name": "Acme"}, headers=owner.headers)
    org_id = created.json()["id"]
    renamed = await client.patch(
        f"/organizations/{org_id}", json={"name": "Acme 2"}, headers=owner.headers
    )
    assert renamed.status_code == 200, renamed.text

    items = (await client.get(ORG_EVENTS.format(org_id), headers=owner.headers)).json()["items"]

    assert [item["action"] for item in items] == ["org.updated", "org.created"]
    assert {item["actor_user_id"] for item in items} == {str(owner.id)}


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("member", 403), ("viewer", 403)])
async def test_audit_read_follows_the_role(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, role: str, status: int
) -> None:
    org_id, _owner = await _org_with_owner(app)
    actor = await add_member(app, org_id, role)

    response = await client.get(ORG_EVENTS.format(org_id), headers=actor.headers)

    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["code"] == "forbidden"
        denial = await db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "access.denied", AuditEvent.actor_user_id == actor.id
            )
        )
        assert denial is not None
        assert denial.details["wanted"] == ["audit:read"]


async def test_non_member_gets_404_like_a_missing_organization(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents
) -> None:
    org_id, _owner = await _org_with_owner(app)
    await insert_events(3, organization_id=org_id)
    stranger = await make_user(app)

    hidden = await client.get(ORG_EVENTS.format(org_id), headers=stranger.headers)
    missing = await client.get(ORG_EVENTS.format(uuid.uuid4()), headers=stranger.headers)

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


async def test_anonymous_request_is_401(app: Any, client: httpx.AsyncClient) -> None:
    org_id, _owner = await _org_with_owner(app)
    response = await client.get(ORG_EVENTS.format(org_id))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_events_of_another_organization_never_appear(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents
) -> None:
    org_id, owner = await _org_with_owner(app)
    other_org = await insert_org(app, owner_id=owner.id, name="Other")
    mine = await insert_events(3, organization_id=org_id, actor_user_id=owner.id)
    await insert_events(4, organization_id=other_org, actor_user_id=owner.id)
    await insert_events(2, action="auth.login.succeeded", actor_user_id=owner.id)

    for params in ({}, {"actor": str(owner.id)}, {"action": "product.*"}):
        items = await _get_all(client, ORG_EVENTS.format(org_id), owner.headers, **params)
        assert {item["id"] for item in items} == {str(event.id) for event in mine}, params


async def test_pages_return_every_event_once_newest_first(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents
) -> None:
    org_id, owner = await _org_with_owner(app)
    events = await insert_events(120, organization_id=org_id)

    first = await client.get(ORG_EVENTS.format(org_id), headers=owner.headers)
    items = await _get_all(client, ORG_EVENTS.format(org_id), owner.headers, limit=50)

    assert len(first.json()["items"]) == 50  # the default page size
    assert [item["id"] for item in items] == [str(event.id) for event in reversed(events)]
    times = [item["occurred_at"] for item in items]
    assert times == sorted(times, reverse=True)


async def test_a_burst_within_one_millisecond_pages_in_the_order_it_was_recorded(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """uuid7 ids keep a counter within a millisecond (RFC 9562 §6.2): events recorded in
    one burst come back exactly newest first, on every page."""
    org_id, owner = await _org_with_owner(app)
    for index in range(60):
        audit.record(
            db, action="product.updated", context=None, organization_id=org_id, details={"n": index}
        )
    await db.commit()

    items = await _get_all(client, ORG_EVENTS.format(org_id), owner.headers, limit=7)

    assert [item["details"]["n"] for item in items] == list(reversed(range(60)))
    times = [item["occurred_at"] for item in items]
    assert times == sorted(times, reverse=True)


def test_uuid7_ids_made_in_one_millisecond_increase() -> None:
    ids = [uuid7() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {value.version for value in ids} == {7}
    assert {value.variant for value in ids} == {uuid.RFC_4122}


async def test_events_added_while_paging_do_not_shift_later_pages(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents
) -> None:
    org_id, owner = await _org_with_owner(app)
    events = await insert_events(10, organization_id=org_id, newest=utcnow() - timedelta(minutes=1))
    first = (
        await client.get(ORG_EVENTS.format(org_id), params={"limit": 4}, headers=owner.headers)
    ).json()
    await insert_events(5, organization_id=org_id)  # newer: they belong before page 1

    rest = await _get_all(
        client, ORG_EVENTS.format(org_id), owner.headers, limit=4, cursor=first["next_cursor"]
    )

    seen = [item["id"] for item in first["items"] + rest]
    assert seen == [str(event.id) for event in reversed(events)]


async def test_action_filter_exact_and_prefix(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents
) -> None:
    org_id, owner = await _org_with_owner(app)
    url = ORG_EVENTS.format(org_id)
    changed = await insert_events(2, action="member.role_changed", organization_id=org_id)
    # `_` is LIKE's one-character wildcard: it must match only itself.
    lookalike = await insert_events(1, action="member.roleXchanged", organization_id=org_id)
    added = await insert_events(1, action="member.added", organization_id=org_id)
    await insert_events(3, action="product.created", organization_id=org_id)

    def ids(events: list[AuditEvent]) -> set[str]:
        return {str(event.id) for event in events}

    async def found(action: str) -> set[str]:
        return {item["id"] for item in await _get_all(client, url, owner.headers, action=action)}

    assert await found("member.role_changed") == ids(changed)
    assert await found("member.role") == set()  # exact, not a prefix
    assert await found("member.*") == ids(changed + lookalike + added)
    assert await found("member.role_*") == ids(changed)


@pytest.mark.parametrize("action", ["Member.added", "auth.%", "*", "auth.*.failed", "a" * 65])
async def test_malformed_action_filter_is_422(
    app: Any, client: httpx.AsyncClient, action: str
) -> None:
    org_id, owner = await _org_with_owner(app)
    response = await client.get(
        ORG_EVENTS.format(org_id), params={"action": action}, headers=owner.headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_actor_filter(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents
) -> None:
    org_id, owner = await _org_with_owner(app)
    colleague = await add_member(app, org_id, "admin")
    by_colleague = await insert_events(3, organization_id=org_id, actor_user_id=colleague.id)
    await insert_events(2, organization_id=org_id, actor_user_id=owner.id)

    items = await _get_all(
        client, ORG_EVENTS.format(org_id), owner.headers, actor=str(colleague.id)
    )

    assert [item["id"] for item in items] == [str(event.id) for event in reversed(by_colleague)]


async def test_since_is_inclusive_and_until_exclusive(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents
) -> None:
    org_id, owner = await _org_with_owner(app)
    url = ORG_EVENTS.format(org_id)
    newest = utcnow().replace(microsecond=0) - timedelta(days=1)
    events = await insert_events(10, organization_id=org_id, newest=newest)  # 1 s apart
    third, seventh = events[2].occurred_at, events[6].occurred_at

    window = await _get_all(
        client, url, owner.headers, since=third.isoformat(), until=seventh.isoformat()
    )
    since_only = await _get_all(client, url, owner.headers, since=seventh.isoformat())
    # The same instant in another zone is the same instant.
    shifted = (third + timedelta(hours=2)).isoformat().replace("+00:00", "+02:00")
    in_paris = await _get_all(client, url, owner.headers, until=shifted)

    assert [item["id"] for item in window] == [str(e.id) for e in reversed(events[2:6])]
    assert [item["id"] for item in since_only] == [str(e.id) for e in reversed(events[6:])]
    assert [item["id"] for item in in_paris] == [str(e.id) for e in reversed(events[:2])]


@pytest.mark.parametrize("name", ["since", "until"])
async def test_timestamps_without_a_zone_are_422(
    app: Any, client: httpx.AsyncClient, name: str
) -> None:
    org_id, owner = await _org_with_owner(app)
    # Numbers would otherwise be read as Unix time, which the document does not offer.
    for value in ("2026-01-01T00:00:00", "yesterday", "0.5", "1767225600"):
        response = await client.get(
            ORG_EVENTS.format(org_id), params={name: value}, headers=owner.headers
        )
        assert response.status_code == 422, value
        assert response.json()["errors"][0]["loc"] == ["query", name]
        assert value not in response.text  # input is never echoed


async def test_foreign_cursor_is_400(app: Any, client: httpx.AsyncClient) -> None:
    org_id, owner = await _org_with_owner(app)
    response = await client.get(
        ORG_EVENTS.format(org_id), params={"cursor": "not-ours!"}, headers=owner.headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


async def test_platform_trail_is_for_superusers_only(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, insert_events: InsertEvents
) -> None:
    org_id, owner = await _org_with_owner(app)
    await insert_events(2, organization_id=org_id)

    refused = await client.get("/audit-events", headers=owner.headers)

    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    denial = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "access.denied", AuditEvent.actor_user_id == owner.id
        )
    )
    assert denial is not None
    assert denial.details["wanted"] == ["superuser"]
    assert (await client.get("/audit-events")).status_code == 401


async def test_superuser_sees_every_organization_and_filters_by_one(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents
) -> None:
    operator = await make_user(app, is_superuser=True)
    org_a, owner = await _org_with_owner(app)
    org_b = await insert_org(app, owner_id=owner.id, name="B")
    in_a = await insert_events(3, organization_id=org_a, actor_user_id=owner.id)
    in_b = await insert_events(2, organization_id=org_b, action="member.added")
    logins = await insert_events(2, action="auth.login.failed", outcome="failure")

    everything = await _get_all(client, "/audit-events", operator.headers, limit=2)
    only_b = await _get_all(client, "/audit-events", operator.headers, organization_id=org_b)
    failed = await _get_all(client, "/audit-events", operator.headers, action="auth.*")
    owners_in_a = await _get_all(
        client, "/audit-events", operator.headers, organization_id=org_a, actor=str(owner.id)
    )

    assert {item["id"] for item in everything} == {str(e.id) for e in in_a + in_b + logins}
    assert [item["id"] for item in everything] == sorted(
        (item["id"] for item in everything), reverse=True
    )
    assert [item["id"] for item in only_b] == [str(e.id) for e in reversed(in_b)]
    assert [item["id"] for item in failed] == [str(e.id) for e in reversed(logins)]
    assert {item["outcome"] for item in failed} == {"failure"}
    assert [item["id"] for item in owners_in_a] == [str(e.id) for e in reversed(in_a)]
    # Through the organization route too: a superuser passes every permission check.
    via_org = await _get_all(client, ORG_EVENTS.format(org_b), operator.headers)
    assert {item["id"] for item in via_org} == {str(e.id) for e in in_b}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
async def test_no_endpoint_changes_an_event(
    app: Any, client: httpx.AsyncClient, insert_events: InsertEvents, method: str
) -> None:
    operator = await make_user(app, is_superuser=True)
    org_id, owner = await _org_with_owner(app)
    [event] = await insert_events(organization_id=org_id)

    for url, headers in ((ORG_EVENTS.format(org_id), owner.headers), ("/audit-events", {})):
        response = await client.request(method, url, headers={**headers, **operator.headers})
        assert response.status_code == 405, (method, url)
    for url in (f"{ORG_EVENTS.format(org_id)}/{event.id}", f"/audit-events/{event.id}"):
        response = await client.request(method, url, headers=operator.headers)
        assert response.status_code in {404, 405}, (method, url)

    still = (await client.get("/audit-events", headers=operator.headers)).json()["items"]
    assert [item["id"] for item in still] == [str(event.id)]


def test_openapi_offers_only_reads_of_the_audit_trail(app: Any) -> None:
    paths = app.openapi()["paths"]
    audit_paths = {path: ops for path, ops in paths.items() if "audit" in path}

    assert set(audit_paths) == {"/organizations/{org_id}/audit-events", "/audit-events"}
    for operations in audit_paths.values():
        assert set(operations) == {"get"}
    params = {p["name"] for p in audit_paths["/audit-events"]["get"]["parameters"]}
    assert params == {"action", "actor", "since", "until", "organization_id", "limit", "cursor"}
