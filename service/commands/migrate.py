"""Running the Alembic migrations from code (the `migrate` command and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_PACKAGE = Path(__file__).resolve().parents[1]
# An installed wheel carries the migrations inside the package (pyproject.toml); in a
# checkout they sit beside it.
MIGRATIONS = next(
    folder
    for folder in (_PACKAGE / "migrations", _PACKAGE.parent / "migrations")
    if (folder / "env.py").is_file()
)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database up to `revision` (default: the newest schema)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
