"""Domain types for Alembic revision files and their configuration."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from stager.types import MigrationKind, RepoPath, Revision, Sha

PARSE_LIMIT = 1 << 20
"""Bytes of Python source stager parses at most, per file (1 MiB).

Parsing and checking cost grows with a file's operations: a 17 MB revision
file of generated INSERTs took minutes to analyze. Above the limit a file is
read by a cheap line scan instead, and a warning or finding names it.
"""


def over_parse_limit(size: int) -> str | None:
    """Why a file of ``size`` bytes is not parsed (None: within :data:`PARSE_LIMIT`)."""
    if size <= PARSE_LIMIT:
        return None
    return f"{size / 1_000_000:.1f} MB, over stager's 1 MiB parse limit"


class BlobSource(Protocol):
    """Reads many blobs at once (``git cat-file --batch``), never one process per file."""

    def read_blobs(self, blobs: Iterable[Sha]) -> Mapping[Sha, bytes]: ...


@dataclass(frozen=True)
class AlembicConfig:
    """One Alembic environment found in a tree.

    ``source`` is the alembic.ini or pyproject.toml that declared it (None when
    found by the ``versions`` folder fallback).
    """

    source: RepoPath | None
    script_location: RepoPath | None
    version_locations: tuple[RepoPath, ...]
    recursive: bool
    # What stager could not resolve (bad separator, unknown package resource…),
    # each at its line in ``source``; the analysis goes on without it.
    problems: tuple[ParseProblem, ...] = ()
    # How `alembic revision` names a new file (``%(rev)s_%(slug)s`` when None), as
    # alembic reads it (``%%`` already interpolated), and how long a slug may be.
    file_template: str | None = None
    truncate_slug_length: int | None = None


class Receiver(enum.StrEnum):
    """What an ``execute`` that is not ``op.execute`` runs on."""

    CONNECTION = "connection"  # op.get_bind() and connections made from it
    SESSION = "session"  # an ORM session bound to one


class OperationDetails(NamedTuple):
    """What the rules read of an operation's arguments; None, () or False: not written.

    A NamedTuple, not a frozen dataclass: one is made for every ``op`` call
    parsed, and a frozen dataclass of this many fields made parsing 40% slower.

    Text fields hold a string argument's value, else the argument's source
    (``sa.String(100)``); a literal ``None`` counts as not written, except
    ``server_default=None``, which makes ``alter_column`` drop the default.
    """

    batch: bool = False  # inside op.batch_alter_table(...)
    name: str | None = None  # index, constraint or enum type name, when literal
    type_: str | None = None
    nullable: bool | None = None
    server_default: str | None = None
    drops_default: bool = False  # server_default=None
    new_column_name: str | None = None
    new_table_name: str | None = None
    existing_type: str | None = None
    existing_nullable: bool | None = None
    existing_server_default: str | None = None
    postgresql_using: str | None = None
    unique: bool | None = None
    primary_key: bool | None = None
    postgresql_concurrently: bool | None = None
    postgresql_not_valid: bool | None = None
    schema: str | None = None
    referent_table: str | None = None
    recreate: str | None = None  # batch_alter_table: "always" copies the table
    server_onupdate: str | None = None
    foreign_key: bool = False  # an added column with a sa.ForeignKey
    identity: str | None = None  # an added column's sa.Identity(...)
    computed: str | None = None  # an added column's sa.Computed(...)
    enums: tuple[str, ...] = ()  # enum types of the columns created or added
    references: tuple[str, ...] = ()  # tables create_table's foreign keys point at
    values: tuple[str, ...] = ()  # create_enum / drop_enum: the enum's values
    receiver: Receiver | None = None
    function: str | None = None  # call: the imported helper, as called
    module: str | None = None  # call: the module it comes from
    method: str | None = None  # orm: the session method
    autocommit: bool = False  # inside autocommit_block: outside the migration's transaction
    # execute: statement kinds of its literal SQL or SQLAlchemy builder; None: opaque
    statements: tuple[str, ...] | None = None
    where: bool | None = None  # a builder update()/delete() restricts its rows


NO_DETAILS = OperationDetails()  # immutable: one instance serves every default


@dataclass(frozen=True)
class Operation:
    """One database operation found in ``upgrade()`` or ``downgrade()``."""

    name: str  # e.g. "add_column", "execute", "drop_table"
    function: str  # "upgrade" or "downgrade"
    line: int
    table: str | None = None
    columns: tuple[str, ...] = ()
    sql: str | None = None  # literal SQL of op.execute, None when opaque
    details: OperationDetails = NO_DETAILS
    # String constants of rows and SQL builders (bulk_insert, insert().values(),
    # bindparams): the migration rules look for a new enum value being used.
    literals: frozenset[str] = frozenset()
    # Last line of the call (0: unknown): an inline ignore after its closing ``)`` counts.
    end_line: int = 0


@dataclass(frozen=True)
class ParseProblem:
    line: int
    message: str


@dataclass(frozen=True)
class MigrationFile:
    """A revision file as read with ``ast``; ``revision`` None when it has none."""

    path: RepoPath
    blob: Sha
    revision: Revision | None
    down_revisions: tuple[Revision, ...]
    branch_labels: tuple[str, ...]
    depends_on: tuple[Revision, ...]
    title: str  # first line of the module docstring
    revises: tuple[Revision, ...] | None  # the docstring's "Revises:" line, None if absent
    revision_line: int
    down_revision_line: int
    operations: tuple[Operation, ...]
    kind: MigrationKind
    problems: tuple[ParseProblem, ...] = ()
    depends_on_line: int = 0  # 0: not assigned
