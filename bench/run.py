"""Tenantry's benchmark suite: one command, one table (see bench/README.md).

    .venv/bin/python bench/run.py [--workers 1] [--duration 10] [--scenarios me,floor,...]

It creates a scratch PostgreSQL database, migrates and seeds it, starts the service
(and the bare `floor` app) with uvicorn, drives each scenario with wrk (Debian's
package) from a second process, prints one table of figures and ratios against the
targets of issue 8, and drops the database. Ratios, not absolute times, are what a
shared, noisy machine can compare. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import bcrypt
import httpx
from scratch import DEFAULT_SERVER, asyncpg_dsn, scratch_database

from tenantry.config import Settings
from tenantry.db import uuid7
from tenantry.security.jwt import TokenSigner
from tenantry.security.tokens import RefreshTokenCodec

ROOT = Path(__file__).resolve().parent.parent

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD = "bench password 2026"
BIN = Path(sys.executable).parent
SCENARIOS = [
    "floor",
    "template",
    "me",
    "login",
    "storm",
    "refresh",
    "products",
    "enumeration",
    "memory",
]
OWNER_ROLE = "00000000-0000-7000-8000-000000000001"

WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "WRK_JSON {\\"requests\\": %d, \\"seconds\\": %f, \\"errors\\": %d, \\"p50\\": %f, \\"p99\\": %f}\\n",
    summary.requests, summary.duration / 1e6, errors,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""

ROTATING_HEADER = """
local values = {}
for line in io.lines("%(file)s") do values[#values + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  local value = values[(counter %% #values) + 1]
  %(body)s
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk_script(tmp: Path, name: str, values: list[str] | None, body: str) -> Path:
    script = tmp / f"{name}.lua"
    text = ""
    if values is not None:
        data = tmp / f"{name}.txt"
        data.write_text("\n".join(values) + "\n")
        text += ROTATING_HEADER % {"file": data, "body": body}
    else:
        text += f"request = function()\n  {body}\nend\n"
    script.write_text(text + WRK_REPORT)
    return script


def run_wrk(
    url: str, script: Path, *, duration: int, connections: int, threads: int = 2
) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "--timeout",
            "10s",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"WRK_JSON (\{.*\})", out)
    if match is None:
        raise RuntimeError(out)
    figures: dict[str, float] = json.loads(match.group(1))
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


@contextmanager
def server(
    command: list[str], env: dict[str, str], port: int, log: Path, *, start_timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/users/me", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log.read_text()) from None
                time.sleep(0.2)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def worker_rss(master: subprocess.Popen[bytes]) -> dict[int, float]:
    """Resident memory in MB of the processes serving requests, by pid: the workers, or
    the master when it serves alone. multiprocessing's resource tracker, also a child of
    the master, serves nothing and is left out."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    pids = [
        int(pid)
        for pid in children
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ] or [master.pid]
    sizes = {}
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+)", status)
        if found is None:
            raise RuntimeError(f"process {pid} reports no resident memory")
        sizes[pid] = int(found.group(1)) / 1024
    return sizes


def worker_rss_mb(master: subprocess.Popen[bytes]) -> list[float]:
    return list(worker_rss(master).values())


async def seed(
    dsn: str, settings: Settings, *, users: int, refresh_sessions: int, products: int
) -> dict[str, Any]:
    signer = TokenSigner(settings)
    codec = RefreshTokenCodec(settings.signing_secret)
    password_hash = bcrypt.hashpw(
        PASSWORD.encode(), bcrypt.gensalt(settings.bcrypt_rounds)
    ).decode()
    now = datetime.now(UTC)
    user_rows = [(uuid7(), f"bench-{n}@example.com", password_hash, now) for n in range(users)]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "users",
            records=[
                (uid, email, h, None, True, False, None, t, 0, t, t)
                for uid, email, h, t in user_rows
            ],
            columns=[
                "id",
                "email",
                "password_hash",
                "full_name",
                "is_active",
                "is_superuser",
                "email_verified_at",
                "password_changed_at",
                "failed_login_count",
                "created_at",
                "updated_at",
            ],
        )
        sessions = []

        def new_session(uid: uuid.UUID) -> uuid.UUID:
            sid = uuid7()
            expires = now + timedelta(days=30)
            sessions.append((sid, uid, now, now, expires, None, None, "127.0.0.1", "bench", 0, now))
            return sid

        access_tokens = [
            signer.issue(user_id=uid, session_id=new_session(uid)) for uid, *_rest in user_rows
        ]
        refresh_tokens = [
            codec.encode(new_session(user_rows[n % users][0]), 0) for n in range(refresh_sessions)
        ]
        await connection.copy_records_to_table(
            "sessions",
            records=sessions,
            columns=[
                "id",
                "user_id",
                "created_at",
                "last_used_at",
                "expires_at",
                "revoked_at",
                "revoked_reason",
                "ip",
                "user_agent",
                "refresh_counter",
                "refreshed_at",
            ],
        )
        org_id = uuid7()
        owner = user_rows[0][0]
        await connection.execute(
            "INSERT INTO organizations (id, name, slug, created_by, created_at, updated_at) VALUES ($1, 'Bench', 'bench', $2, $3, $3)",
            org_id,
            owner,
            now,
        )
        await connection.execute(
            "INSERT INTO memberships (user_id, organization_id, role_id, created_at) VALUES ($1, $2, $3, $4)",
            owner,
            org_id,
            uuid.UUID(OWNER_ROLE),
            now,
        )
        product_ids = [uuid7() for _ in range(products)]
        await connection.copy_records_to_table(
            "products",
            records=[
                (
                    pid,
                    org_id,
                    f"Product {n}",
                    None,
                    f"SKU-{n}",
                    1000 + n,
                    "EUR",
                    True,
                    1,
                    owner,
                    now,
                    now,
                )
                for n, pid in enumerate(product_ids)
            ],
            columns=[
                "id",
                "organization_id",
                "name",
                "description",
                "sku",
                "price_cents",
                "currency",
                "is_active",
                "version",
                "created_by",
                "created_at",
                "updated_at",
            ],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return {
        "access_tokens": access_tokens,
        "owner_token": access_tokens[0],
        "refresh_tokens": refresh_tokens,
        "emails": [email for _uid, email, *_ in user_rows],
        "org_id": str(org_id),
        "deep_after": product_ids[10_000 - 1] if products > 10_000 else product_ids[-1],
    }


def bcrypt_verify_seconds(rounds: int, samples: int = 5) -> float:
    hashed = bcrypt.hashpw(b"x" * 16, bcrypt.gensalt(rounds))
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        bcrypt.checkpw(b"x" * 16, hashed)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def bcrypt_parallel_rate(rounds: int, threads: int, seconds: float = 6.0) -> float:
    """Verifies per second with every core hashing at once (bcrypt releases the GIL):
    what the machine really gives, where `cores ÷ verify time` assumes perfect scaling."""
    hashed = bcrypt.hashpw(b"x" * 16, bcrypt.gensalt(rounds))
    deadline = time.perf_counter() + seconds
    counts = [0] * threads

    def work(index: int) -> None:
        while time.perf_counter() < deadline:
            bcrypt.checkpw(b"x" * 16, hashed)
            counts[index] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    return sum(counts) / (time.perf_counter() - started)


def enumeration_medians(base: str, real_emails: list[str], samples: int) -> tuple[float, float]:
    unknown, wrong = [], []
    with httpx.Client(base_url=base, timeout=120) as client:
        for n in range(samples):
            for target, email in (
                (unknown, f"nobody-{n}-{uuid.uuid4().hex[:6]}@example.com"),
                (wrong, real_emails[n]),
            ):
                started = time.perf_counter()
                response = client.post(
                    "/auth/login", json={"email": email, "password": "wrong password 1"}
                )
                target.append(time.perf_counter() - started)
                assert response.status_code == 401, response.text
    return statistics.median(unknown), statistics.median(wrong)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating floor/me runs; the best is kept"
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--bcrypt-rounds", type=int, default=12)
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument("--server-url", default=DEFAULT_SERVER)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    scenarios = args.scenarios.split(",")
    results: dict[str, Any] = {}
    with scratch_database(args.server_url, "tenantry_bench") as database_url:
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            secret_key=SECRET,
            bcrypt_rounds=args.bcrypt_rounds,
        )
        data = asyncio.run(
            seed(
                asyncpg_dsn(database_url),
                settings,
                users=2000,
                refresh_sessions=40_000,
                products=20_000,
            )
        )
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMITS_ENABLED": "false",
            "BCRYPT_ROUNDS": str(args.bcrypt_rounds),
            "LOGIN_MAX_FAILURES": "1000000",
            "LOGIN_MAX_CONSECUTIVE_FAILURES": "1000000",
        }
        tmp = Path(tempfile.mkdtemp(prefix="tenantry-bench-"))
        bearer_body = 'return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. value})'
        me_script = wrk_script(tmp, "me", data["access_tokens"], bearer_body)

        def run(url: str, script: Path, **kw: Any) -> dict[str, float]:
            kw.setdefault("duration", args.duration)
            kw.setdefault("connections", args.connections)
            return run_wrk(url, script, **kw)

        floor_port = free_port()
        floor_command = [
            str(BIN / "uvicorn"),
            "floor_app:app",
            "--port",
            str(floor_port),
            "--workers",
            str(args.workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            "--app-dir",
            str(ROOT / "bench"),
        ]
        template_port = free_port()
        template_command = [floor_command[0], "template_app:app", *floor_command[2:]]
        template_command[template_command.index(str(floor_port))] = str(template_port)
        port = free_port()
        command = [
            str(BIN / "tenantry"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ]
        with ExitStack() as servers:
            # Both servers run side by side (an idle one costs nothing), so `floor` and
            # `me` alternate: a noisy neighbour slows both rather than one of them.
            floor_url = f"http://127.0.0.1:{floor_port}/users/me"
            template_url = f"http://127.0.0.1:{template_port}/users/me"
            if "floor" in scenarios:
                servers.enter_context(server(floor_command, env, floor_port, tmp / "floor.log"))
            if "template" in scenarios:
                servers.enter_context(
                    server(template_command, env, template_port, tmp / "template.log")
                )
            process = servers.enter_context(server(command, env, port, tmp / "tenantry.log"))
            base = f"http://127.0.0.1:{port}"
            paired = [
                (name, url)
                for name, url in (
                    ("floor", floor_url),
                    ("template", template_url),
                    ("me", f"{base}/users/me"),
                )
                if name in scenarios
            ]
            for _name, url in paired:
                run(url, me_script, duration=3)  # warm up
            for _round in range(args.rounds):
                for name, url in paired:
                    figures = run(url, me_script)
                    # The best round: the one the machine disturbed least.
                    if name not in results or figures["rps"] > results[name]["rps"]:
                        results[name] = figures
            login_body = (
                'return wrk.format("POST", "/auth/login", {["Content-Type"] = "application/json"}, '
                f'\'{{"email": "\' .. value .. \'", "password": "{PASSWORD}"}}\')'
            )
            login_script = wrk_script(tmp, "login", data["emails"], login_body)
            if "login" in scenarios:
                # A few more connections than cores keep every hashing thread busy; far more
                # only lengthens the queue (and wrk's timeouts count as errors).
                # Measured next to the run: this machine's speed drifts within minutes.
                before = bcrypt_verify_seconds(args.bcrypt_rounds)
                # 20 s at least: a login takes ~1 s in the queue, and the requests cut
                # off at both ends of a short run weigh several percent.
                results["login"] = run(
                    f"{base}/auth/login",
                    login_script,
                    connections=8,
                    duration=max(args.duration, 20),
                )
                after = bcrypt_verify_seconds(args.bcrypt_rounds)
                results["login_verify_s"] = (before + after) / 2
                results["login_parallel_rate"] = bcrypt_parallel_rate(
                    args.bcrypt_rounds, os.cpu_count() or 1
                )
            if "storm" in scenarios:
                storm = subprocess.Popen(
                    [
                        "wrk",
                        "-t1",
                        "-c16",
                        f"-d{args.duration + 4}s",
                        "-s",
                        str(login_script),
                        f"{base}/auth/login",
                    ],
                    stdout=subprocess.DEVNULL,
                )
                time.sleep(2)
                results["storm"] = run(f"{base}/users/me", me_script, threads=1)
                storm.wait()
                time.sleep(5)  # let the server drain the logins still queued
            if "refresh" in scenarios:
                refresh_body = (
                    'return wrk.format("POST", "/auth/token", '
                    '{["Content-Type"] = "application/x-www-form-urlencoded"}, '
                    '"grant_type=refresh_token&refresh_token=" .. value)'
                )
                refresh_script = wrk_script(tmp, "refresh", data["refresh_tokens"], refresh_body)
                results["refresh"] = run(
                    f"{base}/auth/token", refresh_script, duration=min(args.duration, 10)
                )
            if "products" in scenarios:
                org = data["org_id"]
                auth = f'{{["Authorization"] = "Bearer {data["owner_token"]}"}}'
                first = wrk_script(
                    tmp, "products-first", None, f'return wrk.format("GET", nil, {auth})'
                )
                from tenantry.pagination import encode_cursor

                deep_cursor = encode_cursor(data["deep_after"])
                results["products_first"] = run(
                    f"{base}/organizations/{org}/products?limit=50", first
                )
                results["products_deep"] = run(
                    f"{base}/organizations/{org}/products?limit=50&cursor={deep_cursor}", first
                )
                create_body = (
                    f'return wrk.format("POST", "/organizations/{org}/products", '
                    f'{{["Authorization"] = "Bearer {data["owner_token"]}", ["Content-Type"] = "application/json"}}, '
                    '\'{"name": "Bench product", "price_cents": 1999, "currency": "EUR"}\')'
                )
                create = wrk_script(tmp, "products-create", None, create_body)
                results["products_create"] = run(
                    f"{base}/organizations/{org}/products", create, duration=min(args.duration, 5)
                )
            if "enumeration" in scenarios:
                unknown, wrong = enumeration_medians(base, data["emails"][100:], samples=40)
                results["enumeration"] = {"unknown_ms": unknown * 1000, "wrong_ms": wrong * 1000}
            if "memory" in scenarios:
                before = worker_rss_mb(process)
                done = 0
                midpoints = []
                while done < args.memory_requests:
                    figures = run(f"{base}/users/me", me_script, duration=5)
                    done += int(figures["requests"])
                    midpoints.append(max(worker_rss_mb(process)))
                results["memory"] = {
                    "before": max(before),
                    "after": max(worker_rss_mb(process)),
                    "samples": midpoints,
                    "requests": done,
                }
        results["bcrypt_verify_s"] = bcrypt_verify_seconds(args.bcrypt_rounds)
    report(results, args)


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    cores = os.cpu_count() or 1
    rows: list[tuple[str, str, str, str]] = []

    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    floor, template, me = results.get("floor"), results.get("template"), results.get("me")
    if floor:
        rows.append(
            (
                "floor GET /users/me",
                f"{floor['rps']:.0f} req/s, p99 {floor['p99']:.1f} ms",
                "ceiling",
                "",
            )
        )
    if template:
        rows.append(
            (
                "template GET /users/me",
                f"{template['rps']:.0f} req/s, p99 {template['p99']:.1f} ms, errors {template['errors']:.0f}",
                "reference: 686 req/s there",
                "",
            )
        )
    if me:
        rows.append(
            (
                "me GET /users/me",
                f"{me['rps']:.0f} req/s, p50 {me['p50']:.1f} ms, p99 {me['p99']:.1f} ms, errors {me['errors']:.0f}",
                "≥ 3×686 req/s per worker",
                mark(me["rps"] / args.workers >= 3 * 686),
            )
        )
        rows.append(
            ("me p99 at 32 connections", f"{me['p99']:.1f} ms", "≤ 25 ms", mark(me["p99"] <= 25))
        )
        if floor:
            ratio = me["rps"] / floor["rps"]
            rows.append(("me ÷ floor throughput", f"{ratio:.2f}", "≥ 0.60", mark(ratio >= 0.6)))
        if template:
            ratio = me["rps"] / template["rps"]
            rows.append(
                (
                    "me ÷ template, same run",
                    f"{ratio:.1f}",
                    "≥ 3 (the 3×686 target)",
                    mark(ratio >= 3),
                )
            )
    if "login" in results:
        ceiling = cores / results["login_verify_s"]
        ratio = results["login"]["rps"] / ceiling
        rows.append(
            (
                "login POST /auth/login",
                f"{results['login']['rps']:.1f} req/s of a {ceiling:.1f}/s ceiling ({ratio:.2f}), errors {results['login']['errors']:.0f}",
                "≥ 0.95 of cores ÷ bcrypt verify",
                mark(ratio >= 0.95),
            )
        )
        parallel = results["login_parallel_rate"]
        rows.append(
            (
                "bcrypt on every core at once",
                f"{parallel:.1f}/s: login = {results['login']['rps'] / parallel:.2f} of it",
                "(figure)",
                "",
            )
        )
    if "storm" in results:
        storm = results["storm"]
        rows.append(
            (
                "storm: me p99 during logins",
                f"{storm['p99']:.1f} ms ({storm['rps']:.0f} req/s)",
                "≤ 50 ms",
                mark(storm["p99"] <= 50),
            )
        )
    if "refresh" in results:
        refresh = results["refresh"]
        rows.append(
            (
                "refresh grant",
                f"{refresh['rps']:.0f} req/s, p99 {refresh['p99']:.1f} ms, errors {refresh['errors']:.0f}",
                "(figure)",
                "",
            )
        )
    if "products_first" in results:
        first, deep = results["products_first"], results["products_deep"]
        ratio = deep["p50"] / first["p50"]
        rows.append(
            (
                "products page 1 / page 10,000 rows deep",
                f"{first['p50']:.1f} ms / {deep['p50']:.1f} ms (p50)",
                "deep ÷ first ≤ 1.3",
                mark(ratio <= 1.3) + f" ({ratio:.2f})",
            )
        )
        create = results["products_create"]
        rows.append(
            (
                "products create",
                f"{create['rps']:.0f} req/s, p99 {create['p99']:.1f} ms, errors {create['errors']:.0f}",
                "(figure)",
                "",
            )
        )
    if "enumeration" in results:
        enum = results["enumeration"]
        ratio = enum["unknown_ms"] / enum["wrong_ms"]
        rows.append(
            (
                "enumeration unknown ÷ wrong password",
                f"{enum['unknown_ms']:.0f} ms / {enum['wrong_ms']:.0f} ms = {ratio:.2f}",
                "0.9 – 1.1",
                mark(0.9 <= ratio <= 1.1),
            )
        )
    if "memory" in results:
        memory = results["memory"]
        growing = memory["samples"][-1] > memory["samples"][len(memory["samples"]) // 2] * 1.05
        rows.append(
            (
                "memory per worker",
                f"{memory['before']:.0f} → {memory['after']:.0f} MB after {memory['requests']} requests",
                "≤ 150 MB, not growing",
                mark(memory["after"] <= 150 and not growing),
            )
        )
    rows.append(
        (
            f"bcrypt verify (cost {args.bcrypt_rounds})",
            f"{results['bcrypt_verify_s'] * 1000:.0f} ms",
            "",
            "",
        )
    )
    width = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("scenario", "figure", "target", "")
    print(
        f"\nTenantry benchmark — {args.workers} worker(s), {args.connections} connections, {cores} cores, PostgreSQL"
    )
    for row in [header, tuple("-" * w for w in width), *rows]:
        print(" | ".join(cell.ljust(width[i]) for i, cell in enumerate(row)))
    print("\nRAW " + json.dumps(results, default=str))


if __name__ == "__main__":
    main()
