"""The generated documents are fresh: docs/erd.mmd matches the models and
docs/configuration.md matches the Settings class. When one fails, regenerate with
`tenantry erd` or `tenantry config-docs` and commit the result."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tenantry.config import Settings
from tenantry.models import Base
from tenantry.reference import render_erd_mermaid, render_settings_reference
from tests.live import TENANTRY
from tests.ops.conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def test_entity_diagram_matches_the_models() -> None:
    committed = (DOCS / "erd.mmd").read_text(encoding="utf-8")
    assert committed == render_erd_mermaid(Base.metadata), "stale docs/erd.mmd: run `tenantry erd`"


def test_entity_diagram_names_every_table_column_and_foreign_key() -> None:
    diagram = render_erd_mermaid(Base.metadata)
    for table in Base.metadata.tables.values():
        assert f"    {table.name} {{" in diagram
        for column in table.columns:
            assert f" {column.name}" in diagram
            for foreign_key in column.foreign_keys:
                assert f"{foreign_key.column.table.name} " in diagram
                assert f'{table.name} : "{column.name}"' in diagram
    assert "sessions" in diagram
    # Refresh tokens are derived, not stored: there is no table for them.
    assert "refresh_tokens" not in diagram


def test_configuration_reference_matches_the_settings() -> None:
    committed = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert committed == render_settings_reference(), (
        "stale docs/configuration.md: run `tenantry config-docs`"
    )
    for name in Settings.model_fields:
        assert f"| `{name.upper()}` |" in committed


def test_the_commands_write_what_the_tests_compare(tmp_path: Path) -> None:
    subprocess.run(
        [str(TENANTRY), "erd", "--out-dir", str(tmp_path)], check=True, capture_output=True
    )
    subprocess.run(
        [str(TENANTRY), "config-docs", "--output", str(tmp_path / "configuration.md")],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "erd.mmd").read_text() == render_erd_mermaid(Base.metadata)
    assert (tmp_path / "configuration.md").read_text() == render_settings_reference()
