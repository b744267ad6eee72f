"""A real SMTP server in-process (aiosmtpd on 127.0.0.1) and an app that mails through it."""

from __future__ import annotations

import email
import email.policy
import io
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from tenantry.config import Settings
from tenantry.main import create_app
from tenantry.observability.logging import configure_logging
from tests.conftest import make_settings

FRONTEND_URL = "https://app.example.test"


class MailSink:
    """aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.envelopes.append(envelope)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[MailSink, int]) -> MailSink:
    sink, _port = smtp_server
    sink.clear()
    return sink


def smtp_settings(migrated_url: str, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_starttls": False,
        "frontend_url": FRONTEND_URL,
        "mail_retry_backoff_seconds": 0.01,
    }
    values.update(overrides)
    return make_settings(migrated_url, **values)


@pytest.fixture(scope="session")
async def app(migrated_url: str, smtp_server: tuple[MailSink, int]) -> AsyncIterator[FastAPI]:
    """Overrides the root `app`: the same database, with mail going to the in-process server."""
    _sink, port = smtp_server
    application = create_app(smtp_settings(migrated_url, port))
    yield application
    await application.state.engine.dispose()


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a second app built from `settings` (same database, other options)."""
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 51234))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await application.state.engine.dispose()


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    content: str = part.get_content()
    return content


def html_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    content: str = part.get_content()
    return content


def link_token(message: EmailMessage, path: str) -> str:
    """Follow the mail's link the way a person would: find it, check where it points,
    and take the token from its query string."""
    links = re.findall(r"https?://\S+", text_body(message))
    assert len(links) == 1, links
    url = urlsplit(links[0])
    assert f"{url.scheme}://{url.netloc}" == FRONTEND_URL
    assert url.path == f"/{path}"
    token: str = parse_qs(url.query)["token"][0]
    assert len(token) >= 43  # 256 random bits, URL-safe base64
    return token


class LogCapture:
    """Every rendered structlog line and every stdlib record, at DEBUG, in one text.

    `create_app` reconfigures logging, so call `install()` again after building an app.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stream = io.StringIO()
        self.records: list[logging.LogRecord] = []

    def install(self) -> None:
        # The production pipeline (JSON) at DEBUG, printing into our buffer.
        configure_logging(
            self.settings.model_copy(update={"log_level": "DEBUG", "log_format": "json"})
        )
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(self.stream))

    def lines(self) -> list[str]:
        structured = self.stream.getvalue().splitlines()
        # The test's own SMTP server (aiosmtpd, logger "mail.log") is not our code.
        stdlib = [
            record.getMessage() for record in self.records if not record.name.startswith("mail.")
        ]
        return structured + stdlib


class _ListHandler(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self._records = records

    def emit(self, record: logging.LogRecord) -> None:
        self._records.append(record)


@pytest.fixture
def captured_logs(settings: Settings) -> Iterator[LogCapture]:
    capture = LogCapture(settings)
    capture.install()
    handler = _ListHandler(capture.records)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        configure_logging(settings)


@pytest.fixture(autouse=True)
def _clean_after_every_test(app: FastAPI) -> None:
    """Puts `app` in every test's fixtures, so the root clean-up also runs after tests
    that only use a second app built by `client_for`."""
