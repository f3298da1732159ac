"""Where the project's Alembic keeps its revisions, and stager's reads and writes of that table.

Alembic keeps them in ``alembic_version``, found on the ``search_path``
(``public`` on a database stager creates), unless env.py passes
``version_table_schema=`` or ``version_table=`` to ``context.configure``:
multi-tenant projects keep it in a schema of their own. The place is, in
this order, rules.toml's ``[verify] version_table``, else the literal
keywords of env.py (read with ``ast``, never imported), else
``public.alembic_version``. The routing proof writes its probe revision
there, each step's heads are read from there, and the schema snapshot leaves
out exactly that table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stager.database.alembic_run import ProjectAlembic, script_folder
from stager.database.psql import Psql, quote_ident, quote_literal
from stager.interrupts import deferred
from stager.migrations.lint.envpy import ENV_PY, read_version_table
from stager.types import VersionTable

CONFIGURED = "[verify] version_table"
FIX = 'name it in rules.toml: [verify] version_table = "SCHEMA.alembic_version"'


@dataclass(frozen=True)
class Located:
    """The project's version table, and what says it is there."""

    table: VersionTable
    origin: str | None = None  # "[verify] version_table", "migrations/env.py:12"; None: default
    env_py: str | None = None  # the environment's env.py, from the tree's root
    computed: tuple[str, ...] = ()  # what env.py passes that is no literal (unread)


def locate(tree: Path, alembic: ProjectAlembic, configured: VersionTable | None) -> Located:
    """The version table of the project's Alembic in ``tree``: rules.toml's, env.py's, Alembic's."""
    if configured is not None:
        return Located(configured, CONFIGURED)
    folder = script_folder(tree, tree / alembic.config, alembic.section)
    env_py = folder / ENV_PY if folder is not None else None
    if env_py is None or not env_py.is_file():
        return Located(VersionTable())
    shown = env_py.relative_to(tree).as_posix() if env_py.is_relative_to(tree) else str(env_py)
    found = read_version_table(env_py.read_bytes())
    if found.computed or found.line is None:
        return Located(VersionTable(), env_py=shown, computed=found.computed)
    table = VersionTable(found.schema or VersionTable.schema, found.name or VersionTable.name)
    return Located(table, f"{shown}:{found.line}", shown)


def _relation(table: VersionTable) -> str:
    return f"{quote_ident(table.schema)}.{quote_ident(table.name)}"


def _is(table: VersionTable, namespace: str, relation: str) -> str:
    return (
        f"({namespace}.nspname = {quote_literal(table.schema)} "
        f"AND {relation}.relname = {quote_literal(table.name)})"
    )


def excluded(table: VersionTable, namespace: str = "n", relation: str = "c") -> str:
    """A SQL condition true of every relation but ``table``, given the aliases of its rows
    in ``pg_namespace`` and ``pg_class``."""
    return f"NOT {_is(table, namespace, relation)}"


def versions(psql: Psql, table: VersionTable) -> tuple[str, ...]:
    """What the version table of stager's database holds (nothing when there is no table)."""
    present = psql.json(
        "SELECT 1 AS x FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE {_is(table, 'n', 'c')}"
    )
    if not present:
        return ()
    rows = psql.json(f"SELECT version_num AS v FROM {_relation(table)}")
    return tuple(sorted(row["v"] for row in rows))


def _schema_exists(psql: Psql, schema: str) -> bool:
    return bool(
        psql.json(f"SELECT 1 AS x FROM pg_namespace WHERE nspname = {quote_literal(schema)}")
    )


def missing_schema(psql: Psql, table: VersionTable) -> tuple[str, ...]:
    """Why a first upgrade failed, when the version table's schema does not exist (else none)."""
    if _schema_exists(psql, table.schema):
        return ()
    return (
        f"the schema {table.schema}, where the project's Alembic keeps its version table, does "
        "not exist: stager creates it for the routing probe only; the project's env.py or "
        "its first migration must create it, as a new production database needs (a project "
        "whose base a command of its own builds, such as `dispatch database init`, cannot "
        "be proven from its migrations alone)",
    )


@contextmanager
def probe_revision(psql: Psql, table: VersionTable, revision: str) -> Iterator[None]:
    """``revision`` in the version table while the block runs; the database as it was after.

    The table's schema is created when it is missing, and dropped again: creating it is
    the project's job (its env.py, its migrations), which the phases must show.
    """
    schema = quote_ident(table.schema)
    missing = not _schema_exists(psql, table.schema)
    psql.run(
        (f"CREATE SCHEMA {schema};" if missing else "")
        + f"CREATE TABLE {_relation(table)} (version_num varchar(64) PRIMARY KEY);"
        + f"INSERT INTO {_relation(table)} VALUES ({quote_literal(revision)});"
    )
    try:
        yield
    finally:
        with deferred():
            psql.run(
                f"DROP TABLE {_relation(table)};" + (f"DROP SCHEMA {schema};" if missing else "")
            )
