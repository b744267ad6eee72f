"""Two-factor authentication in a real browser: enrol an authenticator app from the
profile page, then sign in with a code from it, and once with a recovery code."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pyotp
from playwright.async_api import Page, expect
from tests.e2e.conftest import LiveServer, screenshot, unique_email
from tests.e2e.flows import api_register, sign_in, sign_out


def _time_step() -> int:
    return int(time.time() // 30)


async def _next_time_step(after: int) -> None:
    """A TOTP code is accepted once per time step: wait for a step later than `after`."""
    await asyncio.sleep(max(0.0, (after + 1) * 30 - time.time()) + 0.2)


async def test_enrol_totp_then_sign_in_with_a_code_and_with_a_recovery_code(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    email = unique_email("mfa")
    async with live_server.api() as api:
        await api_register(api, email)

    await page.goto("/signin")
    await sign_in(page, email)
    await expect(page).to_have_url(re.compile(r"/orgs$"))
    await page.get_by_role("link", name="Profile").click()
    card = page.locator(
        "section", has=page.get_by_role("heading", name="Two-factor authentication")
    )
    await expect(card).to_contain_text("Off.")

    # Enrol: the QR code is an image (no markup injected into the page) and the secret is
    # shown for typing by hand; pyotp plays the authenticator app.
    await card.get_by_role("button", name="Set up an authenticator app").click()
    qr = card.get_by_role("img", name="QR code for your authenticator app")
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml;utf8,")
    assert await card.locator("svg").count() == 0
    secret = (await card.get_by_test_id("totp-secret").inner_text()).replace(" ", "")
    totp = pyotp.TOTP(secret)
    enrolled_step = _time_step()
    await card.get_by_label("Code from the app").fill(totp.at(enrolled_step * 30))
    await screenshot(page, "20-mfa-enrol")
    await card.get_by_role("button", name="Turn on").click()

    # The recovery codes, once: listed, and downloadable as a text file.
    codes_list = card.get_by_role("list", name="Recovery codes")
    await expect(codes_list.get_by_role("listitem")).to_have_count(10)
    codes = [code.strip() for code in await codes_list.get_by_role("listitem").all_inner_texts()]
    async with page.expect_download() as download_info:
        await card.get_by_role("button", name="Download (.txt)").click()
    download = await download_info.value
    assert download.suggested_filename == "tenantry-recovery-codes.txt"
    saved = tmp_path / "codes.txt"
    await download.save_as(saved)
    text = saved.read_text()
    assert email in text
    assert all(code in text.splitlines() for code in codes)
    await card.get_by_role("button", name="I have saved them").click()
    await expect(codes_list).to_have_count(0)
    await expect(card.get_by_test_id("recovery-codes-left")).to_have_text("10")

    # Sign in again: the password alone is not enough.
    await sign_out(page)
    await sign_in(page, email)
    await expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    code_field = page.get_by_label("Authentication code")
    assert await code_field.get_attribute("autocomplete") == "one-time-code"
    assert await code_field.get_attribute("inputmode") == "numeric"
    wrong = "000000" if totp.now() != "000000" else "111111"
    await code_field.fill(wrong)
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    await screenshot(page, "21-mfa-challenge")

    await _next_time_step(enrolled_step)
    await page.get_by_label("Authentication code").fill(totp.now())
    await page.get_by_role("button", name="Verify").click()
    await expect(page).to_have_url(re.compile(r"/orgs$"))
    await expect(page.get_by_test_id("current-user")).to_have_text(email)

    # And once with a recovery code instead of the app.
    await sign_out(page)
    await sign_in(page, email)
    await page.get_by_role("button", name="Use a recovery code instead").click()
    await page.get_by_label("Recovery code").fill(codes[0])
    await page.get_by_role("button", name="Verify").click()
    await expect(page).to_have_url(re.compile(r"/orgs$"))
    await expect(page.get_by_test_id("current-user")).to_have_text(email)
    await page.get_by_role("link", name="Profile").click()
    await expect(card.get_by_test_id("recovery-codes-left")).to_have_text("9")

    # The same recovery code does not work twice.
    await sign_out(page)
    await sign_in(page, email)
    await page.get_by_role("button", name="Use a recovery code instead").click()
    await page.get_by_label("Recovery code").fill(codes[0])
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page).not_to_have_url(re.compile(r"/orgs$"))

    # Another code signs in; then the factor is removed and the password alone works again.
    await page.get_by_label("Recovery code").fill(codes[1])
    await page.get_by_role("button", name="Verify").click()
    await expect(page).to_have_url(re.compile(r"/orgs$"))
    await page.get_by_role("link", name="Profile").click()
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await card.get_by_role("button", name=re.compile(r"^Remove ")).click()
    await expect(card).to_contain_text("Off.")
    await sign_out(page)
    await sign_in(page, email)
    await expect(page).to_have_url(re.compile(r"/orgs$"))
