"""Links from mail, token expiry, roles and conflicts, in a real browser."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect
from tests.e2e.conftest import (
    ACCESS_TOKEN_TTL_SECONDS,
    PASSWORD,
    LiveServer,
    MailSink,
    new_context,
    screenshot,
    unique_email,
)
from tests.e2e.flows import (
    TokenWatcher,
    api_login,
    api_organization_with_product,
    api_register,
    assert_no_token_readable,
    sign_in,
)

NEW_PASSWORD = "a different passphrase entirely"


async def test_password_reset_through_the_mailed_link(
    page: Page, live_server: LiveServer, mailbox: MailSink
) -> None:
    email = unique_email("reset")
    async with live_server.api() as api:
        await api_register(api, email)

    await page.goto("/signin")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send me a link").click()
    await expect(page.get_by_role("status")).to_contain_text(f"If an account exists for {email}")

    link = await mailbox.link_for(email, "/reset-password")
    assert link.startswith(f"{live_server.url}/reset-password?token=")
    await page.goto(link)
    # The token leaves the address bar (and the history entry) once read.
    await expect(page).to_have_url(f"{live_server.url}/reset-password")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    await screenshot(page, "09-reset-password")
    await page.get_by_role("button", name="Set new password").click()

    await expect(page).to_have_url(re.compile(r"/signin\?reset=1$"))
    await expect(page.get_by_role("status")).to_contain_text("Your password was changed")
    await sign_in(page, email, NEW_PASSWORD)
    await expect(page).to_have_url(re.compile(r"/orgs$"))
    async with live_server.api() as api:
        old = await api.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert old.status_code == 401

    # The link worked once; a second use is refused with a clear message.
    other = await page.context.new_page()
    await other.goto(link)
    await other.get_by_label("New password", exact=True).fill("yet another long passphrase")
    await other.get_by_label("Repeat the new password").fill("yet another long passphrase")
    await other.get_by_role("button", name="Set new password").click()
    await expect(other.get_by_role("alert")).to_contain_text("invalid or has expired")
    await other.close()


async def test_an_expired_access_token_is_refreshed_without_the_user_noticing(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    """The same person in two browsers: one whose timers run (the token is renewed before
    it expires), and one whose timers are frozen, as in a sleeping laptop, so its token
    does expire and its next request meets a 401, refreshes once, and is retried."""
    email = unique_email("expiry")
    async with live_server.api() as api:
        await api_register(api, email)
        owner = await api_login(api, email)
        org_id, _ = await api_organization_with_product(
            api, owner, name="Clockwork", product="Gear"
        )

    awake = page
    awake_watch = TokenWatcher(awake)
    await awake.goto("/signin")
    await sign_in(awake, email)
    await expect(awake).to_have_url(re.compile(r"/orgs$"))

    asleep = await new_context(browser, live_server)
    try:
        sleeper = await asleep.new_page()
        await sleeper.clock.install()
        sleep_watch = TokenWatcher(sleeper)
        await sleeper.goto("/signin")
        await sign_in(sleeper, email)
        await expect(sleeper).to_have_url(re.compile(r"/orgs$"))
        await sleeper.goto(f"/orgs/{org_id}/products")
        await expect(sleeper.locator("tbody tr")).to_have_count(1)
        await sleeper.clock.pause_at(await sleeper.evaluate("Date.now()"))
        stale_token = sleep_watch.tokens[-1]

        # Past the lifetime and the 30 s of allowed clock skew, that token is refused.
        await awake.wait_for_timeout((ACCESS_TOKEN_TTL_SECONDS + 30 + 3) * 1000)
        async with live_server.api() as api:
            stale = {"Authorization": f"Bearer {stale_token}"}
            assert (await api.get("/users/me", headers=stale)).status_code == 401

        # The awake browser renewed its token in time: none of its requests met a 401.
        assert awake_watch.count("POST /auth/refresh", 200) >= 2
        await awake.goto(f"/orgs/{org_id}/products")
        await expect(awake.locator("tbody tr")).to_have_count(1)
        assert [call for call in awake_watch.calls if call[1] == 401] == []

        # The sleeping one's next request meets a 401, refreshes once, and succeeds.
        refreshes = sleep_watch.count("POST /auth/refresh")
        await sleeper.get_by_role("link", name="Members").click()
        await expect(sleeper.locator("tbody tr").filter(has_text=email)).to_have_count(1)
        members = f"GET /organizations/{org_id}/members"
        assert sleep_watch.count(members, 401) == 1
        assert sleep_watch.count(members, 200) == 1
        assert sleep_watch.count("POST /auth/refresh") == refreshes + 1
        await expect(sleeper.get_by_label("Password")).to_have_count(0)
        await assert_no_token_readable(sleeper, sleep_watch.tokens)
    finally:
        await asleep.close()


async def test_a_viewer_sees_no_edit_controls_and_the_api_refuses_them(
    page: Page, live_server: LiveServer, mailbox: MailSink
) -> None:
    owner_email = unique_email("owner")
    viewer_email = unique_email("viewer")
    async with live_server.api() as api:
        await api_register(api, owner_email)
        owner = await api_login(api, owner_email)
        org_id, product_id = await api_organization_with_product(
            api, owner, name="Viewers Inc", product="Read-only widget"
        )
        response = await api.post(
            f"/organizations/{org_id}/invitations",
            json={"email": viewer_email, "role": "viewer"},
            headers=owner,
        )
        assert response.status_code == 201, response.text

    # The invitation link: create an account from it, then accept.
    await page.goto(await mailbox.link_for(viewer_email, "/accept-invitation"))
    await expect(page.get_by_role("heading", name="You are invited")).to_be_visible()
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Email").fill(viewer_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Accept invitation")).to_be_visible()
    await screenshot(page, "10-accept-invitation")
    await page.get_by_role("button", name="Accept invitation").click()

    await expect(page.get_by_role("heading", name="Viewers Inc")).to_be_visible()
    await expect(page.get_by_test_id("my-role")).to_have_text("viewer")
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.get_by_role("link", name="New product")).to_have_count(0)
    await screenshot(page, "11-viewer-products")
    await page.get_by_role("link", name="Read-only widget").click()
    await expect(page.get_by_role("heading", name="Read-only widget")).to_be_visible()
    await expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    await expect(page.get_by_role("button", name="Delete product")).to_have_count(0)
    await expect(page.locator("main input, main textarea")).to_have_count(0)
    await page.get_by_role("link", name="Members").click()
    await expect(page.locator("tbody tr").filter(has_text=viewer_email)).to_have_count(1)
    await expect(page.get_by_role("button", name="Send invitation")).to_have_count(0)
    await expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    await expect(page.get_by_role("link", name="Audit log")).to_have_count(0)

    # What the page hides, the API refuses anyway.
    async with live_server.api() as api:
        viewer = await api_login(api, viewer_email)
        products = f"/organizations/{org_id}/products"
        body = {"name": "Sneaky", "price_cents": 1, "currency": "EUR"}
        refused = [
            await api.post(products, json=body, headers=viewer),
            await api.patch(f"{products}/{product_id}", json={"name": "Sneaky"}, headers=viewer),
            await api.delete(f"{products}/{product_id}", headers=viewer),
            await api.post(
                f"/organizations/{org_id}/invitations",
                json={"email": unique_email("x"), "role": "owner"},
                headers=viewer,
            ),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403, 403]
        assert all(r.json()["code"] == "forbidden" for r in refused)
        unchanged = await api.get(f"{products}/{product_id}", headers=owner)
        assert unchanged.json()["name"] == "Read-only widget"


async def test_a_version_conflict_is_shown_and_resolved(
    page: Page, live_server: LiveServer
) -> None:
    email = unique_email("conflict")
    async with live_server.api() as api:
        await api_register(api, email)
        owner = await api_login(api, email)
        org_id, product_id = await api_organization_with_product(
            api, owner, name="Race", product="Widget"
        )

    # A deep link asks for sign-in first, then opens where it pointed.
    await page.goto(f"/orgs/{org_id}/products/{product_id}")
    await sign_in(page, email)
    await expect(page.get_by_role("heading", name="Edit Widget")).to_be_visible()

    # Someone else saves first.
    url = f"/organizations/{org_id}/products/{product_id}"
    async with live_server.api() as api:
        changed = await api.patch(
            url, json={"price_cents": 9900}, headers={**owner, "If-Match": '"1"'}
        )
        assert changed.status_code == 200, changed.text

    await page.get_by_label("Name").fill("Widget deluxe")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("alert")).to_contain_text("Someone else changed this item")
    conflict = page.get_by_role("region", name="This product was changed by someone else")
    await expect(conflict).to_contain_text("99.00")
    await screenshot(page, "12-version-conflict")

    await page.get_by_role("button", name="Apply my changes to their version").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    async with live_server.api() as api:
        saved = (await api.get(url, headers=owner)).json()
    assert (saved["name"], saved["price_cents"], saved["version"]) == ("Widget deluxe", 9900, 3)
