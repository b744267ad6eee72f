"""The container files, checked without a Docker engine (none runs here): compose.yaml
parses and names only what exists, the Dockerfile copies only what exists and the
build context keeps, and what the image runs works when run directly — the Python
environment built by the Dockerfile's own commands, started with compose's settings
(hosts adapted to 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from tests.ops.conftest import REDIS_URL, REPO_ROOT
from tests.ops.servers import Server, start_server

COMPOSE = REPO_ROOT / "compose.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
SECRETS_SCRIPT = REPO_ROOT / "scripts" / "compose_secrets.py"
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
UV = REPO_ROOT / ".tools" / "uv" / "bin" / "uv"


# -- reading the files ---------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for name, args in self.instructions if name == keyword]


def dockerfile_stages() -> list[Stage]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].lower() == "as" else str(len(stages))
            stages.append(Stage(name=name, base=parts[0]))
        else:
            stages[-1].instructions.append((keyword, args.strip()))
    return stages


def dockerignore_patterns() -> list[str]:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it: anchored at the context's root,
    `*` and `?` within one path segment, `**` across any number of them."""
    regex = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex += "(?:.*/)?"
            index += 3
        elif pattern.startswith("**", index):
            regex += ".*"
            index += 2
        elif pattern[index] == "*":
            regex += "[^/]*"
            index += 1
        elif pattern[index] == "?":
            regex += "[^/]"
            index += 1
        else:
            regex += re.escape(pattern[index])
            index += 1
    return re.compile(regex + "$")


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether `path` (or a folder above it) is left out of the build context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _dockerignore_regex(pattern.removeprefix("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            result = not negate
    return result


def copy_sources(args: str) -> tuple[str | None, list[str], str]:
    words = shlex.split(args)
    source_stage = None
    while words[0].startswith("--"):
        flag = words.pop(0)
        if flag.startswith("--from="):
            source_stage = flag.removeprefix("--from=")
    return source_stage, words[:-1], words[-1]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def dev_uv_version() -> str:
    found = re.search(r'^UV_VERSION="([^"]+)"', (REPO_ROOT / "dev").read_text(), re.MULTILINE)
    assert found
    return found.group(1)


# -- the Dockerfile ------------------------------------------------------------------


def test_dockerfile_stages_copy_only_what_exists_and_the_context_keeps() -> None:
    stages = dockerfile_stages()
    assert [stage.name for stage in stages] == ["web", "python-build", "runtime"]
    assert stages[0].base.startswith("node:20")
    patterns = dockerignore_patterns()
    for index, stage in enumerate(stages):
        for args in stage.all("COPY"):
            source_stage, sources, _target = copy_sources(args)
            if source_stage is not None:
                earlier = [s.name for s in stages[:index]]
                assert source_stage in earlier or re.match(r"^[\w./-]+:[\w.-]+$", source_stage), (
                    args
                )
                continue
            for source in sources:
                assert (REPO_ROOT / source).exists(), f"{stage.name}: COPY {source}: no such path"
                assert not ignored(source.rstrip("/"), patterns), f"{source} is in .dockerignore"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    patterns = dockerignore_patterns()
    for path in (
        ".env",
        ".tenantry-secret-key",
        "tenantry.db",
        ".venv",
        ".git",
        "deploy/compose/secrets",
        "frontend/node_modules",
        "src/tenantry/__pycache__",
    ):
        assert ignored(path, patterns), path
    for path in (
        "pyproject.toml",
        "uv.lock",
        "README.md",
        "src/tenantry/main.py",
        "frontend/package.json",
        "frontend/src",
    ):
        assert not ignored(path, patterns), path


def test_runtime_stage_is_unprivileged_checks_health_and_serves_several_workers() -> None:
    runtime = dockerfile_stages()[-1]
    users = runtime.all("USER")
    assert users, "the runtime runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    (healthcheck,) = runtime.all("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[0] == "python"
    assert "/healthz" in command[-1]
    assert json.loads(runtime.all("ENTRYPOINT")[-1]) == ["tenantry"]
    cmd = json.loads(runtime.all("CMD")[-1])
    assert cmd[0] == "serve"
    assert int(cmd[cmd.index("--workers") + 1]) >= 2
    # The uv that builds the image is the one ./dev pins.
    uv_copy = next(a for a in dockerfile_stages()[1].all("COPY") if "astral-sh/uv" in a)
    assert f"astral-sh/uv:{dev_uv_version()} " in uv_copy


# -- compose.yaml --------------------------------------------------------------------


def test_compose_references_only_what_exists(tmp_path: Path) -> None:
    spec = compose()
    services: dict[str, Any] = spec["services"]
    assert {"postgres", "redis", "migrate", "api"} <= services.keys()
    declared_secrets: dict[str, Any] = spec.get("secrets", {})
    declared_volumes = set((spec.get("volumes") or {}).keys())
    # The secret files are made by the documented script; made here in a scratch folder.
    generated = tmp_path / "secrets"
    run = subprocess.run(
        ["python3", str(SECRETS_SCRIPT), "--out", str(generated)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    for secret in declared_secrets.values():
        path = Path(secret["file"])
        assert path.parent == Path("deploy/compose/secrets"), secret
        assert (generated / path.name).is_file(), f"the script does not write {path.name}"
    assert (REPO_ROOT / "deploy" / "compose" / "secrets" / ".gitignore").is_file()

    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            context = (
                service["build"]
                if isinstance(service["build"], str)
                else service["build"]["context"]
            )
            assert (REPO_ROOT / context / "Dockerfile").is_file(), name
        for env_file in service.get("env_file", []):
            assert (REPO_ROOT / env_file).is_file(), f"{name}: {env_file}"
        for secret in service.get("secrets", []):
            assert (secret if isinstance(secret, str) else secret["source"]) in declared_secrets, (
                name
            )
        for target in service.get("depends_on", {}):
            assert target in services, f"{name} depends on unknown {target}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared_volumes or (REPO_ROOT / source).exists(), volume

    api, migrate = services["api"], services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert int(api["command"][api["command"].index("--workers") + 1]) >= 2
    # Every secret reaches the app through a `*_FILE` variable, never in the env file.
    env = compose_environment("api")
    assert not {"SECRET_KEY", "DATABASE_URL", "SMTP_PASSWORD"} & env.keys()
    for secret in api["secrets"]:
        assert f"/run/secrets/{secret}" in env.values()


def compose_environment(service: str) -> dict[str, str]:
    spec = compose()["services"][service]
    env: dict[str, str] = {}
    for env_file in spec.get("env_file", []):
        for line in (REPO_ROOT / env_file).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                env[key.strip()] = value.strip()
    environment = spec.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    env.update({key: str(value) for key, value in environment.items()})
    return env


# -- what the image runs, run directly -----------------------------------------------


@pytest.fixture(scope="module")
def image_environment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python environment of the image, built by the python-build stage's own
    COPY, ENV and RUN lines in a scratch folder (uv from ./dev, the same version)."""
    if not UV.exists():
        pytest.fail("run ./dev setup first: it installs the pinned uv into .tools/")
    root = tmp_path_factory.mktemp("image")
    workdir = root
    venv = root / "venv"
    env = {**os.environ, "PATH": f"{UV.parent}:{os.environ['PATH']}"}
    env.pop("VIRTUAL_ENV", None)
    stage = next(s for s in dockerfile_stages() if s.name == "python-build")
    for keyword, args in stage.instructions:
        if keyword == "WORKDIR":
            workdir = root / args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", args):
                env[key] = value
            env["UV_PROJECT_ENVIRONMENT"] = str(venv)
        elif keyword == "COPY":
            source_stage, sources, target = copy_sources(args)
            if source_stage is not None:
                continue  # uv itself: the pinned one from ./dev
            for source in sources:
                origin = REPO_ROOT / source
                destination = workdir / target if target not in {".", "./"} else workdir
                if origin.is_dir():
                    shutil.copytree(
                        origin,
                        destination,
                        dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"),
                    )
                else:
                    shutil.copy2(
                        origin, destination / origin.name if destination.is_dir() else destination
                    )
        elif keyword == "RUN":
            # The Dockerfile's own shell commands, as `docker build` runs them.
            result = subprocess.run(  # noqa: S602
                args, shell=True, cwd=workdir, env=env, capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, f"RUN {args}\n{result.stderr}"
    assert (venv / "bin" / "tenantry").exists()
    return venv


@pytest.fixture
def compose_database(tmp_path: Path, redis_prefix: str) -> Iterator[dict[str, str]]:
    """compose's settings for the api service, adapted: PostgreSQL and Redis on
    127.0.0.1, a fresh database, secrets written by the documented script."""
    name = f"tenantry_compose_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    secrets_dir = tmp_path / "run-secrets"
    subprocess.run(
        ["python3", str(SECRETS_SCRIPT), "--out", str(secrets_dir)], check=True, capture_output=True
    )
    # The URL the script wrote, with compose's host and user swapped for this machine's.
    (secrets_dir / "database_url").write_text(
        f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}\n"
    )
    env = {
        key: value.replace("/run/secrets/", f"{secrets_dir}/")
        for key, value in compose_environment("api").items()
    }
    env["REDIS_URL"] = env["REDIS_URL"].replace("redis://redis:", "redis://127.0.0.1:")
    assert env["REDIS_URL"] == REDIS_URL
    env["REDIS_KEY_PREFIX"] = redis_prefix
    try:
        yield env
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_image(
    venv: Path, args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [str(venv / "bin" / "tenantry"), *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_image_entrypoint_migrates_and_serves_with_compose_settings(
    image_environment: Path, compose_database: dict[str, str], tmp_path: Path
) -> None:
    spec = compose()["services"]
    env = compose_database
    assert env["ENVIRONMENT"] == "production"

    check = run_image(image_environment, ["check"], env, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr

    migrate = run_image(image_environment, spec["migrate"]["command"], env, tmp_path)
    assert migrate.returncode == 0, migrate.stderr

    # The api's command, on a free loopback port instead of 0.0.0.0:8000.
    command = list(spec["api"]["command"])
    workers = int(command[command.index("--workers") + 1])
    clean = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
    server: Server = start_server(tmp_path, {**clean, **env}, workers=workers)
    try:
        server.wait_ready()
        assert httpx.get(f"{server.base_url}/readyz").status_code == 200
        registered = httpx.post(
            f"{server.base_url}/auth/register",
            json={
                "email": f"compose-{uuid.uuid4().hex[:8]}@example.com",
                "password": "a long enough passphrase",
            },
        )
        assert registered.status_code == 201, registered.text
        # The image's HEALTHCHECK command, pointed at this port.
        runtime = dockerfile_stages()[-1]
        (healthcheck,) = runtime.all("HEALTHCHECK")
        probe = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
        probe[-1] = probe[-1].replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
        assert (
            subprocess.run(
                [str(image_environment / "bin" / "python"), *probe[1:]], check=False
            ).returncode
            == 0
        )
    finally:
        assert server.stop() == 0
