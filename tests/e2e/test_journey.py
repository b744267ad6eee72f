"""A person's whole visit, in a real browser against the real service."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect
from tests.e2e.conftest import LiveServer, screenshot, unique_email
from tests.e2e.flows import (
    TokenWatcher,
    assert_no_token_readable,
    sign_in,
    sign_out,
    sign_up,
)


async def test_sign_up_to_sign_out_with_an_organization_and_products(
    page: Page, live_server: LiveServer
) -> None:
    watcher = TokenWatcher(page)
    email = unique_email("journey")

    # Sign up (which signs in), then sign out and in again through the sign-in page.
    await sign_up(page, email)
    await expect(page).to_have_url(re.compile(r"/orgs$"))
    await expect(page.get_by_text("You do not belong to an organization yet")).to_be_visible()
    await sign_out(page)
    await screenshot(page, "01-sign-in")
    await sign_in(page, email)
    await expect(page).to_have_url(re.compile(r"/orgs$"))
    await expect(page.get_by_test_id("current-user")).to_have_text(email)
    await screenshot(page, "02-organizations-empty")

    # Create an organization: its (empty) product list opens.
    await page.get_by_label("Name").fill("Acme Rockets")
    await page.get_by_role("button", name="Create organization").click()
    await expect(page.get_by_role("heading", name="Acme Rockets")).to_be_visible()
    await expect(page.get_by_test_id("my-role")).to_have_text("owner")
    await expect(page.get_by_text("No products yet. Create the first one.")).to_be_visible()

    # Create two products.
    for name, sku, price in [("Anvil", "ANV-1", "12.50"), ("Rocket skates", "RS-2", "99")]:
        await page.get_by_role("link", name="New product").click()
        await page.get_by_label("Name").fill(name)
        await page.get_by_label("SKU (optional)").fill(sku)
        await page.get_by_label("Price").fill(price)
        await page.get_by_label("Currency").fill("EUR")
        if name == "Anvil":
            await screenshot(page, "03-new-product")
        await page.get_by_role("button", name="Create product").click()
        await expect(page.get_by_role("status").filter(has_text="Product created.")).to_be_visible()
        await page.get_by_role("link", name="Back to products").click()

    # Edit one: the change is saved and the version moves on.
    await page.get_by_role("link", name="Anvil").click()
    await expect(page.get_by_text("Version 1")).to_be_visible()
    await page.get_by_label("Name").fill("Anvil Pro")
    await page.get_by_label("Price").fill("15.00")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(page.get_by_text("Version 2")).to_be_visible()
    await screenshot(page, "04-edit-product")

    # The owner reads the audit log: both changes are there, newest first.
    await page.get_by_role("link", name="Audit log").click()
    await page.get_by_label("Action").fill("product.*")
    await page.get_by_role("button", name="Filter").click()
    events = page.locator("tbody tr")
    await expect(events).to_have_count(3)
    await expect(events.nth(0)).to_contain_text("product.updated")
    await expect(events.nth(2)).to_contain_text("product.created")
    await screenshot(page, "05-audit-log")
    await page.get_by_role("link", name="Products", exact=True).click()

    # Find it by search.
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2)
    await screenshot(page, "05-products-search")
    search = page.get_by_label("Search by name or SKU")
    await search.fill("anvil")
    await page.get_by_role("button", name="Search").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Anvil Pro")
    await expect(rows.first).to_contain_text("15.00")
    await search.fill("nothing like this")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_text("No product matches this search.")).to_be_visible()
    await search.fill("RS-2")
    await page.get_by_role("button", name="Search").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Rocket skates")
    products_url = page.url

    # Reload: the session comes back through the refresh cookie; no password asked.
    logins = watcher.count("POST /auth/login")
    refreshes = watcher.count("POST /auth/refresh", 200)
    await page.reload()
    await expect(rows.first).to_contain_text("Rocket skates")
    await expect(page.get_by_label("Password")).to_have_count(0)
    assert page.url == products_url
    assert watcher.count("POST /auth/login") == logins
    assert watcher.count("POST /auth/refresh", 200) == refreshes + 1
    await assert_no_token_readable(page, watcher.tokens)

    # The other pages of the account.
    await page.get_by_role("link", name="Sessions").click()
    await expect(page.get_by_text("this browser")).to_be_visible()
    await screenshot(page, "06-sessions")
    await page.get_by_role("link", name="Profile").click()
    await expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    await screenshot(page, "07-profile")
    await page.goto(products_url)
    await expect(rows.first).to_contain_text("Rocket skates")

    # Sign out: the back button shows no private data.
    await sign_out(page)
    assert [c for c in await page.context.cookies() if c["name"] == "tenantry_refresh"] == []
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"/signin"))
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    content = await page.content()
    for private in ["Rocket skates", "Anvil", "Acme Rockets", email]:
        assert private not in content
    assert await page.evaluate("() => localStorage.length + sessionStorage.length") == 0

    # And the tokens the browser held are dead on the server too.
    async with live_server.api() as api:
        for token in watcher.tokens:
            response = await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401


async def test_signing_out_in_one_tab_signs_out_the_others(page: Page) -> None:
    email = unique_email("tabs")
    await sign_up(page, email)
    await expect(page).to_have_url(re.compile(r"/orgs$"))

    # A second tab of the same browser restores the session from the shared cookie.
    second = await page.context.new_page()
    await second.goto("/account")
    await expect(second.get_by_role("heading", name="Profile")).to_be_visible()
    await expect(second.get_by_test_id("current-user")).to_have_text(email)

    await sign_out(page)

    # Without any action in it, the second tab leaves the private page.
    await expect(second).to_have_url(re.compile(r"/signin"))
    await expect(second.get_by_role("heading", name="Sign in")).to_be_visible()
    assert email not in await second.content()
    await second.close()


async def test_a_new_sign_in_is_picked_up_by_an_open_tab(page: Page) -> None:
    email = unique_email("pickup")
    await sign_up(page, email)
    await sign_out(page)
    waiting = await page.context.new_page()
    await waiting.goto("/signin")

    await sign_in(page, email)

    await expect(waiting).to_have_url(re.compile(r"/orgs$"))
    await expect(waiting.get_by_test_id("current-user")).to_have_text(email)
    await waiting.close()


async def test_errors_from_the_api_are_announced(page: Page) -> None:
    await page.goto("/signin")
    await sign_in(page, unique_email("nobody"), "not the password at all")
    await expect(page.get_by_role("alert")).to_have_text("The email or password is not right.")
    await expect(page).to_have_url(re.compile(r"/signin"))

    await page.goto("/signup")
    await page.get_by_label("Email").fill(unique_email("weak"))
    await page.get_by_label("Password").fill("password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("alert")).to_have_text("Password is too common.")
    await screenshot(page, "08-sign-up-error")
    await expect(page).to_have_url(re.compile(r"/signup"))
