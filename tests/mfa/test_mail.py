"""The user is mailed on every factor change and recovery-code use (DESIGN.md §10),
through a real SMTP server."""

from __future__ import annotations

import httpx

from tests.accounts.conftest import MailSink, app, mailbox, smtp_server, text_body
from tests.conftest import bearer
from tests.mfa.conftest import enrol, start_login

__all__ = ["app", "mailbox", "smtp_server"]  # the SMTP-backed app of tests/accounts


async def test_mails_for_enrolment_recovery_code_use_and_removal(
    client: httpx.AsyncClient, mailbox: MailSink
) -> None:
    enrolled = await enrol(client)
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["To"] == enrolled.user["email"]
    assert "authenticator app was added" in text_body(mailbox.messages[0])
    challenge = await start_login(client, enrolled.user["email"])
    done = await client.post(
        "/auth/mfa/verify",
        json={"mfa_token": challenge, "recovery_code": enrolled.recovery_codes[0]},
    )
    assert done.status_code == 200
    assert "recovery code was used" in text_body(mailbox.messages[1])
    removed = await client.delete(
        f"/auth/mfa/factors/{enrolled.factor_id}", headers=bearer(done.json()["access_token"])
    )
    assert removed.status_code == 204
    assert "second factor was removed" in text_body(mailbox.messages[2])
    assert len(mailbox.messages) == 3
