"""The `tenantry` command (DESIGN.md §8).

One module over 300 lines on purpose: every subcommand is a few lines of argument
handling around a call into the package, and reading them side by side is the point.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from alembic import command as alembic_command
from pydantic import TypeAdapter, ValidationError

from tenantry.audit.retention import PRUNE_BATCH_SIZE, InvalidAge, parse_age
from tenantry.config import ConfigurationError, Settings, get_settings
from tenantry.migrations import alembic_config

app = typer.Typer(help="Tenantry: authentication and multi-tenant access.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="Signing keys for access tokens.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _settings() -> Settings:
    try:
        settings = get_settings()
        settings.validate_for_startup()
    except ConfigurationError as exc:
        typer.echo("Configuration error; refusing to start:", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc
    return settings


def upgrade_database(settings: Settings, revision: str = "head") -> None:
    alembic_command.upgrade(alembic_config(settings.database_url), revision)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the API. The embedded SQLite database is migrated first; PostgreSQL is
    migrated explicitly with `tenantry db upgrade`."""
    import uvicorn

    from tenantry.observability.metrics import multiprocess_metrics

    settings = _settings()
    if settings.is_sqlite:
        # Once, here, before any worker starts: workers never race to migrate.
        upgrade_database(settings)
    with multiprocess_metrics(workers):
        uvicorn.run(
            "tenantry.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            # Believe X-Forwarded-* only from the configured proxies; uvicorn alone
            # would trust 127.0.0.1.
            proxy_headers=True,
            forwarded_allow_ips=settings.trusted_proxies,
            server_header=False,
            log_level=settings.log_level.lower(),
            access_log=False,
            # On SIGTERM: stop accepting, let requests in flight finish, then exit.
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
            # uvicorn's 5 s default kills workers still importing on a busy machine.
            timeout_worker_healthcheck=settings.worker_healthcheck_timeout_seconds,
        )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    upgrade_database(_settings(), revision)


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (`base` removes every table)."""
    alembic_command.downgrade(alembic_config(_settings().database_url), revision)


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    alembic_command.current(alembic_config(_settings().database_url), verbose=False)


@app.command("create-superuser")
def create_superuser(
    email: Annotated[str, typer.Option(help="The operator's email address.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a platform operator (a superuser)."""
    from tenantry.identity.schemas import Email

    settings = _settings()
    try:
        normalized = TypeAdapter(Email).validate_python(email)
    except ValidationError as exc:
        typer.echo("That is not a valid email address.", err=True)
        raise typer.Exit(2) from exc
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    message, code = asyncio.run(_create_superuser(settings, normalized, password))
    typer.echo(message, err=code != 0)
    raise typer.Exit(code)


async def _create_superuser(settings: Settings, email: str, password: str) -> tuple[str, int]:
    from tenantry.db import create_engine, create_sessionmaker
    from tenantry.identity import users
    from tenantry.identity.exceptions import EmailTaken, WeakPasswordError
    from tenantry.security.passwords import PasswordHasher

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as db:
            try:
                user = await users.register(
                    db,
                    email=email,
                    password=password,
                    full_name=None,
                    settings=settings,
                    hasher=PasswordHasher(settings),
                    context=None,
                    is_superuser=True,
                )
            except WeakPasswordError as exc:
                return f"Weak password: {exc.detail}", 2
            except EmailTaken:
                return f"A user with the email {email} already exists.", 1
            return f"Created superuser {user.email} ({user.id}).", 0
    finally:
        await engine.dispose()


@keys_app.command("generate")
def keys_generate(
    algorithm: Annotated[
        str, typer.Option(help="EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA 3072).")
    ] = "EdDSA",
    out_dir: Annotated[Path, typer.Option(help="Folder for the two PEM files.")] = Path("keys"),
) -> None:
    """Write a new signing key pair: the private key (mode 0600) and its public key.

    Rotate by signing with the new private key (`JWT_PRIVATE_KEY_FILE`) while the old
    public key stays in `JWT_PUBLIC_KEY_FILES` for one access-token lifetime.
    """
    from tenantry.security.keys import generate_key_pair

    try:
        private_path, public_path, kid = generate_key_pair(algorithm, out_dir)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"kid: {kid}\nprivate key: {private_path}\npublic key: {public_path}")


@app.command()
def openapi() -> None:
    """Print the OpenAPI document."""
    from tenantry.main import create_app

    settings = _settings().model_copy(update={"docs_enabled": True})
    typer.echo(json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True))


@app.command()
def erd(
    out_dir: Annotated[Path, typer.Option(help="Folder for erd.mmd (and erd.png).")] = Path("docs"),
) -> None:
    """Write the entity diagram from the models: erd.mmd (Mermaid), and erd.png when
    Graphviz's `dot` is installed."""
    import shutil
    import subprocess

    from tenantry.models import Base
    from tenantry.reference import render_erd_dot, render_erd_mermaid

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "erd.mmd").write_text(render_erd_mermaid(Base.metadata), encoding="utf-8")
    typer.echo(f"wrote {out_dir / 'erd.mmd'}")
    dot = shutil.which("dot")
    if dot is None:
        typer.echo("Graphviz `dot` is not installed: no erd.png", err=True)
        return
    subprocess.run(  # noqa: S603 (our own DOT text into Graphviz)
        [dot, "-Tpng", "-o", str(out_dir / "erd.png")],
        input=render_erd_dot(Base.metadata).encode("utf-8"),
        check=True,
    )
    typer.echo(f"wrote {out_dir / 'erd.png'}")


@app.command("config-docs")
def config_docs(
    output: Annotated[Path, typer.Option(help="The Markdown file to write.")] = Path(
        "docs/configuration.md"
    ),
) -> None:
    """Write the configuration reference (every setting, default, description)."""
    from tenantry.reference import render_settings_reference

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_settings_reference(), encoding="utf-8")
    typer.echo(f"wrote {output}")


@app.command()
def check() -> None:
    """Validate the configuration: print `configuration OK`, or every problem and exit 1."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        ]
    else:
        problems = settings.problems()
        if settings.jwt_algorithm != "HS256":
            from tenantry.security.jwt import KeyConfigurationError, TokenSigner

            try:
                TokenSigner(settings)
            except (KeyConfigurationError, OSError, ValueError) as exc:
                problems.append(f"JWT keys: {exc}")
    if problems:
        for problem in problems:
            typer.echo(problem)
        raise typer.Exit(1)
    typer.echo("configuration OK")


audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("prune")
def audit_prune(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than", help="Delete events older than this: 90d, 36h, or ISO 8601 (P90D)."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print how many events would be deleted.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Events deleted per transaction (short locks).")
    ] = PRUNE_BATCH_SIZE,
) -> None:
    """Delete old audit events in small batches; print how many were deleted."""
    settings = _settings()
    try:
        cutoff = datetime.now(UTC) - parse_age(older_than)
    except (InvalidAge, OverflowError) as exc:
        typer.echo(f"--older-than: {exc}", err=True)
        raise typer.Exit(2) from exc
    count = asyncio.run(_prune_audit(settings, cutoff, dry_run=dry_run, batch_size=batch_size))
    when = cutoff.isoformat(timespec="seconds")
    if dry_run:
        typer.echo(f"{count} audit events occurred before {when}; dry run, nothing deleted.")
    else:
        typer.echo(f"Deleted {count} audit events that occurred before {when}.")


async def _prune_audit(
    settings: Settings, cutoff: datetime, *, dry_run: bool, batch_size: int
) -> int:
    from tenantry.audit import service as audit_service
    from tenantry.db import create_engine, create_sessionmaker

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as db:
            if dry_run:
                return await audit_service.count_events_before(db, cutoff=cutoff)
            return await audit_service.prune_events(db, cutoff=cutoff, batch_size=batch_size)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    app()
