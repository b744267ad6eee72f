"""Every `/auth` route, as one router: the browser sign-in (`auth`), the OAuth 2.0
endpoints for API clients (`token`) and the mailbox flows (`account`). `/users` is
its own router (`users`), included separately by the app."""

from __future__ import annotations

from fastapi import APIRouter

from tenantry.identity.routes import account, auth, mfa, token

router = APIRouter()
router.include_router(auth.router)
router.include_router(token.router)
router.include_router(account.router)
router.include_router(mfa.router)
router.include_router(mfa.reauthenticate_router)
