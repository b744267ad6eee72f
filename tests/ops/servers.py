"""Real processes for the operations tests: `tenantry serve` with full control of
its environment, started in parallel, stopped with SIGTERM as an orchestrator would."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import TEST_SECRET
from tests.live import TENANTRY, free_port

START_TIMEOUT = 90  # seconds; workers import slowly when the two cores are busy
# Settings a developer's shell may carry that must not leak into a server under test.
LEAKY_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "ENVIRONMENT",
    "TRUSTED_PROXIES",
    "METRICS_TOKEN",
    "PROMETHEUS_MULTIPROC_DIR",
    "FORWARDED_ALLOW_IPS",
)


@dataclass
class Server:
    """One `tenantry serve` process and where it answers."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited ({self.process.returncode}):\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{self.log()}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as Docker and Kubernetes stop a container; SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def server_env(database_url: str, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in LEAKY_VARIABLES}
    env.update(
        {
            "ENVIRONMENT": "test",
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET,
            "BCRYPT_ROUNDS": "4",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value != ""}


def start_server(
    cwd: Path, env: dict[str, str], *, workers: int = 1, extra_args: Sequence[str] = ()
) -> Server:
    port = free_port()
    log_path = cwd / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(TENANTRY),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                *extra_args,
            ],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(process=process, port=port, log_path=log_path, env=env)


@contextmanager
def running_servers(
    cwd: Path, envs: Sequence[dict[str, str]], *, workers: int = 1
) -> Iterator[list[Server]]:
    """Start every server at once (start-up is the slow part), yield when all answer."""
    with ExitStack() as stack:
        servers = []
        for env in envs:
            server = start_server(cwd, env, workers=workers)
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_ready()
        yield servers


@contextmanager
def running_server(cwd: Path, env: dict[str, str], *, workers: int = 1) -> Iterator[Server]:
    with running_servers(cwd, [env], workers=workers) as (server,):
        yield server


def query(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Read the database the servers wrote, the way an operator would check it."""

    async def run() -> list[tuple[Any, ...]]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                result = await connection.execute(text(sql), params)
                return [tuple(row) for row in result]
        finally:
            await engine.dispose()

    return asyncio.run(run())
