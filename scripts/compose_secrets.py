#!/usr/bin/env python3
"""Write the secrets compose.yaml reads: a random SECRET_KEY, a random METRICS_TOKEN
(for Prometheus), a random PostgreSQL password, and the DATABASE_URL that uses it.
Refuses to overwrite existing files (replacing SECRET_KEY signs everyone out; replacing
the password locks the API out of an existing database).

    python3 scripts/compose_secrets.py [--out deploy/compose/secrets]

The folder is private (0700); the files inside are 0644 because compose bind-mounts
them unchanged and the containers read them as their own unprivileged users.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "deploy" / "compose" / "secrets"


def generate() -> dict[str, str]:
    password = secrets.token_urlsafe(32)
    return {
        "secret_key": secrets.token_urlsafe(48),
        "metrics_token": secrets.token_urlsafe(32),
        "postgres_password": password,
        "database_url": f"postgresql+asyncpg://tenantry:{password}@postgres:5432/tenantry",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the files")
    args = parser.parse_args(argv)
    out: Path = args.out
    values = generate()
    existing = [name for name in values if (out / name).exists()]
    if existing:
        print(f"refusing to overwrite {', '.join(existing)} in {out}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    for name, value in values.items():
        path = out / name
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o644)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
