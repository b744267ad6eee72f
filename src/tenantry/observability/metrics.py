"""Prometheus metrics (DESIGN.md §5 "Operations"): the objects, the request
middleware, the database pool gauge and `GET /metrics`.

With several worker processes every worker counts into its own memory-mapped files
under `PROMETHEUS_MULTIPROC_DIR` and `/metrics` sums them (prometheus-client's
multiprocess mode), so a scrape that lands on any worker sees the whole instance.
`tenantry serve --workers N` creates that folder and sets the variable before the
workers start: prometheus-client picks its storage when it is first imported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection
from starlette.types import Scope

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Requests no route matched (404s, scans, the web app's files) share one label, so a
# client cannot create a time series per made-up path.
UNMATCHED_ROUTE = "<unmatched>"

HTTP_REQUESTS = Counter(
    "tenantry_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "tenantry_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LOGINS = Counter(
    "tenantry_logins",
    "Password sign-ins (browser and password grant) by outcome.",
    ["outcome"],
)
REFRESHES = Counter(
    "tenantry_token_refreshes",
    "Refresh-token exchanges: `rotated`, `retried` (within the reuse interval) or `refused`.",
    ["outcome"],
)
REFRESH_REUSE_DETECTED = Counter(
    "tenantry_refresh_reuse_detected",
    "Rotated refresh tokens replayed after the reuse interval (the session was revoked).",
)
LOCKOUTS = Counter(
    "tenantry_login_lockouts",
    "Emails locked after too many failed sign-ins.",
)
RATE_LIMITED = Counter(
    "tenantry_rate_limited_requests",
    "Requests refused with 429 by a per-client limit, by rule.",
    ["rule"],
)
MAIL_FAILURES = Counter(
    "tenantry_mail_failures",
    "Mails dropped after every delivery attempt failed, by kind of mail.",
    ["kind"],
)
DEPENDENCY_UNAVAILABLE = Counter(
    "tenantry_dependency_unavailable",
    "Requests answered 503 because PostgreSQL or Redis could not be reached, by dependency.",
    ["dependency"],
)
DB_AUTH_POOL_CHECKED_OUT = Gauge(
    "tenantry_db_auth_pool_checked_out_connections",
    "Connections of the token check's own PostgreSQL pool in use (summed over live workers).",
    multiprocess_mode="livesum",
)
DB_POOL_CHECKED_OUT = Gauge(
    "tenantry_db_pool_checked_out_connections",
    "Database connections currently checked out of the pool (summed over live workers).",
    multiprocess_mode="livesum",
)
DB_POOL_WAIT = Histogram(
    "tenantry_db_pool_wait_seconds",
    "Time to obtain a database connection (waiting for a free one, or opening one), by "
    "pool: `main` (SQLAlchemy's) or `auth` (the token check's own).",
    ["pool"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
# Resolved once: both are observed on every request that touches the database.
MAIN_POOL_WAIT = DB_POOL_WAIT.labels(pool="main")
AUTH_POOL_WAIT = DB_POOL_WAIT.labels(pool="auth")


def route_label(scope: Scope) -> str:
    """The matched route's path template (`/users/{user_id}`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


def instrument_pool(engine: AsyncEngine) -> None:
    """Follow the engine's pool: +1 on every checkout, -1 on every checkin."""

    def checked_out(*_args: Any) -> None:
        DB_POOL_CHECKED_OUT.inc()

    def checked_in(*_args: Any) -> None:
        DB_POOL_CHECKED_OUT.dec()

    event.listen(engine.sync_engine, "checkout", checked_out)
    event.listen(engine.sync_engine, "checkin", checked_in)


class MeasuredPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool, timing each checkout into `DB_POOL_WAIT`.

    The pool has no event before a checkout, only after it; a request queueing for one
    of `DATABASE_POOL_SIZE` connections is only visible by timing the checkout itself.
    """

    def connect(self) -> PoolProxiedConnection:
        started = time.perf_counter()
        try:
            return super().connect()
        finally:
            MAIN_POOL_WAIT.observe(time.perf_counter() - started)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


@contextmanager
def multiprocess_metrics(workers: int) -> Iterator[None]:
    """Give the worker processes of `tenantry serve` one folder to count into.

    Must run before the workers start, which import prometheus-client afresh (uvicorn
    spawns them) and so pick multiprocess mode from the variable. A folder named by the
    operator is used as it is, emptied first as prometheus-client requires; otherwise,
    with several workers, a private temporary folder lives as long as the server.
    """
    configured = multiprocess_dir()
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        yield
        return
    if workers == 1:
        yield
        return
    created = tempfile.mkdtemp(prefix="tenantry-metrics-")
    os.environ[MULTIPROC_ENV] = created
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(created, ignore_errors=True)


def forget_this_process() -> None:
    """On a worker's exit: drop its share of the live gauges (counters are kept)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def render_metrics() -> bytes:
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
