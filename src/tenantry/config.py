"""Every setting of the service, in one place (DESIGN.md §9).

Values come from the environment, then from `.env`; each `NAME` may instead be given
as `NAME_FILE`, the path of a file holding the value (Docker and Kubernetes secrets).
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tenantry.db"
DEV_SECRET_FILE = ".tenantry-secret-key"
MIN_SECRET_BYTES = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ConfigurationError(Exception):
    """The settings cannot run the service; `problems` lists every reason at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _read_file_variants(values: dict[str, Any]) -> dict[str, Any]:
    """Fill `NAME` from the file named by `NAME_FILE` when `NAME` itself is unset."""
    for key, value in list(os.environ.items()):
        if not key.endswith("_FILE") or key in {"JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILES"}:
            continue
        name = key.removesuffix("_FILE").lower()
        if name in Settings.model_fields and name not in values and key.lower() not in values:
            values[name] = Path(value).read_text(encoding="utf-8").strip()
    return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Environment = Field(
        Environment.development, description="`development`, `test` or `production`."
    )
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL; `postgresql+asyncpg://…` in production.",
    )
    database_pool_size: int = Field(10, ge=1, description="PostgreSQL connections per worker.")
    redis_url: str | None = Field(
        None, description="Shares rate limits and counters between workers and instances."
    )
    secret_key: str | None = Field(
        None,
        description="HS256 signing key, at least 32 bytes. Development generates one "
        f"once into `{DEV_SECRET_FILE}`; production requires it.",
    )
    jwt_algorithm: Literal["HS256", "EdDSA", "RS256", "ES256"] = Field(
        "HS256", description="Signing algorithm of access tokens."
    )
    jwt_private_key_file: str | None = Field(
        None, description="PEM private key that signs access tokens (EdDSA, RS256, ES256)."
    )
    jwt_public_key_files: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated PEM public keys that still verify tokens (key rotation).",
    )
    jwt_issuer: str = Field("tenantry", description="`iss` claim written and required.")
    jwt_audience: str = Field("tenantry-api", description="`aud` claim written and required.")
    access_token_ttl_seconds: int = Field(900, ge=30, description="Access token lifetime.")
    refresh_token_ttl_seconds: int = Field(
        1_209_600, ge=60, description="Sliding refresh token lifetime (14 days)."
    )
    session_max_age_seconds: int = Field(
        2_592_000, ge=60, description="Absolute session lifetime (30 days)."
    )
    refresh_reuse_interval_seconds: int = Field(
        10,
        ge=0,
        description="A rotated refresh token retried within this many seconds gets the "
        "current token instead of revoking the session.",
    )
    password_hasher: Literal["bcrypt", "argon2"] = Field(
        "bcrypt", description="Scheme for new hashes; old hashes are upgraded on login."
    )
    bcrypt_rounds: int = Field(12, ge=4, le=31, description="bcrypt cost factor.")
    password_min_length: int = Field(8, ge=1, description="Shortest accepted password.")
    hashing_threads: int = Field(
        0,
        ge=0,
        description="Threads that hash and verify passwords; 0 means one per CPU core.",
    )
    email_verification_required: bool = Field(
        False, description="Refuse login (`403 email_not_verified`) until the email is verified."
    )
    docs_enabled: bool | None = Field(
        None, description="Serve `/docs` and `/openapi.json`; default on, off in production."
    )
    frontend_url: str = Field(
        "http://127.0.0.1:8000", description="Base of the links written into mail."
    )
    spa_dir: Path | None = Field(
        None,
        description="Built web app served at `/`; default: the checkout's `frontend/dist` "
        "when it has been built.",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server for mail; unset writes mail to the log (not in production)."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_username: str | None = Field(None, description="SMTP login; unset sends without AUTH.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password for `SMTP_USERNAME`.")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_timeout_seconds: float = Field(
        10.0, gt=0, description="Time allowed for one SMTP connection and delivery."
    )
    mail_from: str = Field("no-reply@localhost", description="`From` address of every mail.")
    mail_send_attempts: int = Field(
        3, ge=1, le=10, description="Tries per mail before the failure is logged and dropped."
    )
    mail_retry_backoff_seconds: float = Field(
        0.5, ge=0, description="Wait before the second try; doubled before each further one."
    )
    password_reset_ttl_seconds: int = Field(
        3600, ge=60, description="Lifetime of a password reset link."
    )
    email_verification_ttl_seconds: int = Field(
        86_400, ge=60, description="Lifetime of an email verification link."
    )
    invitation_ttl_seconds: int = Field(
        604_800, ge=60, description="Lifetime of an organization invitation link (7 days)."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated peer addresses whose `X-Forwarded-*` headers are believed.",
    )
    log_format: Literal["console", "json"] | None = Field(
        None, description="`console`, or `json` (the production default)."
    )
    log_level: str = Field("INFO", description="Lowest level written to the log.")

    @model_validator(mode="before")
    @classmethod
    def _file_variants(cls, values: Any) -> Any:
        return _read_file_variants(values) if isinstance(values, dict) else values

    @field_validator("cors_origins", "trusted_proxies", "jwt_public_key_files", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def show_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    @property
    def json_logs(self) -> bool:
        return (self.log_format or ("json" if self.is_production else "console")) == "json"

    @property
    def secure_cookies(self) -> bool:
        return self.environment is not Environment.development

    @property
    def password_threads(self) -> int:
        return self.hashing_threads or (os.cpu_count() or 1)

    @cached_property
    def signing_secret(self) -> bytes:
        """The HS256 key: configured, or in development generated once and kept on disk."""
        if self.secret_key is not None:
            return self.secret_key.encode("utf-8")
        if self.is_production:
            raise ConfigurationError(["SECRET_KEY is required in production"])
        return _load_or_create_dev_secret(Path(DEV_SECRET_FILE)).encode("utf-8")

    def problems(self) -> list[str]:
        """Everything that makes these settings unsafe to run as configured."""
        found: list[str] = []
        if self.is_production:
            if self.secret_key is None:
                found.append("SECRET_KEY is required in production")
            elif len(self.secret_key.encode("utf-8")) < MIN_SECRET_BYTES:
                found.append(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes")
        elif self.secret_key is not None and len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            found.append(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes")
        if self.is_production and not self.smtp_host:
            found.append("SMTP_HOST is required in production (mail is only logged without it)")
        return found

    def validate_for_startup(self) -> None:
        if problems := self.problems():
            raise ConfigurationError(problems)


def _load_or_create_dev_secret(path: Path) -> str:
    """Create the development key atomically, so concurrent workers agree on one key.

    The key is written to a private temporary file and then hard-linked into place:
    the link either wins and publishes a complete file, or finds the winner's file.
    """
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text(encoding="utf-8").strip()


def get_settings() -> Settings:
    return Settings()
