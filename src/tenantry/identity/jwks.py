from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tenantry.dependencies import Signer

router = APIRouter(tags=["operations"])


@router.get("/.well-known/jwks.json")
async def jwks(signer: Signer) -> JSONResponse:
    """Public keys that verify access tokens (empty under HS256, whose key is secret)."""
    document: dict[str, Any] = signer.jwks()
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})
