"""The `tenantry` command and the real server process (DESIGN.md §8, §9): `serve` migrates
the embedded database and answers over real HTTP, the operator commands work, and
unsafe production settings refuse to start."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from tenantry.config import DEV_SECRET_FILE, Settings
from tenantry.migrations import alembic_config
from tests.conftest import PASSWORD, TEST_SECRET

TENANTRY = Path(sys.executable).with_name("tenantry")
OPERATOR_EMAIL = "ops@example.com"
OPERATOR_PASSWORD = "operator passphrase for the cli test"


def clean_environment(**values: str) -> dict[str, str]:
    """The caller's environment without any Tenantry setting, plus `values`."""
    names = {name.upper() for name in Settings.model_fields}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in names and key.removesuffix("_FILE") not in names
    }
    env.pop("TEST_DATABASE_URL", None)
    env.update(values)
    return env


def server_environment(database_url: str, **values: str) -> dict[str, str]:
    return clean_environment(
        ENVIRONMENT="test",
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET,
        BCRYPT_ROUNDS="4",
        LOG_LEVEL="WARNING",
        **values,
    )


def run_tenantry(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TENANTRY), *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    database: Path
    env: dict[str, str]
    cwd: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cwd = tmp_path_factory.mktemp("serve")
    database = cwd / "served.db"
    env = server_environment(f"sqlite+aiosqlite:///{database}")
    port = free_port()
    log = cwd / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(TENANTRY), "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"tenantry serve exited: {log.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"tenantry serve did not answer: {log.read_text()}")
            time.sleep(0.1)
        yield Server(base_url, process, log, database, env, cwd)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_serve_migrates_sqlite_and_answers_register_login_me(server: Server) -> None:
    assert server.database.is_file()  # created and migrated by `serve` itself
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        registered = http.post(
            "/auth/register", json={"email": " Live@Example.com", "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        login = http.post("/auth/login", json={"email": "live@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = http.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["id"] == registered.json()["id"]
        assert me.headers["cache-control"] == "no-store"
        for response in (registered, login, me):
            assert "server" not in response.headers
            assert response.headers["x-content-type-options"] == "nosniff"
        ready = http.get("/readyz")
        assert ready.status_code == 200
        missing = http.get("/users/me")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"


def test_create_superuser_can_list_users(server: Server) -> None:
    created = run_tenantry(
        "create-superuser",
        "--email",
        " Ops@Example.com ",
        "--password-stdin",
        env=server.env,
        cwd=server.cwd,
        stdin=OPERATOR_PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    assert OPERATOR_EMAIL in created.stdout
    assert OPERATOR_PASSWORD not in created.stdout + created.stderr

    again = run_tenantry(
        "create-superuser",
        "--email",
        OPERATOR_EMAIL,
        "--password-stdin",
        env=server.env,
        cwd=server.cwd,
        stdin=OPERATOR_PASSWORD + "\n",
    )
    assert again.returncode != 0
    assert "already exists" in again.stderr

    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        login = http.post(
            "/auth/login", json={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        users = http.get("/users", headers=headers)
        assert users.status_code == 200, users.text
        emails = {user["email"] for user in users.json()["items"]}
        assert OPERATOR_EMAIL in emails
        me = http.get("/users/me", headers=headers)
        assert me.json()["is_superuser"] is True


def test_server_stops_cleanly_on_sigterm(server: Server) -> None:
    # Last of the tests on the shared server: it ends it. uvicorn shuts down gracefully,
    # then re-raises the signal, so the exit status says "terminated by SIGTERM".
    server.process.terminate()
    assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "ERROR" not in log


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    env = server_environment(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    upgraded = run_tenantry("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    current = run_tenantry("db", "current", env=env, cwd=tmp_path)
    assert current.returncode == 0, current.stderr
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert f"{head} (head)" in current.stdout


@pytest.mark.parametrize(
    ("secret", "message"),
    [(None, "SECRET_KEY is required"), ("too-short-key", "at least 32 bytes")],
)
def test_production_refuses_to_serve_without_a_strong_secret(
    tmp_path: Path, secret: str | None, message: str
) -> None:
    env = clean_environment(
        ENVIRONMENT="production",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}",
        LOG_LEVEL="WARNING",
    )
    if secret is not None:
        env["SECRET_KEY"] = secret
    result = run_tenantry("serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if secret is not None:
        assert secret not in result.stderr
    assert not (tmp_path / DEV_SECRET_FILE).exists()
    assert not (tmp_path / "prod.db").exists()  # refused before touching the database


def test_development_key_is_generated_once_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SECRET_KEY", "SECRET_KEY_FILE", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    first = Settings(_env_file=None)
    assert first.environment == "development"
    key = first.signing_secret
    assert len(key) >= 32
    key_file = tmp_path / DEV_SECRET_FILE
    assert key_file.is_file()
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    second = Settings(_env_file=None)
    assert second.signing_secret == key


def test_openapi_prints_the_document_with_a_development_key_kept_across_runs(
    tmp_path: Path,
) -> None:
    # Development without SECRET_KEY: the first run writes the key file, the next reuses it.
    env = clean_environment(
        ENVIRONMENT="development",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}",
        LOG_LEVEL="WARNING",
    )
    first = run_tenantry("openapi", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["openapi"].startswith("3.")
    assert "/auth/login" in document["paths"]
    assert "/users/me" in document["paths"]
    key = (tmp_path / DEV_SECRET_FILE).read_text()
    assert len(key) >= 32

    second = run_tenantry("openapi", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["paths"].keys() == document["paths"].keys()
    assert (tmp_path / DEV_SECRET_FILE).read_text() == key
