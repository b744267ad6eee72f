"""Tenantry's soak (issue 13): two workers on PostgreSQL and Redis under mixed traffic.

    .venv/bin/python bench/soak.py [--minutes 30] [--users 16] [--workers 2]

It creates a scratch PostgreSQL database (bench/scratch.py), starts `tenantry serve`
with a Redis key prefix of its own, registers one account and one organization per
virtual user, and lets every virtual user loop until the time is up: sign in (browser
flow and password grant in turn), `GET /users/me`, two refreshes with the same token at
once (both must succeed: DESIGN.md §4 reuse interval), one more rotation, a product
created, listed and updated, an invitation, then a logout or revocation after which the
old access token must get 401. At the end it prints one table (errors, p50/p99 per
route, resident memory per worker at start and end, database pool waits from
`/metrics`) and compares the audit events in the database, by action, with the changes
the clients made. It exits non-zero on any unexpected answer or audit mismatch, and
drops the database and its Redis keys whatever happened. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families
from run import BIN, free_port, server, worker_rss
from scratch import DEFAULT_SERVER, asyncpg_dsn, scratch_database

SECRET = "soak-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD = "soak password 2026"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
REQUEST_TIMEOUT = 30.0
# uvicorn closes a connection idle for 5 s; httpx keeps one 5 s too, so a request sent
# on a connection just as the server closes it fails (seen: `ReadError` on a refresh,
# twice in 10,000 requests). Clients must give up idle connections first, as nginx
# does with its upstream `keepalive_timeout` shorter than the server's.
LIMITS = httpx.Limits(keepalive_expiry=2.0)
# Workers import slowly when the two cores are busy (47 s once, beside other test runs).
START_TIMEOUT = 120.0
CSRF_COOKIE = "tenantry_csrf"


@dataclass
class Observed:
    """What the clients saw and did. One event loop: no locks needed."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    # Audit actions the server must have recorded for what the clients changed.
    made: Counter[str] = field(default_factory=Counter)
    revoked_refused: int = 0
    iterations: int = 0

    def error(self, what: str, detail: str) -> None:
        self.errors[what] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{what}: {detail[:300]}")


async def call(
    client: httpx.AsyncClient,
    observed: Observed,
    route: str,
    expected: int,
    method: str,
    path: str,
    **kwargs: Any,
) -> httpx.Response | None:
    """One request, timed under its route template; None when the answer was not the
    expected one (counted as an error)."""
    started = time.perf_counter()
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        observed.error(f"{route} {type(exc).__name__}", repr(exc))
        return None
    observed.latencies[route].append(time.perf_counter() - started)
    if response.status_code != expected:
        observed.error(f"{route} → {response.status_code}", response.text)
        return None
    return response


@dataclass(frozen=True)
class Account:
    email: str
    org_id: str


async def set_up_account(
    base_url: str, observed: Observed, index: int, run_id: str
) -> Account | None:
    email = f"soak-{run_id}-{index}@example.com"
    async with httpx.AsyncClient(
        base_url=base_url, timeout=REQUEST_TIMEOUT, limits=LIMITS
    ) as client:
        if not await call(
            client,
            observed,
            "POST /auth/register",
            201,
            "POST",
            "/auth/register",
            json={"email": email, "password": PASSWORD},
        ):
            return None
        observed.made["user.registered"] += 1
        token = await call(
            client,
            observed,
            "POST /auth/login",
            200,
            "POST",
            "/auth/login",
            json={"email": email, "password": PASSWORD},
        )
        if token is None:
            return None
        observed.made["auth.login.succeeded"] += 1
        organization = await call(
            client,
            observed,
            "POST /organizations",
            201,
            "POST",
            "/organizations",
            json={"name": f"Soak {run_id} {index}"},
            headers=bearer(token.json()["access_token"]),
        )
        if organization is None:
            return None
        observed.made["org.created"] += 1
        return Account(email=email, org_id=organization.json()["id"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def iteration(
    client: httpx.AsyncClient, observed: Observed, account: Account, index: int, n: int
) -> None:
    """One round of a virtual user; it stops at the first unexpected answer (counted)."""
    browser = n % 2 == 0
    credentials = {"email": account.email, "password": PASSWORD}
    if browser:
        signed_in = await call(
            client, observed, "POST /auth/login", 200, "POST", "/auth/login", json=credentials
        )
    else:
        signed_in = await call(
            client,
            observed,
            "POST /auth/token (password)",
            200,
            "POST",
            "/auth/token",
            data={"grant_type": "password", "username": account.email, "password": PASSWORD},
        )
    if signed_in is None:
        return
    observed.made["auth.login.succeeded"] += 1
    access = signed_in.json()["access_token"]
    refresh = None if browser else signed_in.json()["refresh_token"]

    for _ in range(3):
        if not await call(
            client, observed, "GET /users/me", 200, "GET", "/users/me", headers=bearer(access)
        ):
            return

    # Two tabs refreshing with the same token at once: both succeed, the family does not
    # fork (both get the same new refresh token), then the converged token rotates once more.
    for count in (2, 1):
        if browser:
            csrf = {"X-CSRF-Token": client.cookies.get(CSRF_COOKIE, "")}
            answers = await asyncio.gather(
                *(
                    call(
                        client,
                        observed,
                        "POST /auth/refresh",
                        200,
                        "POST",
                        "/auth/refresh",
                        headers=csrf,
                    )
                    for _ in range(count)
                )
            )
        else:
            form = {"grant_type": "refresh_token", "refresh_token": refresh}
            answers = await asyncio.gather(
                *(
                    call(
                        client,
                        observed,
                        "POST /auth/token (refresh)",
                        200,
                        "POST",
                        "/auth/token",
                        data=form,
                    )
                    for _ in range(count)
                )
            )
        bodies = [answer.json() for answer in answers if answer is not None]
        if len(bodies) != count:
            return
        if not browser:
            issued = {body["refresh_token"] for body in bodies}
            if len(issued) != 1:
                observed.error("refresh family forked", f"{len(issued)} refresh tokens")
                return
            refresh = issued.pop()
        access = bodies[-1]["access_token"]
    if not await call(
        client, observed, "GET /users/me", 200, "GET", "/users/me", headers=bearer(access)
    ):
        return

    products = f"/organizations/{account.org_id}/products"
    created = await call(
        client,
        observed,
        "POST /organizations/{org_id}/products",
        201,
        "POST",
        products,
        json={
            "name": f"Soak product {index}-{n}",
            "sku": f"SOAK-{index}-{n}",
            "price_cents": 100 + n,
            "currency": "EUR",
        },
        headers=bearer(access),
    )
    if created is None:
        return
    observed.made["product.created"] += 1
    if not await call(
        client,
        observed,
        "GET /organizations/{org_id}/products",
        200,
        "GET",
        products,
        params={"limit": 20},
        headers=bearer(access),
    ):
        return
    updated = await call(
        client,
        observed,
        "PATCH /organizations/{org_id}/products/{id}",
        200,
        "PATCH",
        f"{products}/{created.json()['id']}",
        json={"price_cents": 200 + n},
        headers={**bearer(access), "If-Match": created.headers["etag"]},
    )
    if updated is None:
        return
    observed.made["product.updated"] += 1

    invited = await call(
        client,
        observed,
        "POST /organizations/{org_id}/invitations",
        201,
        "POST",
        f"/organizations/{account.org_id}/invitations",
        json={"email": f"invitee-{index}-{n}-{account.email}", "role": "member"},
        headers=bearer(access),
    )
    if invited is None:
        return
    observed.made["invitation.created"] += 1

    if browser:
        ended = await call(
            client,
            observed,
            "POST /auth/logout",
            204,
            "POST",
            "/auth/logout",
            headers=bearer(access),
        )
    else:
        ended = await call(
            client,
            observed,
            "POST /auth/revoke",
            200,
            "POST",
            "/auth/revoke",
            data={"token": refresh},
        )
    if ended is None:
        return
    observed.made["auth.logout"] += 1
    # Revocation is immediate: the access token, still unexpired, is refused (expected).
    if await call(
        client,
        observed,
        "GET /users/me (revoked)",
        401,
        "GET",
        "/users/me",
        headers=bearer(access),
    ):
        observed.revoked_refused += 1
    observed.iterations += 1


async def virtual_user(
    base_url: str, observed: Observed, account: Account, index: int, deadline: float
) -> None:
    async with httpx.AsyncClient(
        base_url=base_url, timeout=REQUEST_TIMEOUT, limits=LIMITS
    ) as client:
        n = 0
        while time.monotonic() < deadline:
            await iteration(client, observed, account, index, n)
            n += 1


async def drive(base_url: str, users: int, seconds: float, observed: Observed) -> None:
    # The set-up counts in the time: `--minutes` bounds the whole run.
    deadline = time.monotonic() + seconds
    run_id = uuid.uuid4().hex[:8]
    accounts = await asyncio.gather(
        *(set_up_account(base_url, observed, index, run_id) for index in range(users))
    )
    await asyncio.gather(
        *(
            virtual_user(base_url, observed, account, index, deadline)
            for index, account in enumerate(accounts)
            if account is not None
        )
    )


def pool_waits(base_url: str) -> dict[str, dict[float, float]]:
    """Cumulative bucket counts of `tenantry_db_pool_wait_seconds`, by pool, plus the
    sum under the key -1. With several workers `/metrics` sums all of them."""
    text = httpx.get(f"{base_url}/metrics", timeout=REQUEST_TIMEOUT).text
    found: dict[str, dict[float, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        if family.name != "tenantry_db_pool_wait_seconds":
            continue
        for sample in family.samples:
            pool = sample.labels["pool"]
            if sample.name.endswith("_bucket"):
                found[pool][float(sample.labels["le"])] = sample.value
            elif sample.name.endswith("_sum"):
                found[pool][-1.0] = sample.value
    return found


def checked_out_connections(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=REQUEST_TIMEOUT).text
    for family in text_string_to_metric_families(text):
        if family.name == "tenantry_db_pool_checked_out_connections":
            return sum(sample.value for sample in family.samples)
    raise RuntimeError("/metrics has no tenantry_db_pool_checked_out_connections")


def connections_returned(base_url: str, deadline_seconds: float = 15) -> float:
    """Checked-out connections once the traffic stopped: 0 unless a request leaked one.
    Polled, since a request cancelled at the very end may still be returning its own."""
    deadline = time.monotonic() + deadline_seconds
    while (held := checked_out_connections(base_url)) > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    return held


def pool_wait_rows(
    before: dict[str, dict[float, float]], after: dict[str, dict[float, float]]
) -> list[tuple[str, int, float, str]]:
    """(pool, checkouts, mean ms, p99 as a bucket bound) over the soak."""
    rows = []
    for pool, buckets in sorted(after.items()):
        moved = {
            bound: value - before.get(pool, {}).get(bound, 0.0) for bound, value in buckets.items()
        }
        total = moved.get(float("inf"), 0.0)
        mean_ms = 1000 * moved.get(-1.0, 0.0) / total if total else 0.0
        p99 = "—"
        for bound in sorted(bound for bound in moved if bound >= 0):
            if total and moved[bound] >= 0.99 * total:
                p99 = "≤ " + ("∞" if bound == float("inf") else f"{1000 * bound:g} ms")
                break
        rows.append((pool, int(total), mean_ms, p99))
    return rows


async def audit_counts(dsn: str) -> Counter[str]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT action, COUNT(*) FROM audit_events GROUP BY action")
    finally:
        await connection.close()
    return Counter({row[0]: row[1] for row in rows})


def percentile(values: list[float], fraction: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    cells = [headers, *[tuple(str(cell) for cell in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def clear_redis(url: str, prefix: str) -> None:
    connection = redis.Redis.from_url(url)
    try:
        keys = list(connection.scan_iter(match=f"{prefix}*"))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30, help="length of the traffic")
    parser.add_argument("--users", type=int, default=16, help="concurrent virtual users")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--bcrypt-rounds",
        type=int,
        default=4,
        help="a soak looks for errors and leaks, not bcrypt's speed (bench/run.py does)",
    )
    parser.add_argument("--server-url", default=DEFAULT_SERVER)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()

    prefix = f"tenantry-soak-{uuid.uuid4().hex[:12]}"
    observed = Observed()
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:5.1f} s] {message}", file=sys.stderr, flush=True)

    try:
        with scratch_database(args.server_url, "tenantry_soak") as database_url:
            progress("scratch database migrated")
            port = free_port()
            env = {
                **{
                    key: value
                    for key, value in os.environ.items()
                    if key not in ("METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "SECRET_KEY_FILE")
                },
                "DATABASE_URL": database_url,
                "SECRET_KEY": SECRET,
                "ENVIRONMENT": "test",
                "LOG_LEVEL": "WARNING",
                "REDIS_URL": args.redis_url,
                "REDIS_KEY_PREFIX": prefix,
                # Every request comes from 127.0.0.1: per-IP limits far above what the
                # virtual users send, so that any 429 is a fault. The limits stay on,
                # counted in Redis, as in production.
                "RATE_LIMIT_LOGIN": "1000000/minute",
                "RATE_LIMIT_REFRESH": "1000000/minute",
                "RATE_LIMIT_REGISTER": "1000000/hour",
                "RATE_LIMIT_INVITATIONS_PER_INVITER": "1000000/hour",
                "RATE_LIMIT_INVITATIONS_PER_ORGANIZATION": "1000000/day",
                "REFRESH_REUSE_INTERVAL_SECONDS": "10",
                "BCRYPT_ROUNDS": str(args.bcrypt_rounds),
                # Plain HTTP on 127.0.0.1: the browser flow's cookies must come back.
                "COOKIE_SECURE": "false",
            }
            log = Path(tempfile.mkdtemp(prefix="tenantry-soak-")) / "server.log"
            log_folder = log.parent
            command = [
                str(BIN / "tenantry"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ]
            base_url = f"http://127.0.0.1:{port}"
            with server(command, env, port, log, start_timeout=START_TIMEOUT) as master:
                progress(f"{args.workers} workers answer; traffic for {args.minutes:g} min")
                rss_start = worker_rss(master)
                waits_before = pool_waits(base_url)
                started = time.monotonic()
                asyncio.run(drive(base_url, args.users, args.minutes * 60, observed))
                elapsed = time.monotonic() - started
                waits_after = pool_waits(base_url)
                still_checked_out = connections_returned(base_url)
                rss_end = worker_rss(master)
                progress("traffic over; stopping the server")
            progress("server stopped")
            in_database = asyncio.run(audit_counts(asyncpg_dsn(database_url)))
        progress("scratch database dropped")
    finally:
        clear_redis(args.redis_url, prefix)

    requests = sum(len(values) for values in observed.latencies.values())
    print(
        f"\nsoak: {args.workers} workers, {args.users} virtual users, {elapsed:.0f} s, "
        f"{observed.iterations} rounds, {requests} requests ({requests / elapsed:.0f}/s)\n"
    )
    print(
        table(
            ("route", "requests", "errors", "p50 ms", "p99 ms"),
            [
                (
                    route,
                    len(values),
                    sum(n for what, n in observed.errors.items() if what.startswith(route + " ")),
                    f"{1000 * statistics.median(values):.1f}",
                    f"{1000 * percentile(values, 0.99):.1f}",
                )
                for route, values in sorted(observed.latencies.items())
            ],
        )
    )
    print()
    print(
        table(
            ("worker pid", "RSS start MB", "RSS end MB"),
            [
                (
                    pid,
                    f"{rss_start[pid]:.0f}" if pid in rss_start else "—",
                    f"{rss_end[pid]:.0f}" if pid in rss_end else "— (gone)",
                )
                for pid in sorted(rss_start.keys() | rss_end.keys())
            ],
        )
    )
    print()
    print(
        table(
            ("pool", "checkouts", "mean wait ms", "p99 wait"),
            [
                (pool, count, f"{mean:.2f}", p99)
                for pool, count, mean, p99 in pool_wait_rows(waits_before, waits_after)
            ],
        )
    )
    print()
    actions = sorted(set(observed.made) | set(in_database))
    mismatches = [action for action in actions if observed.made[action] != in_database[action]]
    print(
        table(
            ("audit action", "changes made", "events in database", ""),
            [
                (
                    action,
                    observed.made[action],
                    in_database[action],
                    "MISMATCH" if action in mismatches else "ok",
                )
                for action in actions
            ],
        )
    )
    errors = sum(observed.errors.values())
    print(
        f"\nerrors: {errors}; revoked access tokens refused (expected 401): "
        f"{observed.revoked_refused}"
    )
    for sample in observed.samples:
        print(f"  {sample}")
    print(f"connections still checked out of the pool after the traffic: {still_checked_out:g}")
    # A worker that is not the one measured at the start died and was replaced: a crash.
    restarted = rss_start.keys() != rss_end.keys()
    if restarted:
        print("a worker was replaced during the soak (see the server log)")
    failed = (
        errors > 0
        or bool(mismatches)
        or restarted
        or still_checked_out > 0
        or observed.iterations == 0
    )
    if failed:
        print(f"FAILED; the server's log is in {log}")
    else:
        shutil.rmtree(log_folder, ignore_errors=True)
        print("OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
