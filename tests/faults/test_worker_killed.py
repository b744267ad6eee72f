"""A worker SIGKILLed in the middle of a burst of product creations (DESIGN.md §1.5):
every product that exists has its `product.created` event and every event its product
— both there or both absent — and the server goes on answering."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx

from tests.faults.conftest import PostgresCluster
from tests.faults.traffic import GENEROUS_LIMITS, create_product, poll, sign_in_with_organization
from tests.live import live_server_process

CREATIONS = 50
KILL_AFTER = 8  # answered creations before the kill, so it lands mid-burst


async def test_worker_killed_mid_request_leaves_no_change_without_its_audit_event(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    with live_server_process(postgres.url(), tmp_path, workers=2, **GENEROUS_LIMITS) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            _email, bearer, organization_id = await sign_in_with_organization(http)
            await poll(lambda: http.get("/healthz"), lambda _r: len(server.worker_pids()) == 2)
            victim = server.worker_pids()[0]
            answered = asyncio.Event()
            created: list[str] = []
            lost = 0

            async def create() -> None:
                nonlocal lost
                try:
                    response = await create_product(http, bearer, organization_id)
                except httpx.TransportError:
                    lost += 1  # the connection died with the worker
                    return
                assert response.status_code == 201, response.text
                created.append(response.json()["id"])
                if len(created) >= KILL_AFTER:
                    answered.set()

            async def kill() -> None:
                await answered.wait()
                os.kill(victim, signal.SIGKILL)

            await asyncio.gather(kill(), *(create() for _ in range(CREATIONS)))
            assert lost > 0, "the kill landed after the burst"
            assert len(created) + lost == CREATIONS

            # The server goes on: the other worker, then a replacement, answer.
            await poll(
                lambda: create_product(http, bearer, organization_id),
                lambda r: r.status_code == 201,
            )

    products = {
        str(row["id"])
        for row in await postgres.fetch(
            "SELECT id FROM products WHERE organization_id = $1::uuid", organization_id
        )
    }
    events = {
        row["target_id"]
        for row in await postgres.fetch(
            "SELECT target_id FROM audit_events "
            "WHERE action = 'product.created' AND organization_id = $1::uuid",
            organization_id,
        )
    }
    assert products == events
    assert set(created) <= products
