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

LANES = 20  # concurrent clients, each creating products one after another
KILL_AFTER = 8  # answered creations before the kill, so it lands mid-burst
ESTABLISHED = "01"  # the TCP state in /proc/net/tcp


def open_connections(pid: int, port: int) -> int:
    """How many established TCP connections to `port` the process `pid` holds (Linux)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == ESTABLISHED and fields[9] in inodes:
                count += 1
    return count


async def test_worker_killed_mid_request_leaves_no_change_without_its_audit_event(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    with live_server_process(postgres.url(), tmp_path, workers=2, **GENEROUS_LIMITS) as server:
        port = httpx.URL(server.url).port
        assert port is not None
        limits = httpx.Limits(max_connections=LANES, max_keepalive_connections=LANES)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
            _email, bearer, organization_id = await sign_in_with_organization(http)
            await poll(lambda: http.get("/healthz"), lambda _r: len(server.worker_pids()) == 2)
            answered = asyncio.Event()
            killed = asyncio.Event()
            created: list[str] = []
            sent = lost = 0

            async def lane() -> None:
                # Each lane keeps one request in flight until the kill has happened,
                # so the killed worker is busy when it dies.
                nonlocal sent, lost
                while not killed.is_set():
                    sent += 1
                    try:
                        response = await create_product(http, bearer, organization_id)
                    except httpx.TransportError:
                        lost += 1  # the connection died with the worker
                        continue
                    assert response.status_code == 201, response.text
                    created.append(response.json()["id"])
                    if len(created) >= KILL_AFTER:
                        answered.set()

            async def kill() -> int:
                await answered.wait()
                # The busier worker: the one holding more of the lanes' connections.
                victim = max(server.worker_pids(), key=lambda pid: open_connections(pid, port))
                assert open_connections(victim, port) > 0
                os.kill(victim, signal.SIGKILL)
                killed.set()
                return victim

            await asyncio.gather(kill(), *(lane() for _ in range(LANES)))
            assert lost > 0, "no request was in flight on the killed worker"
            assert len(created) + lost == sent

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
