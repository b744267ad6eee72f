"""Where settings come from and what they show (DESIGN.md §9): every `NAME` may be given
as `NAME_FILE` in the environment or in `.env`, in one documented order; an unreadable
file is an error naming the variable; no secret or password is ever printed; and the
numbers that were constants are settings the app obeys."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs

from tenantry.config import PATH_SETTINGS, Settings, mask_url_password
from tenantry.main import create_app
from tests.conftest import make_settings

TENANTRY = Path(sys.executable).with_name("tenantry")
SETTING_NAMES = {name.upper() for name in Settings.model_fields}

SECRET_KEY = "Kq7-settings-test-signing-key-9fZx2LmN4pRt8vW"
SMTP_PASSWORD = "smtp-pass-Zr8Qm2"
METRICS_TOKEN = "metrics-token-Hy5Tn1"
DATABASE_PASSWORD = "db-pass-Wd3Xc7"
DATABASE_QUERY_PASSWORD = "db-query-pass-Pq4Ls6"
REDIS_PASSWORD = "redis-pass-Jk9Bv0"
DATABASE_URL = (
    f"postgresql+asyncpg://tenantry:{DATABASE_PASSWORD}@db.internal:5432/tenantry"
    f"?ssl=require&password={DATABASE_QUERY_PASSWORD}"
)
REDIS_URL = f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0"
EVERY_SECRET = (
    SECRET_KEY,
    SMTP_PASSWORD,
    METRICS_TOKEN,
    DATABASE_PASSWORD,
    DATABASE_QUERY_PASSWORD,
    REDIS_PASSWORD,
)


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the test run's environment, and an empty working folder (no
    `.env`): every value a test sees is one it set."""
    for key in list(os.environ):
        if key.upper() in SETTING_NAMES or key.upper().removesuffix("_FILE") in SETTING_NAMES:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_name_file_in_the_environment_gives_the_value_without_its_trailing_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY_FILE", str(write(tmp_path / "key", SECRET_KEY + "\n")))
    monkeypatch.setenv("SMTP_PASSWORD_FILE", str(write(tmp_path / "smtp", SMTP_PASSWORD + "\r\n")))
    monkeypatch.setenv("DATABASE_URL_FILE", str(write(tmp_path / "db", DATABASE_URL)))
    monkeypatch.setenv("SMTP_PORT_FILE", str(write(tmp_path / "port", "2525\n")))
    monkeypatch.setenv(
        "CORS_ORIGINS_FILE", str(write(tmp_path / "cors", "https://a.example, https://b.example\n"))
    )

    settings = Settings(_env_file=None)

    assert settings.secret_key == SecretStr(SECRET_KEY)
    assert settings.smtp_password == SecretStr(SMTP_PASSWORD)
    assert settings.database_url == DATABASE_URL
    assert settings.smtp_port == 2525
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.signing_secret == SECRET_KEY.encode()


def test_name_file_in_dotenv_is_read_and_relative_to_the_working_folder(tmp_path: Path) -> None:
    write(tmp_path / "secret_key.txt", SECRET_KEY + "\n")
    write(tmp_path / ".env", "SECRET_KEY_FILE=secret_key.txt\nMETRICS_TOKEN=" + METRICS_TOKEN)

    settings = Settings()

    assert settings.secret_key == SecretStr(SECRET_KEY)
    assert settings.metrics_token == SecretStr(METRICS_TOKEN)
    # `_env_file=None` turns `.env` off entirely, its `_FILE` variables included.
    assert Settings(_env_file=None).secret_key is None


def test_empty_name_file_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY_FILE", "")
    assert Settings(_env_file=None).secret_key is None


@pytest.mark.parametrize(
    ("given", "winner"),
    [
        ({"init", "env", "env_file", "dotenv", "dotenv_file"}, "init"),
        ({"env", "env_file", "dotenv", "dotenv_file"}, "env"),
        ({"env_file", "dotenv", "dotenv_file"}, "env_file"),
        ({"dotenv", "dotenv_file"}, "dotenv"),
        ({"dotenv_file"}, "dotenv_file"),
        (set(), "default"),
        # Each place beats every later one, not only the next.
        ({"env_file", "dotenv_file"}, "env_file"),
        ({"env", "dotenv_file"}, "env"),
    ],
)
def test_precedence_init_env_env_file_dotenv_dotenv_file_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: set[str], winner: str
) -> None:
    dotenv_lines = []
    if "env" in given:
        monkeypatch.setenv("JWT_ISSUER", "env")
    if "env_file" in given:
        monkeypatch.setenv("JWT_ISSUER_FILE", str(write(tmp_path / "env_file", "env_file\n")))
    if "dotenv" in given:
        dotenv_lines.append("JWT_ISSUER=dotenv")
    if "dotenv_file" in given:
        write(tmp_path / "dotenv_file", "dotenv_file\n")
        dotenv_lines.append("JWT_ISSUER_FILE=dotenv_file")
    write(tmp_path / ".env", "\n".join(dotenv_lines) + "\n")
    init: dict[str, Any] = {"jwt_issuer": "init"} if "init" in given else {}

    issuer = Settings(**init).jwt_issuer

    assert issuer == ("tenantry" if winner == "default" else winner)


def test_unreadable_files_are_errors_that_name_the_variable_path_and_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-file"
    (tmp_path / "latin1").write_bytes(b"caf\xe9")
    monkeypatch.setenv("SECRET_KEY_FILE", str(missing))
    monkeypatch.setenv("METRICS_TOKEN_FILE", str(tmp_path))  # a folder, not a file
    write(tmp_path / ".env", f"SMTP_PASSWORD_FILE={tmp_path / 'latin1'}\n")

    with pytest.raises(ValidationError) as from_environment:
        Settings(_env_file=None)
    errors = {error["loc"]: error["msg"] for error in from_environment.value.errors()}
    assert errors == {
        ("secret_key_file",): f"cannot read {missing}, named in the environment: "
        "No such file or directory",
        ("metrics_token_file",): f"cannot read {tmp_path}, named in the environment: "
        "Is a directory",
    }

    monkeypatch.delenv("SECRET_KEY_FILE")
    monkeypatch.delenv("METRICS_TOKEN_FILE")
    with pytest.raises(ValidationError) as from_dotenv:
        Settings()
    [error] = from_dotenv.value.errors()
    assert error["loc"] == ("smtp_password_file",)
    assert error["msg"] == f"cannot read {tmp_path / 'latin1'}, named in .env: not UTF-8 text"


def test_key_file_settings_are_paths_not_indirections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read by security/jwt.py when the signer is built, not by the settings: a path that
    # does not exist yet is no error here, and the value is the path itself.
    monkeypatch.setenv("JWT_PRIVATE_KEY_FILE", str(tmp_path / "keys" / "private.pem"))
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILES", "keys/old.pem, keys/older.pem")

    settings = Settings(_env_file=None)

    assert settings.jwt_private_key_file == str(tmp_path / "keys" / "private.pem")
    assert settings.jwt_public_key_files == ["keys/old.pem", "keys/older.pem"]
    assert {"jwt_private_key_file", "jwt_public_key_files"} == PATH_SETTINGS
    # No setting is named like the `_FILE` variant of another one.
    assert not {f"{name}_file" for name in Settings.model_fields} & set(Settings.model_fields)


def secret_settings() -> Settings:
    return Settings(
        _env_file=None,
        secret_key=SECRET_KEY,
        smtp_password=SMTP_PASSWORD,
        metrics_token=METRICS_TOKEN,
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
    )


def test_repr_str_and_serialization_show_no_secret_and_no_url_password() -> None:
    settings = secret_settings()
    assert settings.signing_secret == SECRET_KEY.encode()  # cached on the instance

    shown = {
        "repr": repr(settings),
        "str": str(settings),
        "model_dump_json": settings.model_dump_json(),
        "model_dump": repr(settings.model_dump()),
    }

    for way, text in shown.items():
        for secret in EVERY_SECRET:
            assert secret not in text, (way, secret)
    # Masked, not dropped: an operator still sees where the service connects.
    assert "tenantry:***@db.internal:5432/tenantry?ssl=require&password=***" in shown["repr"]
    assert "redis://:***@cache.internal:6379/0" in shown["model_dump_json"]
    # The code still gets the real values.
    assert settings.database_url == DATABASE_URL
    assert settings.redis_url == REDIS_URL
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == SMTP_PASSWORD


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite+aiosqlite:///./tenantry.db", "sqlite+aiosqlite:///./tenantry.db"),
        ("postgresql+asyncpg://app@db/x", "postgresql+asyncpg://app@db/x"),
        ("postgresql+asyncpg://app:p%40ss@db:5432/x", "postgresql+asyncpg://app:***@db:5432/x"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        (
            "rediss://user:pw@cache/1?ssl_cert_reqs=none",
            "rediss://user:***@cache/1?ssl_cert_reqs=none",
        ),
        ("postgresql://db/x?user=app&password=pw", "postgresql://db/x?user=app&password=***"),
        ("postgresql://app:pw@[::1/x", "***"),  # unparseable: nothing of it is shown
    ],
)
def test_url_passwords_are_masked_and_nothing_else_changes(url: str, shown: str) -> None:
    assert mask_url_password(url) == shown


def run_tenantry(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed command with only the given variables."""
    clean = {"PATH": os.environ["PATH"], "HOME": str(cwd), **env}
    return subprocess.run(
        [str(TENANTRY), *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=60
    )


SECRET_ENVIRONMENT = {
    "SECRET_KEY": SECRET_KEY[:20],  # too short: `check` reports SECRET_KEY
    "SMTP_PASSWORD": SMTP_PASSWORD,
    "METRICS_TOKEN": METRICS_TOKEN,
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
}


def test_check_and_serve_name_problems_without_printing_a_secret(tmp_path: Path) -> None:
    reported = run_tenantry(tmp_path, "check", ENVIRONMENT="production", **SECRET_ENVIRONMENT)
    assert reported.returncode == 1
    assert "SECRET_KEY must be at least 32 bytes" in reported.stdout
    # A secret typed into the wrong variable is refused without being quoted.
    mistyped = run_tenantry(
        tmp_path, "serve", "--port", "9", SMTP_PORT=SMTP_PASSWORD, **SECRET_ENVIRONMENT
    )
    assert mistyped.returncode == 2
    assert "smtp_port" in mistyped.stderr
    assert "Traceback" not in mistyped.stderr

    for result in (reported, mistyped):
        for secret in (*EVERY_SECRET, SECRET_KEY[:20]):
            assert secret not in result.stdout + result.stderr


def test_check_reports_an_unreadable_secret_file_by_its_variable(tmp_path: Path) -> None:
    result = run_tenantry(tmp_path, "check", SECRET_KEY_FILE=str(tmp_path / "missing"))

    assert result.returncode == 1
    assert result.stdout == (
        f"SECRET_KEY_FILE: cannot read {tmp_path / 'missing'}, named in the environment: "
        "No such file or directory\n"
    )
    assert "Traceback" not in result.stderr


def test_config_docs_shows_defaults_not_the_configured_secrets(tmp_path: Path) -> None:
    output = tmp_path / "configuration.md"
    result = run_tenantry(tmp_path, "config-docs", "--output", str(output), **SECRET_ENVIRONMENT)

    assert result.returncode == 0, result.stderr
    written = output.read_text(encoding="utf-8")
    assert "| `MAX_BODY_BYTES` | `1048576` |" in written
    for secret in (*EVERY_SECRET, SECRET_KEY[:20]):
        assert secret not in written + result.stdout + result.stderr


@pytest.fixture
async def small_bodies(migrated_url: str) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(make_settings(migrated_url, max_body_bytes=1000))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await application.state.principal_reader.close()
    await application.state.engine.dispose()


def login_body(size: int) -> bytes:
    head, tail = b'{"email": "a@example.com", "password": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def test_max_body_bytes_is_the_limit_the_app_enforces(
    small_bodies: httpx.AsyncClient,
) -> None:
    json_type = {"Content-Type": "application/json"}
    over = await small_bodies.post("/auth/login", content=login_body(1001), headers=json_type)
    assert over.status_code == 413
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json()["code"] == "payload_too_large"

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length to trust
        body = login_body(1500)
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    chunked = await small_bodies.post("/auth/login", content=streamed(), headers=json_type)
    assert chunked.status_code == 413

    at_limit = await small_bodies.post("/auth/login", content=login_body(1000), headers=json_type)
    assert at_limit.status_code != 413  # read, then refused for what it says
    assert at_limit.json()["code"] != "payload_too_large"


@pytest.mark.parametrize("value", [0, -1])
def test_max_body_bytes_must_be_positive(value: int) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, max_body_bytes=value)
    assert raised.value.errors()[0]["loc"] == ("max_body_bytes",)


def test_consecutive_failure_counters_must_outlive_every_lockout() -> None:
    def problems(**values: Any) -> list[str]:
        return Settings(_env_file=None, **values).problems()

    assert problems() == []
    # Default window 900 s + longest lockout 900 s.
    assert problems(login_consecutive_failures_ttl_seconds=1800) == []
    assert problems(login_consecutive_failures_ttl_seconds=1799) == [
        "LOGIN_CONSECUTIVE_FAILURES_TTL_SECONDS must be at least "
        "LOGIN_FAILURE_WINDOW_SECONDS + LOGIN_LOCKOUT_MAX_SECONDS (1800): "
        "the lockout's counters must outlive every lockout"
    ]


async def test_outage_logs_name_the_error_not_the_urls(caplog: pytest.LogCaptureFixture) -> None:
    # Nothing listens on ports 1 and 2: every request meets a refused connection.
    settings = make_settings(
        f"postgresql+asyncpg://tenantry:{DATABASE_PASSWORD}@127.0.0.1:1/tenantry",
        redis_url=f"redis://:{REDIS_PASSWORD}@127.0.0.1:2/0",
        log_level="DEBUG",
    )
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application)
    with capture_logs() as logs, caplog.at_level(logging.DEBUG):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            ready = await http.get("/readyz")
            login = await http.post(
                "/auth/login", json={"email": "a@example.com", "password": "x" * 12}
            )
    await application.state.principal_reader.close()
    await application.state.engine.dispose()

    assert (ready.status_code, login.status_code) == (503, 503)
    assert any(entry["event"] == "dependency_unavailable" for entry in logs)
    written = repr(logs) + caplog.text + ready.text + login.text
    assert DATABASE_PASSWORD not in written
    assert REDIS_PASSWORD not in written
