"""The invitation mail: what it says, and the one function that sends it.

The link is built from `FRONTEND_URL`, never from the request's `Host` (DESIGN.md §5).
Tests (and any integration that wants the mail itself) set
`app.state.invitation_mail_sink` to an async callable; it then receives each
`InvitationMail` instead of the mailer.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from fastapi import Request

from tenantry.accounts.mailer import MailSender, OutgoingMail
from tenantry.config import Settings


@dataclass(frozen=True, slots=True)
class InvitationMail:
    to: str
    organization_name: str
    role: str
    invited_by: str
    link: str  # carries the token: never log it outside development
    expires_at: datetime


InvitationSender = Callable[[InvitationMail], Awaitable[None]]


def invitation_link(settings: Settings, token: str) -> str:
    return f"{settings.frontend_url.rstrip('/')}/accept-invitation?{urlencode({'token': token})}"


def compose(mail: InvitationMail) -> OutgoingMail:
    expires = mail.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"{mail.invited_by} invited you to join {mail.organization_name} as {mail.role}.\n\n"
        f"Accept the invitation:\n{mail.link}\n\n"
        f"The link works once and expires on {expires}. "
        "If you did not expect this invitation, ignore this mail.\n"
    )
    escaped = {
        key: html.escape(value, quote=True)
        for key, value in {
            "inviter": mail.invited_by,
            "organization": mail.organization_name,
            "role": mail.role,
            "link": mail.link,
            "expires": expires,
        }.items()
    }
    body = (
        f"<p>{escaped['inviter']} invited you to join <strong>{escaped['organization']}</strong>"
        f" as {escaped['role']}.</p>"
        f'<p><a href="{escaped["link"]}">Accept the invitation</a></p>'
        f"<p>The link works once and expires on {escaped['expires']}. "
        "If you did not expect this invitation, ignore this mail.</p>"
    )
    return OutgoingMail(
        kind="invitation",
        to=mail.to,
        subject=f"You are invited to join {mail.organization_name}",
        text=text,
        html=body,
    )


async def get_invitation_sender(request: Request) -> InvitationSender:
    sink: InvitationSender | None = getattr(request.app.state, "invitation_mail_sink", None)
    if sink is not None:
        return sink
    mailer = getattr(request.app.state, "mailer", None)
    if not isinstance(mailer, MailSender):
        mailer = MailSender(request.app.state.settings)
    sender = mailer

    async def send_invitation_mail(mail: InvitationMail) -> None:
        # The mailer logs, retries and never raises; without SMTP it writes the mail
        # (and so the link) to the log in development and test only.
        await sender.send(compose(mail))

    return send_invitation_mail
