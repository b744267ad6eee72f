"""Immediate revocation across workers (DESIGN.md §1.1): two server processes share
one database; a logout through one is seen by the other on the very next request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import PASSWORD, bearer
from tests.live import live_server


def test_logout_through_one_process_is_401_on_the_other_at_once(
    settings: Any, tmp_path: Path, app: Any
) -> None:
    with (
        live_server(settings.database_url, tmp_path) as first,
        live_server(settings.database_url, tmp_path) as second,
    ):
        email = "two-processes@example.com"
        registered = httpx.post(
            f"{first}/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201
        token = httpx.post(
            f"{first}/auth/login", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        assert httpx.get(f"{second}/users/me", headers=bearer(token)).status_code == 200

        assert httpx.post(f"{first}/auth/logout", headers=bearer(token)).status_code == 204

        response = httpx.get(f"{second}/users/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
