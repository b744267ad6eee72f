"""In-process cost of one `GET /users/me`: Tenantry's ASGI app and the floor app
called directly (no server, no sockets), so only their own CPU is measured.

    .venv/bin/python bench/inprocess.py [--requests 5000] [--concurrency 8] [--profile out.prof]

A development tool for the hot path: it prints the CPU microseconds this process spends
per request for both apps (the database's work is not counted), and their ratio. `--profile` writes a cProfile of Tenantry's loop
(`python -m pstats out.prof`, or snakeviz). Uses a scratch PostgreSQL database.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import uvloop
from scratch import DEFAULT_SERVER, asyncpg_dsn, scratch_database

from tenantry.config import Settings
from tenantry.db import uuid7
from tenantry.security.jwt import TokenSigner

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def seed(dsn: str, settings: Settings, users: int) -> list[str]:
    signer = TokenSigner(settings)
    now = datetime.now(UTC)
    connection = await asyncpg.connect(dsn)
    tokens = []
    try:
        for n in range(users):
            uid, sid = uuid7(), uuid7()
            await connection.execute(
                "INSERT INTO users (id, email, password_hash, is_active, is_superuser,"
                " failed_login_count, created_at, updated_at, password_changed_at) VALUES"
                " ($1, $2, 'x', true, false, 0, $3, $3, $3)",
                uid,
                f"inprocess-{n}@example.com",
                now,
            )
            await connection.execute(
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at,"
                " refresh_counter, refreshed_at) VALUES ($1, $2, $3, $3, $4, 0, $3)",
                sid,
                uid,
                now,
                now + timedelta(days=1),
            )
            tokens.append(signer.issue(user_id=uid, session_id=sid))
    finally:
        await connection.close()
    return tokens


async def drive(
    app: ASGIApp, tokens: list[str], requests: int, concurrency: int, path: str = "/users/me"
) -> float:
    """CPU seconds of this process for `requests` calls, `concurrency` at a time (the
    database's own work, in its own processes, is not counted: less noise than wall time)."""
    statuses: list[int] = []

    async def one(token: str) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"authorization", f"Bearer {token}".encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)

    async def loop(offset: int) -> None:
        for n in range(offset, requests, concurrency):
            await one(tokens[n % len(tokens)])

    started = time.process_time()
    await asyncio.gather(*(loop(k) for k in range(concurrency)))
    elapsed = time.process_time() - started
    bad = [s for s in statuses if s != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} answers were not 200: {bad[:5]}")
    return elapsed


async def lifespan(app: ASGIApp) -> Any:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await queue.put({"type": "lifespan.startup"})
    task = asyncio.ensure_future(app({"type": "lifespan", "state": {}}, queue.get, done.put))
    message = await done.get()
    assert message["type"] == "lifespan.startup.complete", message

    async def shutdown() -> None:
        await queue.put({"type": "lifespan.shutdown"})
        await done.get()
        await task

    return shutdown


async def main_async(args: argparse.Namespace, database_url: str, tokens: list[str]) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["SECRET_KEY"] = SECRET
    import floor_app

    from tenantry.main import create_app

    settings = Settings(
        _env_file=None,
        database_url=database_url,
        secret_key=SECRET,
        environment="test",
        log_level="WARNING",
        rate_limits_enabled=False,
    )
    app = create_app(settings)
    apps: dict[str, ASGIApp] = {"floor": floor_app.app, "tenantry": app}
    results: dict[str, float] = {}
    for name, candidate in apps.items():
        shutdown = await lifespan(candidate)
        await drive(candidate, tokens, 500, args.concurrency)  # warm up
        best = float("inf")
        for _ in range(args.rounds):
            best = min(best, await drive(candidate, tokens, args.requests, args.concurrency))
        results[name] = best / args.requests * 1e6
        if args.profile and name == "tenantry":
            profiler = cProfile.Profile()
            profiler.enable()
            await drive(candidate, tokens, args.requests, args.concurrency)
            profiler.disable()
            profiler.dump_stats(args.profile)
        await shutdown()
    for name, micros in results.items():
        print(f"{name:10} {micros:8.0f} µs of CPU per request")
    print(f"floor ÷ tenantry cost: {results['floor'] / results['tenantry']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile")
    parser.add_argument("--server-url", default=DEFAULT_SERVER)
    args = parser.parse_args()
    with scratch_database(args.server_url, "tenantry_inprocess") as database_url:
        settings = Settings(_env_file=None, database_url=database_url, secret_key=SECRET)
        tokens = asyncio.run(seed(asyncpg_dsn(database_url), settings, 200))
        uvloop.run(main_async(args, database_url, tokens))


if __name__ == "__main__":
    main()
