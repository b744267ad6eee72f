"""The mailer on its own: templates, STARTTLS with authentication, retries, production rule."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tenantry.config import Settings
from tenantry.mail.mailer import MailSender, quoted, render_mail, single_line
from tests.accounts.conftest import LogCapture, MailSink, free_port, html_body, text_body
from tests.conftest import TEST_SECRET, make_settings

SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-secret-for-tests"


def sample_mail(link: str = "https://app.example.test/reset-password?token=abc") -> Any:
    return render_mail(
        kind="reset_password",
        to="someone@example.com",
        subject="Reset your Tenantry password",
        values={"email": "someone@example.com", "link": link, "valid_for": "1 hour"},
    )


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        pytest.param("Acme\r\nBcc: x@example.net", "Acme Bcc: x@example.net", id="crlf"),
        pytest.param("A\x00B\x1bC\x7fD\x85E\x9bF", "A B C D E F", id="c0-del-c1"),
        pytest.param("abc\u202edef\u2066g\u200fh", "abcdefgh", id="bidi-overrides"),
        pytest.param("one\u2028two\u2029three", "one two three", id="unicode-line-breaks"),
        pytest.param("zero\u200bwidth\ufeff", "zerowidth", id="invisible"),
        pytest.param("  Ada \t Lovelace  ", "Ada Lovelace", id="whitespace-collapsed"),
        pytest.param("Zoë Ünal 株式会社", "Zoë Ünal 株式会社", id="letters-kept"),
    ],
)
def test_single_line_removes_controls_breaks_and_bidi(stored: str, shown: str) -> None:
    assert single_line(stored, max_chars=60) == shown


def test_quoted_names_are_cut_and_cannot_close_the_quotation() -> None:
    assert quoted("x" * 100, max_chars=10) == "“xxxxxxxxx…”"
    assert quoted('Acme” is fake. "Pay', max_chars=60) == "“Acme' is fake. 'Pay”"
    assert quoted("\n\u202e", max_chars=60) == "“(no name)”"


def test_html_part_escapes_every_value_and_text_part_keeps_it() -> None:
    hostile = 'https://app.example.test/x?a=1&b="><script>alert(1)</script>'
    mail = sample_mail(hostile)
    assert hostile in mail.text
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "a=1&amp;b=&quot;&gt;" in mail.html


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "smtp.pem"
    key_path = directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Authenticator:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        ok = data.login == SMTP_USER.encode() and data.password == SMTP_PASSWORD.encode()
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_smtp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MailSink, _Authenticator, int]]:
    """A server that refuses mail before STARTTLS and AUTH, with a certificate the client
    trusts through `SSL_CERT_FILE` (how an operator adds a private CA)."""
    cert_path, key_path = _self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    sink, authenticator, port = MailSink(), _Authenticator(), free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        yield sink, authenticator, port
    finally:
        controller.stop()


def _settings(migrated_url: str, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "mail_from": "Tenantry <accounts@example.test>",
        "mail_retry_backoff_seconds": 0.01,
    }
    values.update(overrides)
    return make_settings(migrated_url, **values)


async def test_sends_over_starttls_with_authentication(
    migrated_url: str, tls_smtp: tuple[MailSink, _Authenticator, int]
) -> None:
    sink, authenticator, port = tls_smtp
    mailer = MailSender(
        _settings(migrated_url, port, smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD)
    )
    assert await mailer.send(sample_mail()) is True
    assert authenticator.logins == [SMTP_USER]
    [message] = sink.messages
    assert message["From"] == "Tenantry <accounts@example.test>"
    assert message["To"] == "someone@example.com"
    assert message["Message-ID"].endswith("@example.test>")
    assert message.get_content_type() == "multipart/alternative"
    assert "https://app.example.test/reset-password?token=abc" in text_body(message)
    assert 'href="https://app.example.test/reset-password?token=abc"' in html_body(message)


async def test_wrong_smtp_password_is_retried_then_dropped_without_raising(
    migrated_url: str,
    tls_smtp: tuple[MailSink, _Authenticator, int],
    captured_logs: LogCapture,
) -> None:
    sink, _authenticator, port = tls_smtp
    mailer = MailSender(
        _settings(migrated_url, port, smtp_username=SMTP_USER, smtp_password="wrong-password")
    )
    assert await mailer.send(sample_mail()) is False
    assert sink.messages == []
    lines = captured_logs.lines()
    assert sum('"event": "mail_send_failed"' in line for line in lines) == 3
    assert any('"event": "mail_dropped"' in line for line in lines)
    assert not any("wrong-password" in line or "token=abc" in line for line in lines)


async def test_without_starttls_a_server_that_requires_it_refuses(
    migrated_url: str, tls_smtp: tuple[MailSink, _Authenticator, int]
) -> None:
    sink, _authenticator, port = tls_smtp
    mailer = MailSender(
        _settings(
            migrated_url,
            port,
            smtp_starttls=False,
            smtp_username=SMTP_USER,
            smtp_password=SMTP_PASSWORD,
            mail_send_attempts=1,
        )
    )
    assert await mailer.send(sample_mail()) is False
    assert sink.messages == []


def test_production_refuses_to_start_without_smtp_host() -> None:
    production = Settings(_env_file=None, environment="production", secret_key=TEST_SECRET)
    assert any("SMTP_HOST" in problem for problem in production.problems())
    configured = production.model_copy(update={"smtp_host": "smtp.example.test"})
    assert not any("SMTP_HOST" in problem for problem in configured.problems())
    development = Settings(_env_file=None, environment="development")
    assert not any("SMTP_HOST" in problem for problem in development.problems())
