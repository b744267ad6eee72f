"""HTTPS for real (DESIGN.md §7): Debian's nginx terminates TLS with a certificate made
here, in front of two `tenantry serve` instances, running the shipped
deploy/nginx/tenantry.conf with only its addresses and paths replaced."""

from __future__ import annotations

import os
import re
import secrets
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, unique_email
from tests.live import free_port
from tests.ops.conftest import REPO_ROOT, Certificates, make_certificates
from tests.ops.servers import Server, query, running_servers, server_env

SHIPPED_CONFIG = REPO_ROOT / "deploy" / "nginx" / "tenantry.conf"
HSTS = "max-age=63072000; includeSubDomains"
# The client connects from a second loopback address, so the address nginx sees (and
# must pass on) differs from the proxy's own 127.0.0.1 that the app sees as its peer.
CLIENT_ADDRESS = "127.0.0.2"
FORGED_ADDRESS = "203.0.113.66"


def render_site_config(
    upstreams: list[Server], *, http_port: int, https_port: int, tls: Certificates
) -> str:
    config = SHIPPED_CONFIG.read_text()
    replacements = [
        (
            r"    server 127\.0\.0\.1:8000 [^;]*;\n    server 127\.0\.0\.1:8001 [^;]*;\n",
            "".join(
                f"    server 127.0.0.1:{s.port} max_fails=3 fail_timeout=10s;\n" for s in upstreams
            ),
        ),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        (
            r"ssl_certificate /etc/ssl/tenantry/fullchain\.pem;",
            f"ssl_certificate {tls.certificate};",
        ),
        (r"ssl_certificate_key /etc/ssl/tenantry/privkey\.pem;", f"ssl_certificate_key {tls.key};"),
    ]
    for pattern, replacement in replacements:
        config, count = re.subn(pattern, lambda _m, r=replacement: r, config)
        # The shipped file changed shape: update this test with it.
        assert count == 1, f"{pattern!r} matched {count} times in {SHIPPED_CONFIG}"
    return config


def render_main_config(folder: Path, site: Path) -> str:
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    # nginx's workers drop to an unprivileged user when started as root; that user
    # could not enter pytest's private tmp folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {site};
}}
"""


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {log.read_text(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nginx did not listen: {log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def production_env(settings: Any) -> dict[str, str]:
    """Production settings: the configuration an operator runs behind the proxy."""
    env = server_env(
        settings.database_url,
        ENVIRONMENT="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        SMTP_HOST="127.0.0.1",  # required in production; these tests send no mail
        METRICS_TOKEN=secrets.token_urlsafe(32),
        TRUSTED_PROXIES="127.0.0.1",
    )
    if settings.database_url.startswith("sqlite"):
        env["ALLOW_SQLITE_IN_PRODUCTION"] = "true"
    return env


@pytest.fixture(scope="module")
def stack(
    nginx_binary: str,
    production_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    app: Any,
) -> Iterator[dict[str, Any]]:
    """nginx on HTTPS in front of two instances, plus a third instance that trusts a
    proxy address the test never uses (for requests sent to the app directly)."""
    tmp_path = tmp_path_factory.mktemp("https")
    certificates = make_certificates(tmp_path / "tls")
    untrusting = {**production_env, "TRUSTED_PROXIES": "10.9.9.9"}
    with running_servers(tmp_path, [production_env, production_env, untrusting]) as servers:
        first, second, direct = servers
        folder = tmp_path / "nginx"
        folder.mkdir()
        http_port, https_port = free_port(), free_port()
        site = folder / "tenantry.conf"
        site.write_text(
            render_site_config(
                [first, second], http_port=http_port, https_port=https_port, tls=certificates
            )
        )
        main = folder / "nginx.conf"
        main.write_text(render_main_config(folder, site))
        check = subprocess.run(
            [
                nginx_binary,
                "-t",
                "-p",
                str(folder),
                "-c",
                str(main),
                "-e",
                str(folder / "error.log"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        log = folder / "nginx.out"
        with log.open("wb") as output:
            nginx = subprocess.Popen(
                [nginx_binary, "-p", str(folder), "-c", str(main), "-e", str(folder / "error.log")],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(https_port, nginx, folder / "error.log")
            context = ssl.create_default_context(cafile=str(certificates.ca))
            transport = httpx.HTTPTransport(verify=context, local_address=CLIENT_ADDRESS)
            with httpx.Client(
                base_url=f"https://127.0.0.1:{https_port}", transport=transport, timeout=30
            ) as https:
                yield {
                    "https": https,
                    "http_url": f"http://127.0.0.1:{http_port}",
                    "direct": direct,
                    "database_url": production_env["DATABASE_URL"],
                }
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)


def audit_ip(database_url: str, request_id: str, action: str) -> list[Any]:
    rows = query(
        database_url,
        "SELECT ip FROM audit_events WHERE request_id = :request_id AND action = :action",
        request_id=request_id,
        action=action,
    )
    return [row[0] for row in rows]


def test_browser_sign_in_through_tls_proxy(stack: dict[str, Any]) -> None:
    https: httpx.Client = stack["https"]
    email = unique_email("https")
    assert (
        https.post("/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    )

    login = https.post(
        "/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"X-Forwarded-For": FORGED_ADDRESS},
    )
    assert login.status_code == 200, login.text
    assert login.headers.get_list("strict-transport-security") == [HSTS]
    cookies = login.headers.get_list("set-cookie")
    assert cookies, "login set no cookie"
    for cookie in cookies:
        assert "; secure" in cookie.lower(), cookie
    refresh_cookie = next(c for c in cookies if "httponly" in c.lower())
    assert "path=/auth" in refresh_cookie.lower()

    # The client address in the audit trail is the one nginx saw, not the proxy's own
    # and not the forged header the client sent.
    request_id = login.headers["x-request-id"]
    assert audit_ip(stack["database_url"], request_id, "auth.login.succeeded") == [CLIENT_ADDRESS]

    # The Secure cookies come back over HTTPS: the browser flow works end to end.
    csrf = https.cookies.get("csrf_token") or next(
        value for name, value in https.cookies.items() if "csrf" in name
    )
    refreshed = https.post("/auth/refresh", headers={"X-CSRF-Token": csrf})
    assert refreshed.status_code == 200, refreshed.text
    me = https.get(
        "/users/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == email


def test_wrong_password_through_proxy_records_the_client_address(stack: dict[str, Any]) -> None:
    https: httpx.Client = stack["https"]
    failed = https.post(
        "/auth/login",
        json={"email": unique_email("nobody"), "password": "not the password"},
        headers={"X-Forwarded-For": f"{FORGED_ADDRESS}, 198.51.100.1"},
    )
    assert failed.status_code == 401
    assert failed.headers.get_list("strict-transport-security") == [HSTS]
    ips = audit_ip(stack["database_url"], failed.headers["x-request-id"], "auth.login.failed")
    assert ips == [CLIENT_ADDRESS]


def test_proxy_redirects_plain_http_and_hides_versions_and_metrics(stack: dict[str, Any]) -> None:
    plain = httpx.get(f"{stack['http_url']}/auth/login", follow_redirects=False)
    assert plain.status_code == 301
    assert plain.headers["location"].startswith("https://")

    https: httpx.Client = stack["https"]
    health = https.get("/healthz")
    assert health.status_code == 200
    assert "/" not in health.headers.get("server", ""), "the server header names a version"
    assert https.get("/metrics").status_code == 404
    too_big = https.post(
        "/auth/login",
        content=b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413


def test_forged_forwarded_headers_from_an_untrusted_peer_are_ignored(stack: dict[str, Any]) -> None:
    direct: Server = stack["direct"]
    email = unique_email("direct")
    forged = {"X-Forwarded-For": FORGED_ADDRESS, "X-Forwarded-Proto": "https"}
    registered = httpx.post(
        f"{direct.base_url}/auth/register",
        json={"email": email, "password": PASSWORD},
        headers=forged,
    )
    assert registered.status_code == 201
    login = httpx.post(
        f"{direct.base_url}/auth/login", json={"email": email, "password": PASSWORD}, headers=forged
    )
    assert login.status_code == 200
    # Not believed: the request came over plain HTTP from 127.0.0.1, and says so.
    assert "strict-transport-security" not in login.headers
    assert audit_ip(
        stack["database_url"], login.headers["x-request-id"], "auth.login.succeeded"
    ) == ["127.0.0.1"]
