"""Alembic migrations, shipped inside the package so `tenantry db …` works anywhere."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

HERE = Path(__file__).parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config
