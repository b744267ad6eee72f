"""`tenantry audit prune`: old events go, in batches; nothing newer is touched."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit import service
from tenantry.audit.models import AuditEvent
from tenantry.audit.retention import InvalidAge, parse_age
from tenantry.db import utcnow
from tests.audit.conftest import InsertEvents
from tests.conftest import TEST_SECRET

TENANTRY = Path(sys.executable).with_name("tenantry")


async def _remaining(db: AsyncSession) -> set[Any]:
    db.expire_all()
    return set((await db.scalars(select(AuditEvent.id))).all())


async def test_prune_deletes_only_events_before_the_cutoff(
    db: AsyncSession, insert_events: InsertEvents
) -> None:
    now = utcnow()
    old = await insert_events(7, newest=now - timedelta(days=91))
    recent = await insert_events(3, newest=now - timedelta(days=89))
    cutoff = now - timedelta(days=90)

    assert await service.count_events_before(db, cutoff=cutoff) == 7
    # A batch size that does not divide the backlog: three full batches and a short one.
    deleted = await service.prune_events(db, cutoff=cutoff, batch_size=2)

    assert deleted == len(old)
    assert await _remaining(db) == {event.id for event in recent}
    assert await service.prune_events(db, cutoff=cutoff, batch_size=2) == 0


async def test_prune_keeps_an_event_exactly_at_the_cutoff(
    db: AsyncSession, insert_events: InsertEvents
) -> None:
    cutoff = utcnow() - timedelta(days=1)
    [at_cutoff] = await insert_events(newest=cutoff)
    [before] = await insert_events(newest=cutoff - timedelta(microseconds=1))

    assert await service.prune_events(db, cutoff=cutoff) == 1
    assert await _remaining(db) == {at_cutoff.id}
    assert before.id not in await _remaining(db)


def _tenantry(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [str(TENANTRY), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


async def test_prune_command_dry_run_then_delete(
    migrated_url: str, tmp_path: Path, db: AsyncSession, insert_events: InsertEvents
) -> None:
    now = utcnow()
    await insert_events(4, newest=now - timedelta(days=100))
    recent = await insert_events(2, newest=now - timedelta(days=10))

    dry = _tenantry(migrated_url, tmp_path, "audit", "prune", "--older-than", "90d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("4 audit events occurred before ")
    assert "nothing deleted" in dry.stdout
    assert await db.scalar(select(func.count()).select_from(AuditEvent)) == 6

    real = _tenantry(migrated_url, tmp_path, "audit", "prune", "--older-than", "P90D")
    assert real.returncode == 0, real.stderr
    assert real.stdout.startswith("Deleted 4 audit events that occurred before ")
    assert await _remaining(db) == {event.id for event in recent}


async def test_prune_command_refuses_zero_or_negative_ages(
    migrated_url: str, tmp_path: Path, db: AsyncSession, insert_events: InsertEvents
) -> None:
    await insert_events(2, newest=utcnow() - timedelta(days=400))

    for age in ("0d", "-5d"):  # every other form is covered by the parse_age tests
        result = _tenantry(migrated_url, tmp_path, "audit", "prune", f"--older-than={age}")
        assert result.returncode == 2, age
        assert "--older-than" in result.stderr
        assert "positive" in result.stderr

    assert await db.scalar(select(func.count()).select_from(AuditEvent)) == 2


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("90d", timedelta(days=90)),
        ("36h", timedelta(hours=36)),
        (" 7D ", timedelta(days=7)),
        ("P90D", timedelta(days=90)),
        ("PT12H", timedelta(hours=12)),
        ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
        ("P2W", timedelta(weeks=2)),
        ("pt90s", timedelta(seconds=90)),
    ],
)
def test_parse_age_accepts(text: str, age: timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0d",
        "0h",
        "P0D",
        "PT0S",
        "-1d",
        "-P1D",
        "90",
        "90m",
        "1y",
        "P",
        "PT",
        "P1Y",
        "P1M",
        "P1DT",
        "P1H",
        "9" * 30 + "d",
    ],
)
def test_parse_age_refuses(text: str) -> None:
    with pytest.raises(InvalidAge):
        parse_age(text)
