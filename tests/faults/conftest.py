"""Dependencies that fail on purpose: a PostgreSQL cluster and a Redis server of the
fault tests' own, on free ports, that the tests stop, kill and restart.

The shared PostgreSQL and Redis are never touched. These tests run once per CI run, in
its PostgreSQL pass (`TEST_DATABASE_URL=postgresql…`): that pass is the one that
promises PostgreSQL's server binaries are installed, and the fault tests need their own
cluster whatever database the rest of the suite uses. In the SQLite pass they are
skipped with that reason; a PostgreSQL pass without the binaries fails.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis

from tenantry.cli import upgrade_database
from tests.conftest import make_settings
from tests.live import free_port

POSTGRES_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT = 30.0  # seconds, for a server process to accept connections


@pytest.fixture(autouse=True, scope="session")
def _only_in_the_postgresql_pass() -> None:
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("fault tests run in the PostgreSQL pass (TEST_DATABASE_URL=postgresql…)")


def postgres_bindir() -> Path:
    """The newest PostgreSQL server under /usr/lib/postgresql (Debian's layout), or the
    one `PG_BINDIR` names."""
    if configured := os.environ.get("PG_BINDIR"):
        return Path(configured)
    versions = sorted(
        (path for path in POSTGRES_ROOT.glob("*/bin") if (path / "pg_ctl").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not versions:
        pytest.fail(f"no PostgreSQL server in {POSTGRES_ROOT}/*/bin (apt-get install postgresql)")
    return versions[-1]


def _wait_until(condition: object, what: str, timeout: float = START_TIMEOUT) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


class PostgresCluster:
    """A throw-away cluster: trust authentication, listening on 127.0.0.1:<port> only."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        # Not under pytest's private tmp folder: the server user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="tenantry-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root.
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as_user, *args], check=True, capture_output=True, timeout=START_TIMEOUT * 2
        )

    def url(self, database: str = "tenantry") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "tenantry") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            # A test cluster on a shared machine: small, and no waiting on the disk.
            "-c fsync=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=60"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash as far as clients can tell: every backend dies at once."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def ensure_running(self) -> None:
        if not self.is_running():
            self.start()

    async def fetch(
        self, sql: str, *args: object, database: str = "tenantry"
    ) -> list[asyncpg.Record]:
        """Run a statement on a connection of its own, as an operator would."""
        connection = await asyncpg.connect(self.dsn(database))
        try:
            rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
            return rows
        finally:
            await connection.close()

    def destroy(self) -> None:
        if self.is_running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """`redis-server` with no persistence on a free port; killed and restarted on it."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        log = (self.folder / f"redis-{self.port}.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.folder)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_until(self.answers, "redis-server to answer")

    def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, their pooled connections go stale."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(postgres_bindir())
    try:
        cluster.init()
        cluster.start()
        asyncio.run(cluster.fetch("CREATE DATABASE tenantry", database="postgres"))
        upgrade_database(make_settings(cluster.url()))
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def postgres(postgres_cluster: PostgresCluster) -> PostgresCluster:
    """The fault tests' cluster, running at the start of the test whatever the last did."""
    postgres_cluster.ensure_running()
    return postgres_cluster


@pytest.fixture(scope="session")
def redis_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_server(redis_server_session: RedisServer) -> RedisServer:
    redis_server_session.ensure_running()
    return redis_server_session
