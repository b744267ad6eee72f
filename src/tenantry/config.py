"""Every setting of the service, in one place (DESIGN.md §9).

Longer than most modules on purpose: it is the catalogue of settings, one field with
its default, bounds and description per setting, from which docs/configuration.md is
generated; splitting it would scatter that one list.

Where a value comes from, first match wins (`FileVariantsSource` below):

1. arguments to `Settings(...)` (tests, `tenantry openapi`);
2. the environment variable `NAME`;
3. the environment variable `NAME_FILE`: the content of the file it names;
4. `NAME` in the `.env` file of the working folder;
5. `NAME_FILE` in that `.env` file;
6. the default.

So the process environment beats `.env`, as everywhere in pydantic-settings, and
within each of the two a value given directly beats one given through a file.

Secrets are `SecretStr` (printed as `**********`); the database and Redis URLs stay
strings, because code and operators read their host and database, but their passwords
are masked wherever the settings are printed or serialized (`mask_url_password`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_serializer, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tenantry.db"
DEV_SECRET_FILE = ".tenantry-secret-key"
MIN_SECRET_BYTES = 32
# A production key with fewer distinct characters than this was typed, not generated.
MIN_SECRET_DISTINCT_CHARACTERS = 8
# Placeholders that appear in examples, tutorials and our own test suite: anyone can
# forge tokens signed with them. Compared lower-cased, after removing `-`, `_` and spaces.
WELL_KNOWN_SECRET_MARKERS = (
    "changeme",
    "changethis",
    "replaceme",
    "yoursecret",
    "mysecret",
    "supersecret",
    "secretkey",
    "devsecret",
    "testsecret",
    "example",
    "insecure",
)
GENERATE_SECRET_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ConfigurationError(Exception):
    """The settings cannot run the service; `problems` lists every reason at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# Settings whose own names end in `_FILE(S)`: their values are already paths (read by
# security/jwt.py), so `JWT_PRIVATE_KEY_FILE` is the setting itself, not an indirection.
PATH_SETTINGS = frozenset({"jwt_private_key_file", "jwt_public_key_files"})
# Settings that may hold a password inside a URL (`scheme://user:password@host/...`).
URL_SETTINGS = frozenset({"database_url", "redis_url"})
_PASSWORD_MASK = "***"


def mask_url_password(url: str) -> str:
    """The URL with the password of its user part and of any `password` query
    parameter replaced by `***`; a URL without one comes back unchanged, one that
    cannot be parsed comes back as `***` entirely."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return _PASSWORD_MASK
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{_PASSWORD_MASK}@{host}"
    query = parts.query
    if "password" in query.lower():
        query = "&".join(
            f"{key}={_PASSWORD_MASK}" if "password" in key.lower() else pair
            for pair in query.split("&")
            for key in [pair.partition("=")[0]]
        )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class FileVariantsSource(PydanticBaseSettingsSource):
    """`NAME_FILE=/path` gives the setting `NAME` the content of that file, for every
    setting (Docker and Kubernetes secrets), with its trailing line break removed.

    One instance reads the process environment, another the `.env` file, so each can
    take its place in the order of the module docstring. A file that cannot be read is
    a validation error naming the variable, the path and the reason, never a traceback
    and never the content. An empty `NAME_FILE` counts as unset, as in the official
    Docker images' `file_env`.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        variables: Mapping[str, str | None],
        *,
        origin: str,
    ) -> None:
        super().__init__(settings_cls)
        self._variables = variables
        self._origin = origin

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Variable names arrive lower-cased: the settings are case-insensitive.
        return self._variables.get(f"{field_name}_file"), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: list[InitErrorDetails] = []
        for field_name, field in self.settings_cls.model_fields.items():
            path, _, _ = self.get_field_value(field, field_name)
            if field_name in PATH_SETTINGS or not path:
                continue
            try:
                content = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
                # JSON for structured settings, as the environment source does.
                values[field_name] = self.prepare_field_value(field_name, field, content, False)
            except OSError as exc:
                errors.append(self._unreadable(field_name, path, exc.strerror or str(exc)))
            except UnicodeDecodeError:
                errors.append(self._unreadable(field_name, path, "not UTF-8 text"))
            except ValueError:
                errors.append(self._unreadable(field_name, path, "not valid JSON"))
        if errors:
            raise ValidationError.from_exception_data(
                self.settings_cls.__name__, errors, hide_input=True
            )
        return values

    def _unreadable(self, field_name: str, path: str, reason: str) -> InitErrorDetails:
        return {
            "type": PydanticCustomError(
                "settings_file_unreadable",
                "cannot read {path}, named in {origin}: {reason}",
                {"path": path, "origin": self._origin, "reason": reason},
            ),
            "loc": (f"{field_name}_file",),
            "input": path,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(origin={self._origin!r})"


def _variables_of(source: PydanticBaseSettingsSource) -> Mapping[str, str | None]:
    """The variables an environment or dotenv source read (names lower-cased, as the
    settings are case-insensitive), so that `_FILE` sees exactly what the source saw:
    `Settings(_env_file=None)` turns off `.env` for both."""
    return source.env_vars if isinstance(source, EnvSettingsSource) else {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        frozen=True,
        # A validation error would otherwise quote the value it refused (`tenantry
        # serve` prints it), and a value may be a secret.
        hide_input_in_errors=True,
    )

    environment: Environment = Field(
        Environment.development, description="`development`, `test` or `production`."
    )
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL; `postgresql+asyncpg://…` in production.",
    )
    database_pool_size: int = Field(10, ge=1, description="PostgreSQL connections per worker.")
    database_max_overflow: int = Field(
        0,
        ge=0,
        description="Extra PostgreSQL connections a busy worker may open beyond the pool; "
        "they are closed again at once, so a burst pays for new connections.",
    )
    database_auth_pool_size: int = Field(
        4,
        ge=1,
        description="PostgreSQL connections per worker for the token check of every "
        "authenticated request, apart from the pool above (it holds one only for a "
        "primary-key read).",
    )
    database_ping_idle_seconds: float = Field(
        10.0,
        ge=0,
        description="Ping a pooled PostgreSQL connection before use when it sat idle this "
        "long (0 pings every checkout).",
    )
    database_pool_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Time a request waits for a free PostgreSQL connection of the pool; "
        "past it the request answers `503 service_unavailable`.",
    )
    database_connect_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description="Time allowed to open a PostgreSQL connection; past it the request "
        "answers `503 service_unavailable`.",
    )
    database_command_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Time allowed for one PostgreSQL statement of a request; past it the "
        "request answers `503 service_unavailable`.",
    )
    database_auth_command_timeout_seconds: float = Field(
        2.0,
        gt=0,
        description="Time allowed for the token check's primary-key read; past it the "
        "request answers `503 service_unavailable`.",
    )
    redis_url: str | None = Field(
        None, description="Shares rate limits and counters between workers and instances."
    )
    redis_socket_timeout_seconds: float = Field(
        1.0,
        gt=0,
        description="Time allowed to connect to Redis and for each reply; past it the "
        "limited routes answer `503 service_unavailable` (they fail closed).",
    )
    service_unavailable_retry_after_seconds: int = Field(
        5,
        ge=1,
        description="`Retry-After` of a `503 service_unavailable` answered while "
        "PostgreSQL or Redis is unreachable.",
    )
    secret_key: SecretStr | None = Field(
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
    jwt_leeway_seconds: int = Field(
        30,
        ge=0,
        le=30,
        description="Clock skew allowed on `exp`, `iat` and `nbf` (DESIGN.md §4: at most 30).",
    )
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
    hashing_thread_niceness: int = Field(
        10,
        ge=0,
        le=19,
        description="`nice` of the hashing threads on Linux: a login storm then yields the "
        "CPU to requests that only check a token; 0 hashes at the event loop's priority.",
    )
    redis_key_prefix: str = Field(
        "tenantry", description="Prefix of every key written to Redis (several deployments)."
    )
    rate_limits_enabled: bool = Field(
        True, description="Per-IP request limits; the per-email login lockout stays on regardless."
    )
    rate_limit_login: str = Field(
        "20/minute", description="Login and password-grant requests per client IP."
    )
    rate_limit_register: str = Field("10/hour", description="Registrations per client IP.")
    rate_limit_refresh: str = Field(
        "60/minute", description="Refreshes (cookie and refresh grant together) per client IP."
    )
    rate_limit_mail_per_email: str = Field(
        "5/hour", description="Forgot-password and verification mails per email address."
    )
    rate_limit_mail_per_ip: str = Field(
        "20/hour", description="Forgot-password and verification requests per client IP."
    )
    rate_limit_invitations_per_inviter: str = Field(
        "20/hour", description="Invitations one member may send, over all organizations."
    )
    rate_limit_invitations_per_organization: str = Field(
        "100/day", description="Invitations sent from one organization, by all its members."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins per email within the window that lock it."
    )
    login_failure_window_seconds: int = Field(
        900, ge=1, description="Window in which failed logins per email are counted."
    )
    login_lockout_seconds: int = Field(
        60, ge=1, description="First lockout; each further lockout doubles it."
    )
    login_lockout_max_seconds: int = Field(900, ge=1, description="Longest single lockout.")
    login_max_consecutive_failures: int = Field(
        100,
        ge=1,
        description="Consecutive failures after which only a password reset unlocks the account.",
    )
    login_consecutive_failures_ttl_seconds: int = Field(
        30 * 24 * 3600,
        ge=1,
        description="How long the limits store keeps an email's run of consecutive failed "
        "logins, from its first failure (a success or a password reset ends it sooner); "
        "for an email without an account, the longest a reset-only lock lasts. An "
        "account's count is kept in the database as well.",
    )
    login_known_source_max_age_seconds: int = Field(
        90 * 24 * 3600,
        ge=0,
        description="A client IP that started a session of the account within this time "
        "has lockout counters of its own and no reset-only lock; 0 trusts no address.",
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
    mail_quoted_text_max_chars: int = Field(
        60,
        ge=8,
        le=200,
        description="Longest name (of a person, organization or role) quoted in a mail; "
        "longer ones are cut.",
    )
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
    mfa_challenge_ttl_seconds: int = Field(
        300,
        ge=30,
        description="Lifetime of the `mfa_token` of a sign-in waiting for its second factor.",
    )
    mfa_challenge_tries: int = Field(
        5,
        ge=1,
        description="Wrong codes one `mfa_token` takes before it dies.",
    )
    step_up_max_age_seconds: int = Field(
        600,
        ge=30,
        description="How recent the last authentication must be for sensitive actions "
        "(so far: removing a factor and new recovery codes; `/auth/reauthenticate` renews "
        "it).",
    )
    recovery_code_count: int = Field(
        10,
        ge=1,
        le=50,
        description="Recovery codes in a set.",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        gt=0,
        description="Largest request body accepted, declared or streamed; a larger one is "
        "answered `413 payload_too_large` (DESIGN.md §6: 1 MiB). Keep a proxy's limit "
        "(nginx `client_max_body_size`) in step.",
    )
    cors_max_age_seconds: int = Field(
        600,
        ge=0,
        description="How long a browser may cache a CORS preflight answer "
        "(`Access-Control-Max-Age`); browsers cap it (Chromium at 2 hours).",
    )
    jwks_max_age_seconds: int = Field(
        300,
        ge=0,
        description="How long verifiers may cache `/.well-known/jwks.json` "
        "(`Cache-Control: max-age`). Keep a retired public key published for at least "
        "this long plus one access-token lifetime.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated peer addresses whose `X-Forwarded-*` headers are believed.",
    )
    cookie_secure: bool | None = Field(
        None,
        description="Mark auth cookies `Secure`; unset means secure everywhere but development.",
    )
    allow_sqlite_in_production: bool = Field(
        False,
        description="Let production run on SQLite (one process on one machine; no scaling out).",
    )
    log_format: Literal["console", "json"] | None = Field(
        None, description="`console`, or `json` (the production default)."
    )
    log_level: str = Field("INFO", description="Lowest level written to the log.")
    metrics_token: SecretStr | None = Field(
        None,
        description="`GET /metrics` requires `Authorization: Bearer <token>`; required in "
        "production.",
    )
    shutdown_timeout_seconds: int = Field(
        30,
        ge=0,
        description="On SIGTERM, time allowed for requests in flight before workers stop.",
    )
    worker_healthcheck_timeout_seconds: int = Field(
        30,
        ge=1,
        description="With several workers, how long a worker may take to answer the "
        "supervisor's ping (start-up included) before it is replaced.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The order of the module docstring: each `_FILE` source right after the
        source of plain values it belongs to."""
        return (
            init_settings,
            env_settings,
            FileVariantsSource(settings_cls, _variables_of(env_settings), origin="the environment"),
            dotenv_settings,
            FileVariantsSource(settings_cls, _variables_of(dotenv_settings), origin=".env"),
            file_secret_settings,
        )

    @field_serializer(*URL_SETTINGS)
    def _serialize_url(self, url: str | None) -> str | None:
        return mask_url_password(url) if url else url

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in URL_SETTINGS and isinstance(value, str):
                value = mask_url_password(value)
            yield name, value

    @field_validator(
        "rate_limit_login",
        "rate_limit_register",
        "rate_limit_refresh",
        "rate_limit_mail_per_email",
        "rate_limit_mail_per_ip",
        "rate_limit_invitations_per_inviter",
        "rate_limit_invitations_per_organization",
    )
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit like '20/minute': {value!r}") from exc
        return value

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
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment is not Environment.development

    @property
    def password_threads(self) -> int:
        return self.hashing_threads or (os.cpu_count() or 1)

    @cached_property
    def signing_secret(self) -> bytes:
        """The HS256 key: configured, or in development generated once and kept on disk."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode("utf-8")
        if self.is_production:
            raise ConfigurationError(["SECRET_KEY is required in production"])
        return _load_or_create_dev_secret(Path(DEV_SECRET_FILE)).encode("utf-8")

    def problems(self) -> list[str]:
        """Everything that makes these settings unsafe to run as configured."""
        found: list[str] = []
        secret_key = self.secret_key.get_secret_value() if self.secret_key is not None else None
        if self.is_production:
            if secret_key is None:
                found.append(
                    f"SECRET_KEY is required in production; generate one: {GENERATE_SECRET_HINT}"
                )
            elif len(secret_key.encode("utf-8")) < MIN_SECRET_BYTES:
                found.append(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes")
            elif _looks_well_known(secret_key):
                found.append(
                    "SECRET_KEY looks like a placeholder or a typed phrase, not a random key; "
                    f"generate one: {GENERATE_SECRET_HINT}"
                )
        elif secret_key is not None and len(secret_key.encode()) < MIN_SECRET_BYTES:
            found.append(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes")
        if self.is_production and not self.smtp_host:
            found.append("SMTP_HOST is required in production (mail is only logged without it)")
        if self.is_production and self.is_sqlite and not self.allow_sqlite_in_production:
            found.append(
                "DATABASE_URL is SQLite: production needs PostgreSQL "
                "(or ALLOW_SQLITE_IN_PRODUCTION=true for a single-process deployment)"
            )
        if self.is_production and self.cookie_secure is False:
            found.append(
                "COOKIE_SECURE=false would send auth cookies over plain HTTP in production"
            )
        if self.is_production and self.metrics_token is None:
            found.append(
                "METRICS_TOKEN is required in production: without it `GET /metrics` shows "
                "every counter of the service to whoever reaches the port"
            )
        outlived = self.login_failure_window_seconds + self.login_lockout_max_seconds
        if self.login_consecutive_failures_ttl_seconds < outlived:
            found.append(
                "LOGIN_CONSECUTIVE_FAILURES_TTL_SECONDS must be at least "
                f"LOGIN_FAILURE_WINDOW_SECONDS + LOGIN_LOCKOUT_MAX_SECONDS ({outlived}): "
                "the lockout's counters must outlive every lockout"
            )
        found.extend(_cors_problems(self.cors_origins))
        return found

    def validate_for_startup(self) -> None:
        if problems := self.problems():
            raise ConfigurationError(problems)


def _looks_well_known(secret: str) -> bool:
    squashed = secret.lower().replace("-", "").replace("_", "").replace(" ", "")
    return (
        any(marker in squashed for marker in WELL_KNOWN_SECRET_MARKERS)
        or len(set(secret)) < MIN_SECRET_DISTINCT_CHARACTERS
    )


def _cors_problems(origins: list[str]) -> list[str]:
    """Checked in every environment: CORS always allows credentials, and a browser
    origin is matched exactly, so a malformed entry silently allows nothing."""
    found: list[str] = []
    for origin in origins:
        if origin == "*":
            found.append(
                "CORS_ORIGINS must list origins, not `*`: CORS here allows credentials, "
                "and a wildcard would let every site act with a signed-in user's cookies"
            )
            continue
        parts = urlsplit(origin)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
        ):
            found.append(
                f"CORS_ORIGINS entry {origin!r} is not an origin like https://app.example.com "
                "(scheme and host, optional port, no path or trailing slash)"
            )
    return found


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
