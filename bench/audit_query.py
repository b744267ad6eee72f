"""How the audit query API's queries scale: page 1 against a deep page, with and without
filters, on PostgreSQL holding a million events (DESIGN.md §5: "a deep page costs what
the first page costs").

    .venv/bin/python bench/audit_query.py [--events 1000000] [--repeat 25]

It creates a scratch database on 127.0.0.1, migrates it with the project's Alembic
migrations, COPYs the events in, runs the exact statements `audit.service.events_query`
builds, prints median latencies, the deep/first ratios and each plan's shape (index
used, whether anything is sorted), and drops the database. A benchmark prints figures;
it asserts nothing. Ratios, not absolute times, are what a shared machine can compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql

from tenantry.audit.schemas import AuditFilters
from tenantry.audit.service import events_query
from tenantry.cli import upgrade_database
from tenantry.config import Settings
from tenantry.pagination import PageParams

ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PAGE = 50
# (action, weight): sign-ins dominate a real trail; `org.updated` is rare.
ACTIONS = [
    ("auth.login.succeeded", 40),
    ("auth.login.failed", 12),
    ("auth.logout", 10),
    ("auth.session.revoked", 3),
    ("product.updated", 12),
    ("product.created", 8),
    ("product.deleted", 2),
    ("member.added", 3),
    ("member.role_changed", 2),
    ("access.denied", 5),
    ("invitation.created", 2),
    ("org.updated", 1),
]


@dataclass(frozen=True)
class Seeded:
    big_org: uuid.UUID
    small_org: uuid.UUID
    busy_actor: uuid.UUID
    start: datetime
    end: datetime


def uuid7_at(moment: datetime, rng: random.Random) -> uuid.UUID:
    millis = int(moment.timestamp() * 1000)
    value = (millis & ((1 << 48) - 1)) << 80 | rng.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value)


async def seed(connection: asyncpg.Connection, count: int) -> Seeded:
    """`count` events over a year, in time order. 60 % belong to one big organization,
    the rest to 200 others or to none (sign-ins); 1,000 users act."""
    rng = random.Random(7)  # noqa: S311 - reproducible test data, not secrets
    big_org = uuid.uuid4()
    other_orgs = [uuid.uuid4() for _ in range(200)]
    actors = [uuid.uuid4() for _ in range(1000)]
    names = [name for name, _ in ACTIONS]
    weights = [weight for _, weight in ACTIONS]
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=365)
    step = (end - start) / count
    batch: list[tuple[Any, ...]] = []
    columns = [
        "id", "occurred_at", "action", "outcome", "actor_user_id", "organization_id",
        "target_type", "target_id", "ip", "user_agent", "request_id", "details",
    ]  # fmt: skip
    started = time.perf_counter()
    actions = rng.choices(names, weights, k=count)
    for index, action in enumerate(actions):
        moment = start + step * index
        roll = rng.random()
        organization = big_org if roll < 0.6 else (rng.choice(other_orgs) if roll < 0.9 else None)
        # A power-law-ish actor: a few users cause most events.
        actor = actors[min(int(rng.paretovariate(1.2)) - 1, len(actors) - 1)]
        batch.append(
            (
                uuid7_at(moment, rng),
                moment,
                action,
                "failure" if action in {"auth.login.failed", "access.denied"} else "success",
                actor,
                organization,
                "product",
                str(index),
                "198.51.100.7",
                "Mozilla/5.0 (bench)",
                uuid.uuid4().hex,
                json.dumps({"n": index}),
            )
        )
        if len(batch) == 50_000 or index == count - 1:
            await connection.copy_records_to_table("audit_events", records=batch, columns=columns)
            batch.clear()
            print(f"\r  seeded {index + 1:>10,} events", end="", flush=True)
    print(f"  in {time.perf_counter() - started:.1f} s")
    await connection.execute("VACUUM ANALYZE audit_events")
    return Seeded(
        big_org=big_org, small_org=other_orgs[0], busy_actor=actors[0], start=start, end=end
    )


def compile_query(filters: AuditFilters, after: uuid.UUID | None) -> tuple[str, list[Any]]:
    statement = events_query(filters=filters, page=PageParams(limit=PAGE, after=after))
    compiled = statement.compile(dialect=postgresql.asyncpg.dialect())
    params = [compiled.params[name] for name in compiled.positiontup or []]
    return str(compiled), params


async def deep_cursor(
    connection: asyncpg.Connection, filters: AuditFilters, depth: int
) -> tuple[uuid.UUID | None, int]:
    """The cursor a client holds after reading `depth` events (or as deep as there are)."""
    total_sql, total_params = compile_query(filters, None)
    # Our own compiled statement without its LIMIT; every value stays a bound parameter.
    unlimited, params = total_sql.rsplit("LIMIT", 1)[0], total_params[:-1]
    count_sql = f"SELECT count(*) FROM ({unlimited}) AS q"  # noqa: S608
    total = await connection.fetchval(count_sql, *params)
    target = min(depth, max(total - PAGE, 0))
    if target == 0:
        return None, 0
    sql = f"SELECT id FROM ({unlimited}) AS q OFFSET ${len(params) + 1} LIMIT 1"  # noqa: S608
    cursor = await connection.fetchval(sql, *params, target - 1)
    return cursor, target


async def median_ms(connection: asyncpg.Connection, sql: str, params: list[Any], n: int) -> float:
    statement = await connection.prepare(sql)
    await statement.fetch(*params)  # warm the cache and the plan
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        await statement.fetch(*params)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def plan_shape(connection: asyncpg.Connection, sql: str, params: list[Any]) -> str:
    rows = await connection.fetch(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *params)
    plan = json.loads(rows[0][0])[0]["Plan"]
    indexes: list[str] = []
    sorted_rows = False
    scanned = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal sorted_rows, scanned
        if "Index Name" in node:
            indexes.append(node["Index Name"].removeprefix("ix_audit_events_"))
        if node["Node Type"] in {"Sort", "Incremental Sort"}:
            sorted_rows = True
        if node["Node Type"].endswith("Scan"):
            scanned += int(node.get("Actual Rows", 0)) + int(node.get("Rows Removed by Filter", 0))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return (
        f"{'+'.join(indexes) or 'seq scan'}{', SORT' if sorted_rows else ''}, {scanned:,} rows read"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=25, help="runs per query (median)")
    parser.add_argument("--depth", type=int, default=500_000, help="rows before the deep page")
    args = parser.parse_args()

    name = f"tenantry_bench_audit_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    try:
        settings = Settings(
            _env_file=None,
            environment="test",
            database_url=dsn.replace("postgresql://", "postgresql+asyncpg://"),
            secret_key="bench-" + uuid.uuid4().hex * 2,
        )
        await asyncio.to_thread(upgrade_database, settings)
        connection = await asyncpg.connect(dsn)
        try:
            print(f"database {name}: seeding {args.events:,} audit events")
            seeded = await seed(connection, args.events)
            await report(connection, seeded, args)
        finally:
            await connection.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        print(f"dropped {name}")


async def report(connection: asyncpg.Connection, seeded: Seeded, args: argparse.Namespace) -> None:
    middle = seeded.start + (seeded.end - seeded.start) / 2
    org = seeded.big_org
    scenarios = [
        ("org", AuditFilters(organization_id=org)),
        ("org + action (common)", AuditFilters(organization_id=org, action="auth.login.succeeded")),
        ("org + action (rare)", AuditFilters(organization_id=org, action="org.updated")),
        ("org + action prefix", AuditFilters(organization_id=org, action="product.*")),
        ("org + actor", AuditFilters(organization_id=org, actor=seeded.busy_actor)),
        ("org + since/until 30 d", AuditFilters(
            organization_id=org, since=middle, until=middle + timedelta(days=30))),
        ("small org (0.15 %)", AuditFilters(organization_id=seeded.small_org)),
        ("small org + action", AuditFilters(
            organization_id=seeded.small_org, action="auth.login.succeeded")),
        ("platform", AuditFilters()),
        ("platform + actor", AuditFilters(actor=seeded.busy_actor)),
        ("platform + action", AuditFilters(action="auth.login.failed")),
    ]  # fmt: skip
    header = f"{'query':<26} {'page 1 ms':>10} {'deep ms':>9} {'depth':>9} {'deep/1':>7}  plan"
    print(f"\nmedian of {args.repeat} runs, {PAGE} events a page\n{header}\n{'-' * len(header)}")
    for label, filters in scenarios:
        first_sql, first_params = compile_query(filters, None)
        cursor, depth = await deep_cursor(connection, filters, args.depth)
        deep_sql, deep_params = compile_query(filters, cursor)
        first = await median_ms(connection, first_sql, first_params, args.repeat)
        deep = await median_ms(connection, deep_sql, deep_params, args.repeat)
        print(
            f"{label:<26} {first:>10.2f} {deep:>9.2f} {depth:>9,} {deep / first:>6.2f}x"
            f"  1: {await plan_shape(connection, first_sql, first_params)}"
        )
        print(f"{'':<63}  deep: {await plan_shape(connection, deep_sql, deep_params)}")
    print(
        "\ndeep/1 near 1x means a deep page costs what the first one does; "
        "'rows read' counts index and heap rows visited, including those filtered out."
    )


if __name__ == "__main__":
    asyncio.run(main())
