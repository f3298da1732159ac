"""Domain types for Alembic revision files and their configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from stager.types import MigrationKind, RepoPath, Revision, Sha


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


@dataclass(frozen=True)
class Operation:
    """One database operation found in ``upgrade()`` or ``downgrade()``."""

    name: str  # e.g. "add_column", "execute", "drop_table"
    function: str  # "upgrade" or "downgrade"
    line: int
    table: str | None = None
    columns: tuple[str, ...] = ()
    sql: str | None = None  # literal SQL of op.execute, None when opaque
    details: Mapping[str, str] = field(default_factory=dict)
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
