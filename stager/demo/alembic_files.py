"""The demo's Alembic environment and a renderer for its revision files.

Revision files are rendered from the same template alembic's ``revision``
command uses, so their header (``Revises:``), identifiers and file names look
exactly like the ones a team writes. Early revisions use the template of older
Alembic releases (no annotations), later ones the current template: real
versions folders mix both, and stager's parser must read both.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

VERSIONS = "backend/migrations/versions"

ALEMBIC_INI = """\
# Alembic configuration for the fuel credits backend.

[alembic]
# path to migration scripts, relative to this file
script_location = %(here)s/migrations

# revision files are named <date>-<rev>_<slug>.py so they sort by creation time
file_template = %%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s

# sys.path path, will be prepended to sys.path if present.
prepend_sys_path = .

# split lists of paths (version_locations, prepend_sys_path) with os.pathsep
path_separator = os

# local development database; deployments pass -x db_url=... instead
sqlalchemy.url = postgresql://fuelcredits:fuelcredits@localhost:5432/fuelcredits


[post_write_hooks]

# Logging configuration
[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""

ENV_PY = '''\
"""Alembic environment for the fuel credits database (PostgreSQL)."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Programs that drive alembic through its API (tests, deploy tooling) keep
# their own logging by setting config.attributes["configure_logger"] = False.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

# Migrations are written by hand and never import the application, so that
# every revision runs on its own; autogenerate is not used.
target_metadata = None


def database_url() -> str:
    """The URL from ``-x db_url=...`` when given, else sqlalchemy.url."""
    url = context.get_x_argument(as_dictionary=True).get("db_url")
    return url or config.get_main_option("sqlalchemy.url")


def run_migrations_offline() -> None:
    """Run migrations in 'offline' mode.

    This configures the context with just a URL and not an Engine, so no
    DBAPI is needed. Calls to context.execute() here emit the given string
    to the script output.
    """
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations in 'online' mode, with an Engine and a connection."""
    section = config.get_section(config.config_ini_section, {})
    section["sqlalchemy.url"] = database_url()
    connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)

    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)

        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

SCRIPT_PY_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


@dataclass(frozen=True)
class Migration:
    """One Alembic revision file of the demo, before rendering.

    ``created`` is ``YYYY-MM-DD HH:MM`` (it names the file and fills
    ``Create Date``); ``upgrade`` and ``downgrade`` are function bodies written
    flush left; ``legacy`` selects the template of older Alembic releases.
    """

    revision: str
    down_revision: str | None
    message: str
    created: str
    upgrade: str
    downgrade: str
    imports: str = ""
    notes: str = ""
    legacy: bool = False

    @property
    def path(self) -> str:
        day, time = self.created.split(" ")
        stamp = day.replace("-", "_") + "_" + time.replace(":", "")
        slug = self.message.lower().replace(" ", "_").replace("-", "_")
        return f"{VERSIONS}/{stamp}-{self.revision}_{slug}.py"

    def render(self) -> str:
        """The revision file's text, as ``alembic revision`` would have written it."""
        notes = f"\n{self.notes.strip()}\n" if self.notes else ""
        header = (
            f'"""{self.message}\n{notes}\n'
            f"Revision ID: {self.revision}\n"
            f"Revises: {self.down_revision or ''}\n"
            f"Create Date: {self.created}:00.000000\n\n"
            '"""\n'
        )
        imports = f"{self.imports.strip()}\n" if self.imports else ""
        upgrade = textwrap.indent(self.upgrade.strip("\n"), "    ")
        downgrade = textwrap.indent(self.downgrade.strip("\n"), "    ")
        if self.legacy:
            return (
                f"{header}from alembic import op\nimport sqlalchemy as sa\n{imports}\n\n"
                "# revision identifiers, used by Alembic.\n"
                f"revision = {self.revision!r}\n"
                f"down_revision = {self.down_revision!r}\n"
                "branch_labels = None\n"
                "depends_on = None\n\n\n"
                f"def upgrade():\n{upgrade}\n\n\n"
                f"def downgrade():\n{downgrade}\n"
            )
        return (
            f"{header}from typing import Sequence, Union\n\n"
            f"from alembic import op\nimport sqlalchemy as sa\n{imports}\n\n"
            "# revision identifiers, used by Alembic.\n"
            f"revision: str = {self.revision!r}\n"
            f"down_revision: Union[str, None] = {self.down_revision!r}\n"
            "branch_labels: Union[str, Sequence[str], None] = None\n"
            "depends_on: Union[str, Sequence[str], None] = None\n\n\n"
            f"def upgrade() -> None:\n{upgrade}\n\n\n"
            f"def downgrade() -> None:\n{downgrade}\n"
        )
