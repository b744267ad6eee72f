"""`tenantry check` and the start-up guard: production refuses unsafe settings and
names every problem at once (DESIGN.md §7, §8, §9)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tenantry.config import ConfigurationError, Settings
from tenantry.main import create_app
from tests.conftest import TEST_SECRET

TENANTRY = Path(sys.executable).with_name("tenantry")
GOOD_KEY = secrets.token_urlsafe(48)
GOOD_METRICS_TOKEN = secrets.token_urlsafe(32)
POSTGRES_URL = "postgresql+asyncpg://tenantry@db.internal:5432/tenantry"


def _run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed command, with only the given variables: nothing leaks in from the
    test run's environment, and the empty working directory holds no `.env`."""
    clean = {"PATH": os.environ["PATH"], "HOME": str(cwd), **env}
    return subprocess.run(
        [str(TENANTRY), *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=60
    )


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def _production(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "production",
        "secret_key": GOOD_KEY,
        "database_url": POSTGRES_URL,
        "smtp_host": "smtp.internal",
        "metrics_token": GOOD_METRICS_TOKEN,
    }
    return _settings(**{**values, **overrides})


def test_check_names_every_production_problem_at_once(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "check",
        ENVIRONMENT="production",
        SECRET_KEY="changeme",
        COOKIE_SECURE="false",
        CORS_ORIGINS="*",
    )

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 6, result.stdout
    expected = [
        "SECRET_KEY",
        "SMTP_HOST",
        "SQLite",
        "COOKIE_SECURE",
        "METRICS_TOKEN",
        "CORS_ORIGINS",
    ]
    for name, line in zip(expected, lines, strict=True):
        assert name in line
    assert "configuration OK" not in result.stdout
    assert "changeme" not in result.stdout + result.stderr  # a secret is never echoed


def test_check_accepts_a_sound_production_configuration(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "check",
        ENVIRONMENT="production",
        SECRET_KEY=GOOD_KEY,
        DATABASE_URL=POSTGRES_URL,
        SMTP_HOST="smtp.internal",
        METRICS_TOKEN=GOOD_METRICS_TOKEN,
        CORS_ORIGINS="https://app.example.com,http://localhost:5173",
        DOCS_ENABLED="true",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "configuration OK\n"


def test_check_passes_development_defaults_without_writing_a_key(tmp_path: Path) -> None:
    result = _run(tmp_path, "check")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "configuration OK\n"
    assert list(tmp_path.iterdir()) == []


def test_check_reports_an_unreadable_value_instead_of_a_traceback(tmp_path: Path) -> None:
    result = _run(tmp_path, "check", SMTP_PORT="not-a-port", ENVIRONMENT="staging")

    assert result.returncode == 1
    assert "SMTP_PORT" in result.stdout
    assert "ENVIRONMENT" in result.stdout
    assert "Traceback" not in result.stderr


def test_serve_refuses_to_start_and_lists_every_problem(tmp_path: Path) -> None:
    result = _run(tmp_path, "serve", "--port", "9", ENVIRONMENT="production")

    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    for name in ("SECRET_KEY", "SMTP_HOST", "SQLite"):
        assert sum(name in line for line in result.stderr.splitlines()) == 1, name
    assert not (tmp_path / "tenantry.db").exists()  # nothing was migrated


def test_create_app_refuses_unsafe_production_settings() -> None:
    with pytest.raises(ConfigurationError) as raised:
        create_app(_production(secret_key=None, cookie_secure=False))
    assert len(raised.value.problems) == 2


@pytest.mark.parametrize(
    "key",
    [
        TEST_SECRET,  # in this repository, so public
        "changeme-changeme-changeme-changeme",
        "CHANGE_ME_to_a_long_random_value_please",
        "your-secret-key-goes-here-0123456789",
        "super-secret-key-for-production-2026",
        "a" * 64,
        "abcabcabcabcabcabcabcabcabcabcabcabc",  # 3 distinct characters
    ],
)
def test_placeholder_or_typed_keys_are_refused_in_production(key: str) -> None:
    problems = _production(secret_key=key).problems()
    assert len(problems) == 1
    assert problems[0].startswith("SECRET_KEY looks like a placeholder")
    assert key not in problems[0]


def test_short_key_is_refused_everywhere_but_placeholders_only_in_production() -> None:
    short = "x" * 31
    assert _production(secret_key=short).problems() == ["SECRET_KEY must be at least 32 bytes"]
    assert _settings(secret_key=short).problems() == ["SECRET_KEY must be at least 32 bytes"]
    assert _settings(environment="test", secret_key=TEST_SECRET).problems() == []
    assert _production(secret_key="é" * 16).problems()  # 32 bytes, typed: still refused


def test_random_keys_pass() -> None:
    assert _production(secret_key="01234567" * 4).problems() == []  # 8 distinct: enough
    for _ in range(20):
        assert _production(secret_key=secrets.token_urlsafe(32)).problems() == []
        assert _production(secret_key=secrets.token_hex(32)).problems() == []


def test_sqlite_in_production_needs_an_explicit_opt_in() -> None:
    sqlite = "sqlite+aiosqlite:///./tenantry.db"
    assert any("SQLite" in p for p in _production(database_url=sqlite).problems())
    allowed = _production(database_url=sqlite, allow_sqlite_in_production=True)
    assert allowed.problems() == []


def test_production_needs_a_metrics_token() -> None:
    assert _production(metrics_token=None).problems() == [
        "METRICS_TOKEN is required in production: without it `GET /metrics` shows "
        "every counter of the service to whoever reaches the port"
    ]
    assert _settings(environment="test").problems() == []
    assert _settings().problems() == []  # development serves /metrics openly


def test_cookie_secure_setting() -> None:
    assert _settings().secure_cookies is False  # development serves plain http://127.0.0.1
    assert _settings(environment="test").secure_cookies is True
    assert _production().secure_cookies is True
    assert _settings(cookie_secure=True).secure_cookies is True
    assert _settings(environment="test", cookie_secure=False).secure_cookies is False
    assert _settings(environment="test", cookie_secure=False).problems() == []
    assert _production(cookie_secure=False).problems() == [
        "COOKIE_SECURE=false would send auth cookies over plain HTTP in production"
    ]
    assert _production(cookie_secure=True).problems() == []


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_wildcard_or_malformed_cors_origins_are_refused_everywhere(environment: str) -> None:
    settings = (_production if environment == "production" else _settings)(
        environment=environment,
        cors_origins="https://ok.example, *, https://slash.example/, app.example.com, null",
    )
    problems = settings.problems()
    assert len(problems) == 4, problems
    assert "not `*`" in problems[0]
    assert "'https://slash.example/'" in problems[1]
    assert "'app.example.com'" in problems[2]
    assert "'null'" in problems[3]
