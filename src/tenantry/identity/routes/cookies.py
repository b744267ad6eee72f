"""The browser flow's cookies (DESIGN.md §5).

The refresh token lives only in an HttpOnly cookie scoped to `/auth`, so scripts
can never read it and ordinary API calls never carry it. The CSRF cookie is
readable by the app's scripts, which echo it in `X-CSRF-Token` (double submit);
the value is bound to the session, see security/tokens.py.
"""

from __future__ import annotations

from fastapi import Response

REFRESH_COOKIE = "tenantry_refresh"
CSRF_COOKIE = "tenantry_csrf"
CSRF_HEADER = "X-CSRF-Token"
REFRESH_COOKIE_PATH = "/auth"


def set_auth_cookies(
    response: Response, *, refresh_token: str, csrf_token: str, max_age: int, secure: bool
) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=max_age,
        path=REFRESH_COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=False,
        samesite="strict",
    )


def clear_auth_cookies(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, secure=secure, httponly=True, samesite="strict"
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, httponly=False, samesite="strict")
    response.headers["Clear-Site-Data"] = '"cookies"'
