from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tenantry.organizations.mail import InvitationMail


class MailSink:
    """Receives invitation mail instead of the mailer, through `app.state`."""

    def __init__(self) -> None:
        self.sent: list[InvitationMail] = []

    async def __call__(self, mail: InvitationMail) -> None:
        self.sent.append(mail)

    def token_for(self, email: str) -> str:
        mail = next(mail for mail in reversed(self.sent) if mail.to == email)
        return mail.link.split("token=", 1)[1]


@pytest.fixture
async def mail_sink(app: Any) -> AsyncIterator[MailSink]:
    sink = MailSink()
    app.state.invitation_mail_sink = sink
    yield sink
    del app.state.invitation_mail_sink
