"""Proposed phases: files grouped by the ``[[phase]]`` tables of the rules.

This is the simple grouping of the analysis; dependency closure and
re-chaining belong to the planner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stager.classify import FileClass
from stager.migrations.compare import MigrationReport
from stager.migrations.model import MigrationKind
from stager.rules import Rules
from stager.types import RepoPath, Revision, Risk


@dataclass(frozen=True)
class PlannedFile:
    path: RepoPath
    reason: str


@dataclass(frozen=True)
class PlannedMigration:
    revision: Revision
    down_revision: tuple[Revision, ...]
    original_down_revision: tuple[Revision, ...]
    path: RepoPath
    title: str


@dataclass(frozen=True)
class Phase:
    number: int
    name: str
    title: str
    files: tuple[PlannedFile, ...]
    migrations: tuple[PlannedMigration, ...]
    depends_on: tuple[int, ...]
    risk: Risk
    maintenance_window: bool


def group_phases(
    classes: Sequence[FileClass], rules: Rules, migrations: MigrationReport
) -> list[Phase]:
    """One Phase per non-empty ``[[phase]]``; numbers are the rules' own."""
    phases: list[Phase] = []
    for rule in rules.phases:
        members = [c for c in classes if c.phase == rule.number]
        if not members:
            continue  # an empty phase gets no branch and no PR; others keep their numbers
        paths = {c.path for c in members}
        planned_migrations = tuple(
            PlannedMigration(
                revision=m.revision,
                down_revision=m.down_revisions,
                original_down_revision=m.down_revisions,
                path=m.path,
                title=m.title,
            )
            for m in migrations.added
            if m.path in paths and m.revision is not None
        )
        risk = max(c.risk for c in members)
        data_migration = any(
            migrations.by_path[c.path].kind in (MigrationKind.DATA, MigrationKind.DESTRUCTIVE)
            for c in members
            if c.path in migrations.by_path
        )
        phases.append(
            Phase(
                number=rule.number,
                name=rule.name,
                title=rule.title,
                files=tuple(
                    PlannedFile(c.path, c.reasons[0] if c.reasons else "") for c in members
                ),
                migrations=planned_migrations,
                depends_on=tuple(p.number for p in phases),
                risk=risk,
                maintenance_window=risk is Risk.CRITICAL or data_migration,
            )
        )
    return phases
