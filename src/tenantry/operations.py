"""The operational endpoints a load balancer and a scraper call: `/healthz`, `/readyz`
and `/metrics`. They sit with the app, not in observability/, because readiness asks
the identity package's token-check pool and the scrape answers 401 like any route."""

from __future__ import annotations

import hmac

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.errors import Unauthorized
from tenantry.identity.principal import AsyncpgPrincipalReader
from tenantry.observability.metrics import render_metrics

router = APIRouter(tags=["operations"])
log = structlog.get_logger("tenantry.health")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is unreachable"}})
async def readyz(request: Request) -> JSONResponse:
    """The database (and Redis, when configured) answer; 503 otherwise, so a load
    balancer stops sending traffic to this instance."""
    # "The database" is both pools on PostgreSQL: the engine's and the token check's
    # own. Each check is bounded by the connect and command timeouts.
    engine: AsyncEngine = request.app.state.engine
    checks: dict[str, str] = {}
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("not_ready", dependency="database", error=type(exc).__name__)
        checks["database"] = "unavailable"
    reader = request.app.state.principal_reader
    if isinstance(reader, AsyncpgPrincipalReader):
        try:
            await reader.check()
            checks["database_auth"] = "ok"
        except Exception as exc:  # as above: the pool that checks every token
            log.warning("not_ready", dependency="database_auth", error=type(exc).__name__)
            checks["database_auth"] = "unavailable"
    if request.app.state.settings.redis_url:
        try:
            redis_ok = await request.app.state.limits_storage.check()
        except Exception as exc:  # an unreachable Redis is "not ready", whatever the exception
            log.warning("not_ready", dependency="redis", error=type(exc).__name__)
            redis_ok = False
        checks["redis"] = "ok" if redis_ok else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: {"description": "`METRICS_TOKEN` is set and the bearer token is missing or wrong"},
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this instance (every worker's, summed). When `METRICS_TOKEN`
    is set, the scraper must send it as `Authorization: Bearer <token>`."""
    expected = request.app.state.settings.metrics_token
    if expected is not None:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        # Constant-time comparison: the scrape token is a credential.
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.encode("utf-8"), expected.get_secret_value().encode("utf-8")
        ):
            raise Unauthorized("A valid metrics token is required.", token_sent=bool(presented))
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)
