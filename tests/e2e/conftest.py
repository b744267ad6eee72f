"""End-to-end fixtures: the real service (`tenantry serve`) with the built web app, a real
SMTP sink for its mail, and Debian's Chromium driven by Playwright.

The browser tests need `/usr/bin/chromium` and a built `frontend/dist`. Without them they
skip with the reason, unless `TENANTRY_E2E_REQUIRED=1` (set by CI), which makes a missing
piece a failure instead.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from sqlalchemy import make_url

REPOSITORY = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("SPA_DIR") or REPOSITORY / "frontend" / "dist")
CHROMIUM = Path(os.environ.get("TENANTRY_E2E_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPOSITORY / "test-artifacts" / "screenshots"
TENANTRY = Path(sys.executable).with_name("tenantry")
REQUIRED = os.environ.get("TENANTRY_E2E_REQUIRED") == "1"
# The smallest lifetime the settings allow; tokens are still accepted for the 30 s of
# clock skew that validation allows, so one is refused about a minute after it was issued.
ACCESS_TOKEN_TTL_SECONDS = 30
# Without these, Chromium keeps trying to reach Google's services, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"


def _missing_pieces() -> list[str]:
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if not (DIST / "index.html").is_file():
        missing.append(f"{DIST} is not built (cd frontend && npm ci && npm run build)")
    return missing


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    if missing := _missing_pieces():
        reason = "end-to-end tests need: " + "; ".join(missing)
        if REQUIRED:
            pytest.fail(f"{reason} (TENANTRY_E2E_REQUIRED=1)", pytrace=False)
        pytest.skip(reason)


# --- mail ---------------------------------------------------------------------------


class MailSink:
    """An aiosmtpd handler that keeps every message the service sends."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    async def link_for(self, to: str, path: str, within: float = 15.0) -> str:
        """The first `{FRONTEND_URL}{path}?token=…` link mailed to `to`."""
        pattern = re.compile(
            r"https?://[^\s\"<>]+" + re.escape(path) + r"\?token=[A-Za-z0-9_\-.%]+"
        )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for message in list(self.messages):
                if message["To"] != to:
                    continue
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                if match := pattern.search(body.get_content()):
                    return match.group(0)
            await asyncio.sleep(0.1)
        raise AssertionError(f"no mail with a {path} link reached {to}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def mail_sink(e2e_ready: None) -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(mail_sink: tuple[MailSink, int]) -> MailSink:
    return mail_sink[0]


# --- the service --------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


def _e2e_database(tmp_path: Path) -> Iterator[str]:
    """SQLite in the run's temporary folder, or — when the suite runs on PostgreSQL
    (`TEST_DATABASE_URL`) — a database of its own, created and dropped here."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"
        return
    parsed = make_url(url)
    name = f"{parsed.database}_e2e"
    admin = parsed.set(drivername="postgresql", database="postgres")
    admin_dsn = admin.render_as_string(hide_password=False)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def live_server(
    e2e_ready: None, mail_sink: tuple[MailSink, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`tenantry serve` on a free port, serving the built app, mailing into the sink.

    `ENVIRONMENT=development` so the refresh cookie works over plain http (no `Secure`).
    """
    _sink, smtp_port = mail_sink
    workdir = tmp_path_factory.mktemp("e2e-server")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    for database_url in _e2e_database(workdir):
        env = {
            **os.environ,
            "ENVIRONMENT": "development",
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "BCRYPT_ROUNDS": "4",
            "ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
            "RATE_LIMITS_ENABLED": "false",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_STARTTLS": "false",
            "FRONTEND_URL": base_url,
            "SPA_DIR": str(DIST),
            "LOG_LEVEL": "WARNING",
        }
        env.pop("REDIS_URL", None)
        if not database_url.startswith("sqlite"):
            subprocess.run([str(TENANTRY), "db", "upgrade"], cwd=workdir, env=env, check=True)
        log_path = workdir / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(TENANTRY), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_healthy(process, base_url, log_path)
            yield LiveServer(url=base_url, log_path=log_path, process=process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"tenantry serve exited:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"tenantry serve did not start:\n{log_path.read_text()}")
        time.sleep(0.1)


# --- the browser --------------------------------------------------------------------


@pytest.fixture(scope="session")
async def browser(e2e_ready: None) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def context(browser: Browser, live_server: LiveServer) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies, no storage) per test."""
    created = await new_context(browser, live_server)
    try:
        yield created
    finally:
        await created.close()


async def new_context(browser: Browser, live_server: LiveServer) -> BrowserContext:
    created = await browser.new_context(base_url=live_server.url, locale="en-GB")
    created.set_default_timeout(15_000)
    return created


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # Refused requests (a 401 before a refresh) are logged too; a CSP violation must not be.
    opened.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    assert not errors, f"errors in the page: {errors}"


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def unique_email(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}@example.com"
