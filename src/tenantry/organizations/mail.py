"""The invitation mail: what it says, and the one function that sends it.

The link is built from `FRONTEND_URL`, never from the request's `Host` (DESIGN.md §5).
Tests (and any integration that wants the mail itself) set
`app.state.invitation_mail_sink` to an async callable; it then receives each
`InvitationMail` instead of the mailer (`dependencies.get_invitation_sender`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from tenantry.config import Settings
from tenantry.mail.mailer import OutgoingMail, quoted, render_mail


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


# Fixed: a subject is the first thing a reader sees and trusts, so no organization,
# person or role name may write it.
INVITATION_SUBJECT = "Your invitation to join an organization on Tenantry"


def compose(mail: InvitationMail, *, max_name_chars: int) -> OutgoingMail:
    """The mail, whatever names were stored: each one single-line, cut and quoted
    inside our own sentence, never at the start of the body or in the subject."""
    return render_mail(
        kind="invitation",
        to=mail.to,
        subject=INVITATION_SUBJECT,
        values={
            "organization": quoted(mail.organization_name, max_chars=max_name_chars),
            "role": quoted(mail.role, max_chars=max_name_chars),
            "inviter": quoted(mail.invited_by, max_chars=max_name_chars),
            "link": mail.link,
            "expires": mail.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
