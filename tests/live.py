"""Real server processes for tests about processes: `tenantry serve` on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET

TENANTRY = Path(sys.executable).with_name("tenantry")
START_TIMEOUT = 90  # seconds; workers import slowly when the two cores are busy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    """A started `tenantry serve`: its base URL, and its process for tests that signal it."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def worker_pids(self) -> list[int]:
        """With `--workers N`, the worker processes uvicorn spawned (Linux /proc)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        workers = []
        for child in children:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:
                continue  # exited meanwhile
            if b"spawn_main" in cmdline:
                workers.append(int(child))
        return workers


@contextmanager
def live_server(
    database_url: str, cwd: Path, *, workers: int = 1, **env_overrides: str
) -> Iterator[str]:
    """Start `tenantry serve` and yield its base URL once `/healthz` answers."""
    with live_server_process(database_url, cwd, workers=workers, **env_overrides) as server:
        yield server.url


@contextmanager
def live_server_process(
    database_url: str, cwd: Path, *, workers: int = 1, **env_overrides: str
) -> Iterator[LiveServer]:
    """`live_server`, yielding the process as well as the URL."""
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "WARNING",
        **env_overrides,
    }
    log_path = cwd / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(TENANTRY), "serve", "--port", str(port), "--workers", str(workers)],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log_path.read_text()}")
            time.sleep(0.1)
        yield LiveServer(url=base_url, process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
