"""Typed identifiers and the risk scale shared by every layer."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NewType, Protocol

Sha = NewType("Sha", str)
"""A full 40-hex object id (commit, tree or blob)."""

Revision = NewType("Revision", str)
"""An Alembic revision id, as written in a revision file."""

RepoPath = NewType("RepoPath", str)
"""A path relative to the repository root, '/'-separated, as git prints it."""


@dataclass(frozen=True)
class VersionTable:
    """Where a project's Alembic keeps its revisions: a table, in a schema.

    Alembic's default, ``alembic_version`` found on the ``search_path``, is
    ``public.alembic_version`` on a database stager creates. env.py moves it with
    ``context.configure(version_table_schema=..., version_table=...)``.
    """

    schema: str = "public"
    name: str = "alembic_version"

    @property
    def qualified(self) -> str:
        """``schema.name``, as people write it (not quoted for SQL)."""
        return f"{self.schema}.{self.name}"


class Announce(Protocol):
    """Says that a step of long work begins (and the one before it ended): how a lower layer
    reports progress without importing ``render/`` (``render.progress.Progress.steps``).

    ``always``: shown however quick (a user's own ``--check``); other steps show only
    once they take long enough to be waited on.
    """

    def __call__(self, message: str, *, always: bool = False) -> None: ...


def unannounced(message: str, *, always: bool = False) -> None:
    """An :class:`Announce` that tells no one: the default of a caller that shows no progress."""


class Risk(enum.IntEnum):
    """Risk levels, lowest first; comparisons follow the scale."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(member.label for member in cls)

    @classmethod
    def parse(cls, text: str) -> Risk:
        """Risk from its lower-case name; ValueError names the accepted ones."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(
                f"unknown risk {text!r}; use one of {', '.join(cls.names())}"
            ) from None


class MigrationKind(enum.StrEnum):
    """What a revision does to the database, coarsest signal first (used by rules)."""

    EMPTY = "empty"  # no operation found (merge revisions, pass)
    ADDITIVE = "additive"  # only create/add operations
    REFERENCE_DATA = "reference-data"  # INSERT / bulk_insert, no UPDATE/DELETE
    DATA = "data"  # UPDATE / DELETE / opaque SQL / imported helpers
    DESTRUCTIVE = "destructive"  # drop_table / drop_column / renames
