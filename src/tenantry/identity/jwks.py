"""Serves `/.well-known/jwks.json`: the public keys that verify access tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tenantry.dependencies import AppSettings, Signer

router = APIRouter(tags=["operations"])


@router.get("/.well-known/jwks.json")
async def jwks(signer: Signer, settings: AppSettings) -> JSONResponse:
    """Public keys that verify access tokens (empty under HS256, whose key is secret)."""
    document: dict[str, Any] = signer.jwks()
    return JSONResponse(
        document, headers={"Cache-Control": f"public, max-age={settings.jwks_max_age_seconds}"}
    )
