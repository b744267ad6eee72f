"""The invitation mail, read from a real SMTP server: whatever names are stored, they are
quoted single-line text inside our own sentences, and the subject is fixed (DESIGN.md §5)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.models import User
from tenantry.organizations.mail import INVITATION_SUBJECT
from tenantry.organizations.models import Organization
from tests.accounts.conftest import FRONTEND_URL, MailSink, html_body, text_body
from tests.organizations.factories import insert_org, make_user

# Stored as they are: the mail must be safe even for rows written before input
# validation refused such names, or by another path.
HOSTILE_ORGANIZATION = (
    "Acme\r\nBcc: victim@example.net\r\n\r\n\u202eReset your password at https://evil.example"
)
HOSTILE_INVITER = "IT Security\n\nYour account is locked. Log in at http://evil.example/login\x85"


async def test_invitation_mail_quotes_stored_names_inside_a_sentence(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, mailbox: MailSink
) -> None:
    owner = await make_user(app)
    org = await insert_org(app, owner_id=owner.id)
    await db.execute(
        update(Organization).where(Organization.id == org).values(name=HOSTILE_ORGANIZATION)
    )
    await db.execute(update(User).where(User.id == owner.id).values(full_name=HOSTILE_INVITER))
    await db.commit()

    response = await client.post(
        f"/organizations/{org}/invitations",
        json={"email": "invitee@example.net", "role": "member"},
        headers=owner.headers,
    )

    assert response.status_code == 201, response.text
    [message] = mailbox.messages
    assert message["Subject"] == INVITATION_SUBJECT
    assert message["Bcc"] is None
    assert [envelope.rcpt_tos for envelope in mailbox.envelopes] == [["invitee@example.net"]]
    text = text_body(message).replace("\r\n", "\n")
    assert text.startswith("Hello,\n\nYou are invited to join the organization “Acme Bcc: ")
    organization = "“Acme Bcc: victim@example.net Reset your password at https:/…”"
    inviter = "“IT Security Your account is locked. Log in at http://evil.e…”"
    assert f"the organization {organization} on Tenantry" in text
    assert f"comes from the member {inviter}." in text
    for forbidden in ("\u202e", "\x85", "\nBcc", "\nReset", "\nYour account"):
        assert forbidden not in text
    html = html_body(message)
    assert f"organization {organization} on Tenantry" in html
    assert "\u202e" not in html
    # The one link of ours stands on a line of its own.
    assert f"\n{FRONTEND_URL}/accept-invitation?token=" in text
