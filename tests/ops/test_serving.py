"""`tenantry serve` as an orchestrator runs it: several workers, secrets from files,
and a graceful stop on SIGTERM (DESIGN.md §1.7, §8)."""

from __future__ import annotations

import json
import secrets
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from tests.conftest import PASSWORD, unique_email
from tests.ops.servers import Server, query, running_server, server_env


def worker_pids(parent: int) -> list[int]:
    """The processes whose parent is `parent` (uvicorn's workers)."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:  # exited while we looked
            continue
        if f"\nPPid:\t{parent}\n" in text:
            children.append(int(status.parent.name))
    return children


def test_workers_on_a_fresh_sqlite_database_with_the_secret_from_a_file(tmp_path: Path) -> None:
    secret = secrets.token_urlsafe(48)
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(secret + "\n")  # as `echo` or an editor leaves it
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    env = server_env(database_url, SECRET_KEY="", SECRET_KEY_FILE=str(secret_file))
    assert "SECRET_KEY" not in env

    with running_server(tmp_path, env, workers=2) as server:
        assert len(worker_pids(server.process.pid)) >= 2
        email = unique_email("workers")
        registered = httpx.post(
            f"{server.base_url}/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        tokens = [
            httpx.post(
                f"{server.base_url}/auth/token",
                data={"grant_type": "password", "username": email, "password": PASSWORD},
            )
            for _ in range(4)
        ]
        assert [response.status_code for response in tokens] == [200] * 4

    # Migrated once, before the workers started: one revision row, no races in the log.
    assert len(query(database_url, "SELECT version_num FROM alembic_version")) == 1
    assert "already exists" not in server.log()
    # Signed with the key from the file (the trailing newline stripped), nothing else.
    access_token = tokens[0].json()["access_token"]
    claims = jwt.decode(access_token, secret, algorithms=["HS256"], audience="tenantry-api")
    assert claims["sub"] == registered.json()["id"]


def _start_slow_request(server: Server) -> tuple[socket.socket, bytes]:
    """Send a request's headers and half its body: in flight until the rest arrives."""
    body = json.dumps({"email": unique_email("inflight"), "password": PASSWORD}).encode()
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = (
        "POST /auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    half = len(body) // 2
    connection.sendall(head + body[:half])
    time.sleep(1)  # the server has parsed the headers and started the request
    return connection, body[half:]


def _read_response(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_sigterm_lets_requests_in_flight_finish(settings: Any, tmp_path: Path, app: Any) -> None:
    env = server_env(settings.database_url)
    with running_server(tmp_path, env, workers=2) as server:
        connection, rest = _start_slow_request(server)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        assert server.process.poll() is None, "stopped with a request in flight"
        connection.sendall(rest)
        response = _read_response(connection)
        connection.close()
        assert response.startswith(b"HTTP/1.1 201"), response[:200]
        assert server.process.wait(timeout=30) == 0


def test_shutdown_timeout_bounds_the_wait_for_stuck_requests(
    settings: Any, tmp_path: Path, app: Any
) -> None:
    env = server_env(settings.database_url, SHUTDOWN_TIMEOUT_SECONDS="1")
    with running_server(tmp_path, env, workers=1) as server:
        connection, _never_sent = _start_slow_request(server)
        stopping = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=20)
        waited = time.monotonic() - stopping
        connection.close()
    # It waited for the request (about a second), then gave up long before the
    # 30-second default would have.
    assert 0.9 <= waited < 10, waited
