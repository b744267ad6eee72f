"""Outgoing mail: templates rendered to text and HTML, delivered over SMTP.

Delivery never fails a request: each mail is tried `MAIL_SEND_ATTEMPTS` times with a
doubling pause, then the failure is logged and the mail dropped. Log lines name the
kind of mail and the recipient, never the body — the body carries a one-time token.
The one exception is development and test without `SMTP_HOST`, where the whole mail is
written to the log so a person can follow the link by hand.
"""

from __future__ import annotations

import asyncio
import html
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache
from importlib.resources import files
from string import Template

import aiosmtplib
import structlog

from tenantry.config import Settings
from tenantry.observability import metrics

log = structlog.get_logger("tenantry.mail")


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    kind: str
    to: str
    subject: str
    text: str
    html: str


# Characters a name in a mail must not carry: controls (C0, DEL, C1) and line or
# paragraph separators would start a new line, a forged paragraph or a header; format
# characters include the bidi overrides (U+202E) that show text in another order than
# it is stored, and zero-width characters that hide what a name really says.
_LINE_BREAKING = {"Cc", "Zl", "Zp"}
_INVISIBLE = {"Cf"}
# A quotation mark inside a name would end our quotation early.
_QUOTATION_MARKS = str.maketrans(dict.fromkeys('"“”„«»', "'"))


def single_line(value: str, *, max_chars: int) -> str:
    """`value` as one line of visible text, at most `max_chars` characters long."""
    kept = []
    for character in value:
        category = unicodedata.category(character)
        if category in _LINE_BREAKING:
            kept.append(" ")
        elif category not in _INVISIBLE:
            kept.append(character)
    text = " ".join("".join(kept).split())
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def quoted(value: str, *, max_chars: int) -> str:
    """A user-chosen name, made safe to quote inside a sentence of a mail.

    It is only ever placed inside a sentence we wrote, in quotation marks, so a name
    like "Security team: reset your password at https://…" reads as what it is.
    """
    text = single_line(value, max_chars=max_chars).translate(_QUOTATION_MARKS)
    return f"“{text or '(no name)'}”"


@cache
def _template(name: str) -> Template:
    source = files("tenantry.mail").joinpath("templates", name).read_text(encoding="utf-8")
    return Template(source)


def render_mail(*, kind: str, to: str, subject: str, values: dict[str, str]) -> OutgoingMail:
    """Fill `templates/<kind>.txt` and `.html`; every value is HTML-escaped in the HTML part."""
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    return OutgoingMail(
        kind=kind,
        to=to,
        subject=subject,
        text=_template(f"{kind}.txt").substitute(values),
        html=_template(f"{kind}.html").substitute(escaped),
    )


class MailSender:
    """Sends `OutgoingMail` through the configured SMTP server, or logs it in development."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def build_message(self, mail: OutgoingMail) -> EmailMessage:
        settings = self._settings
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        return message

    async def send(self, mail: OutgoingMail) -> bool:
        """Deliver one mail; True when the server accepted it (or it was logged in development)."""
        settings = self._settings
        if not settings.smtp_host:
            if settings.is_production:
                # `Settings.problems` stops this at start-up; never print a token in production.
                log.error("mail_dropped", kind=mail.kind, to=mail.to, reason="SMTP_HOST unset")
                metrics.MAIL_FAILURES.labels(mail.kind).inc()
                return False
            log.warning(
                "mail_logged_not_sent",
                note="SMTP_HOST is unset: this mail was written here instead of sent",
                kind=mail.kind,
                to=mail.to,
                subject=mail.subject,
                body=mail.text,
            )
            return True
        message = self.build_message(mail)
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        pause = settings.mail_retry_backoff_seconds
        for attempt in range(1, settings.mail_send_attempts + 1):
            try:
                await aiosmtplib.send(
                    message,
                    hostname=settings.smtp_host,
                    port=settings.smtp_port,
                    username=settings.smtp_username,
                    password=password,
                    start_tls=settings.smtp_starttls,
                    timeout=settings.smtp_timeout_seconds,
                )
            except (aiosmtplib.SMTPException, OSError) as exc:
                # The class and SMTP code only: a server's reply text is not ours to trust.
                log.warning(
                    "mail_send_failed",
                    kind=mail.kind,
                    to=mail.to,
                    attempt=attempt,
                    of=settings.mail_send_attempts,
                    error=type(exc).__name__,
                    smtp_code=getattr(exc, "code", None),
                )
                if attempt < settings.mail_send_attempts:
                    await asyncio.sleep(pause)
                    pause *= 2
                continue
            log.info("mail_sent", kind=mail.kind, to=mail.to, attempt=attempt)
            return True
        log.error("mail_dropped", kind=mail.kind, to=mail.to, reason="every attempt failed")
        metrics.MAIL_FAILURES.labels(mail.kind).inc()
        return False
