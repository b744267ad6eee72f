"""Steps a person takes in the web app, and API calls that set the scene for them."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Response, expect
from tests.e2e.conftest import PASSWORD


async def sign_up(
    page: Page, email: str, *, name: str = "Ada Lovelace", password: str = PASSWORD
) -> None:
    await page.goto("/signup")
    await page.get_by_label("Full name (optional)").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Create account").click()


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def sign_out(page: Page) -> None:
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/signin$"))
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def assert_no_token_readable(page: Page, tokens: list[str]) -> None:
    """No access or refresh token where a script could read or keep it."""
    readable: dict[str, str] = await page.evaluate(
        """() => ({
            local: JSON.stringify(Object.entries(localStorage)),
            session: JSON.stringify(Object.entries(sessionStorage)),
            cookie: document.cookie,
        })"""
    )
    assert readable["local"] == "[]", readable
    assert readable["session"] == "[]", readable
    assert "tenantry_refresh" not in readable["cookie"], readable
    assert "tenantry_csrf" in readable["cookie"], readable
    assert tokens, "the test saw no access token to look for"
    for token in tokens:
        assert token not in " ".join(readable.values())
    # The refresh token exists, but only as an HttpOnly, SameSite=Strict cookie for /auth.
    refresh = [c for c in await page.context.cookies() if c["name"] == "tenantry_refresh"]
    assert len(refresh) == 1
    assert refresh[0]["httpOnly"] is True
    assert refresh[0]["sameSite"] == "Strict"
    assert refresh[0]["path"] == "/auth"


async def refresh_cookies(page: Page) -> list[str]:
    return [c["value"] for c in await page.context.cookies() if c["name"] == "tenantry_refresh"]


class TokenWatcher:
    """Records the API calls a page makes and the access tokens it receives."""

    API = ("/auth/", "/users", "/organizations", "/invitations")

    def __init__(self, page: Page) -> None:
        self.tokens: list[str] = []
        self.calls: list[tuple[str, int]] = []
        page.on("response", self._on_response)

    async def _on_response(self, response: Response) -> None:
        path = httpx.URL(response.url).path
        if not path.startswith(self.API):
            return
        self.calls.append((f"{response.request.method} {path}", response.status))
        if path in {"/auth/login", "/auth/refresh"} and response.status == 200:
            try:
                body = await response.json()
            except PlaywrightError:
                # The page navigated away before the body could be read: that document
                # is gone, so no code of the page holds this token either.
                return
            self.tokens.append(body["access_token"])

    def count(self, call: str, status: int | None = None) -> int:
        return sum(1 for made, got in self.calls if made == call and status in {None, got})


async def api_login(api: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers for `email`, signed in through the API rather than the browser."""
    response = await api.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def api_register(api: httpx.AsyncClient, email: str, password: str = PASSWORD) -> None:
    response = await api.post("/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text


async def api_organization_with_product(
    api: httpx.AsyncClient, owner: dict[str, str], *, name: str, product: str
) -> tuple[str, str]:
    """An organization owned by `owner` holding one product; returns their ids."""
    response = await api.post("/organizations", json={"name": name}, headers=owner)
    assert response.status_code == 201, response.text
    org_id: str = response.json()["id"]
    response = await api.post(
        f"/organizations/{org_id}/products",
        json={"name": product, "sku": "SKU-1", "price_cents": 4200, "currency": "EUR"},
        headers=owner,
    )
    assert response.status_code == 201, response.text
    return org_id, response.json()["id"]
