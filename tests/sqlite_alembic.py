"""A throwaway Alembic project on SQLite, for tests that run rollback commands for real."""

from __future__ import annotations

from pathlib import Path

ALEMBIC_INI = """[alembic]
script_location = env
sqlalchemy.url = sqlite:///state.db
"""
ENV_PY = """from alembic import context
from sqlalchemy import create_engine

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
"""


def sqlite_project(folder: Path) -> Path:
    """``folder`` as an Alembic project whose database is ``state.db``; its versions folder."""
    versions = folder / "env" / "versions"
    versions.mkdir(parents=True)
    (folder / "alembic.ini").write_text(ALEMBIC_INI)
    (folder / "env" / "env.py").write_text(ENV_PY)
    return versions
