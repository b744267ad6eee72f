"""structlog set-up: JSON lines in production, readable lines in development."""

from __future__ import annotations

import logging
import sys

import structlog

from tenantry.config import Settings

# Libraries whose DEBUG lines quote SQL parameters (password hashes, token digests).
PARAMETER_ECHOING_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "asyncpg")


_configured_level = logging.INFO


def _level(settings: Settings) -> int:
    return logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)


def writes(level: int) -> bool:
    """Whether lines of this level are written now, so a hot path can skip building
    the others (structlog would drop them, after the caller paid for the arguments)."""
    return _configured_level <= level


def configure_logging(settings: Settings) -> None:
    global _configured_level
    _configured_level = _level(settings)
    for name in PARAMETER_ECHOING_LOGGERS:
        # WARNING, not INFO: SQLAlchemy builds a log record per statement at INFO.
        logging.getLogger(name).setLevel(logging.WARNING)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.json_logs
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_level(settings)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
