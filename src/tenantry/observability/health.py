from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is unreachable"}})
async def readyz(request: Request) -> JSONResponse:
    """The database (and Redis, when configured) answer; 503 otherwise, so a load
    balancer stops sending traffic to this instance."""
    engine: AsyncEngine = request.app.state.engine
    checks: dict[str, str] = {}
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any failure means "not ready"; the reason goes to the log
        checks["database"] = "unavailable"
    if request.app.state.settings.redis_url:
        try:
            redis_ok = await request.app.state.limits_storage.check()
        except Exception:  # an unreachable Redis is "not ready", whatever the exception
            redis_ok = False
        checks["redis"] = "ok" if redis_ok else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
