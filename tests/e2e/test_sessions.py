"""Sessions and email verification from the web app."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect
from tests.e2e.conftest import LiveServer, MailSink, new_context, screenshot, unique_email
from tests.e2e.flows import api_register, sign_in


async def test_revoking_a_session_and_signing_out_everywhere(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    email = unique_email("sessions")
    async with live_server.api() as api:
        await api_register(api, email)

    laptop = page
    await laptop.goto("/signin")
    await sign_in(laptop, email)
    await expect(laptop).to_have_url(re.compile(r"/orgs$"))
    phone_context = await new_context(browser, live_server)
    try:
        phone = await phone_context.new_page()
        await phone.goto("/signin")
        await sign_in(phone, email)
        await expect(phone).to_have_url(re.compile(r"/orgs$"))

        # The laptop lists both sessions and ends the phone's.
        await laptop.get_by_role("link", name="Sessions").click()
        rows = laptop.locator("tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.filter(has_text="this browser")).to_have_count(1)
        await laptop.get_by_role("button", name="Sign out this session").click()
        await expect(rows).to_have_count(1)

        # The phone's very next request finds its session gone: back to sign-in.
        await phone.get_by_role("link", name="Sessions").click()
        await expect(phone).to_have_url(re.compile(r"/signin\?next="))
        assert email not in await phone.content()

        # Sign in again on the phone, then end every session from the laptop.
        await sign_in(phone, email)
        await expect(phone.get_by_role("heading", name="Your sessions")).to_be_visible()
        await laptop.reload()
        await expect(rows).to_have_count(2)
        await laptop.get_by_role("button", name="Sign out everywhere").click()
        await expect(laptop).to_have_url(re.compile(r"/signin$"))
        await phone.reload()
        await expect(phone).to_have_url(re.compile(r"/signin"))
    finally:
        await phone_context.close()


async def test_email_verification_through_the_mailed_link(
    page: Page, live_server: LiveServer, mailbox: MailSink
) -> None:
    email = unique_email("verify")
    async with live_server.api() as api:
        await api_register(api, email)
    await page.goto("/signin?next=/account")
    await sign_in(page, email)
    await expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    await expect(page.get_by_text("Not yet")).to_be_visible()
    await page.get_by_role("button", name="Send verification mail").click()
    await expect(page.get_by_role("status")).to_contain_text("We sent you a verification link")

    await page.goto(await mailbox.link_for(email, "/verify-email"))
    await expect(page.get_by_role("status")).to_have_text("Your email address is verified.")
    await expect(page).to_have_url(f"{live_server.url}/verify-email")
    await screenshot(page, "13-email-verified")
    await page.get_by_role("link", name="Go to your profile").click()
    await expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    await expect(page.get_by_text("Not yet")).to_have_count(0)
    await expect(page.get_by_role("button", name="Send verification mail")).to_have_count(0)
