"""What a plan is made of: phases, their files and re-chained migrations, the edges between files.

These frozen dataclasses are the contract between ``plan`` and the commands
that consume it (``split``, ``verify``, ``open-pr``); their JSON form is
documented in docs/json-output.md (``phases[]``, ``conflicts[]``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from stager.errors import StagerError
from stager.findings import Finding
from stager.migrations.revision_files import Operation
from stager.types import RepoPath, Revision, Risk, Sha

if TYPE_CHECKING:
    from stager.migrations.expand_contract import ExpandContract, KeptWhole
    from stager.plan.sources import Texts

_T = TypeVar("_T")


def first_few(items: Sequence[str], limit: int, separator: str = ", ") -> str:
    """``a, b and 3 more``: the first ``limit`` of ``items``, and how many are left out."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return separator.join(items[:limit]) + more


def reachable(start: _T, step: Callable[[_T], Iterable[_T]]) -> set[_T]:
    """``start`` and everything ``step`` leads to from it (iterative: no recursion limit)."""
    seen = {start}
    todo = [start]
    while todo:
        for found in step(todo.pop()):
            if found not in seen:
                seen.add(found)
                todo.append(found)
    return seen


class PlanError(StagerError):
    """The plan cannot be made or used as asked (``--strict`` conflicts, a broken plan file)."""


@dataclass(frozen=True)
class PlannedFile:
    """One changed file in its phase, and why it is there.

    A rename is one change: ``path`` is the new path, ``old_path`` the old one,
    and both ship in this phase.
    """

    path: RepoPath
    reason: str
    old_path: RepoPath | None = None
    category: str = ""
    risk: Risk = Risk.LOW
    asked: int | None = None  # the phase the rules (or the plan file) asked for
    note: str = ""  # what put it in the asked phase, when not its category's phase
    moved: str = ""  # why it left the asked phase, naming the edge ("" when it did not)


@dataclass(frozen=True)
class PlannedMigration:
    """A revision the branch adds, with its parents in the split.

    ``down_revision`` is final: the split writes it once, in this phase, and no
    later phase changes it back (a database already past it would take the
    skipped revisions as applied).
    """

    revision: Revision
    down_revision: tuple[Revision, ...]
    original_down_revision: tuple[Revision, ...]
    path: RepoPath
    title: str
    depends_on: tuple[Revision, ...] = ()
    kind: str = ""  # MigrationKind value

    @property
    def rechained(self) -> bool:
        return self.down_revision != self.original_down_revision


class DerivedKind(enum.StrEnum):
    """What a file stager writes for a phase, that is no version of a branch file's, is."""

    EXPAND_REVISION = "expand-revision"  # the new revision R_e: a mixed migration's expand part
    CONTRACT_REVISION = "contract-revision"  # R reduced to its contract part, at R's path
    PARTIAL = "partial"  # a file with only its early hunks applied


@dataclass(frozen=True)
class DerivedFile:
    """A file a phase ships that stager derived from ``origin``: no branch commit holds it."""

    path: RepoPath
    source: bytes
    kind: DerivedKind
    origin: RepoPath
    note: str


@dataclass(frozen=True)
class PlannedSplit:
    """A mixed migration split: the expand revision early, the original (its contract) later.

    ``expand_operations``/``contract_operations`` are the original's operations each
    part holds (upgrade then downgrade, in source order): together, head's.
    """

    revision: Revision
    expand_revision: Revision
    path: RepoPath
    expand_path: RepoPath
    expand_phase: int
    contract_phase: int
    expand_operations: tuple[Operation, ...]
    contract_operations: tuple[Operation, ...]
    reason: str


@dataclass(frozen=True)
class PlannedPartial:
    """A file split by hunk: ``phase`` ships base plus ``hunks``; ``file_phase`` head's version.

    Hunks are numbered from 1 in the file's diff; ``adds`` are the names the
    expand hunks among them add, ``routed`` the hunks a ``[[phase]] hunks`` rule moved.
    """

    path: RepoPath
    phase: int
    file_phase: int
    hunks: tuple[int, ...]
    hunk_count: int
    adds: tuple[str, ...] = ()
    routed: tuple[int, ...] = ()

    def describe(self) -> str:
        """``models/x.py: its hunks adding historical_snapshot ship in phase 1``."""
        what = "hunk" if len(self.hunks) == 1 else "hunks"
        parts = [f"adding {', '.join(self.adds)}"] if self.adds else []
        if self.routed:
            parts.append(f"{', '.join(map(str, self.routed))} routed by [[phase]] hunks")
        told = f"its {what} {' and '.join(parts)}" if parts else f"its {what}"
        numbers = ", ".join(map(str, self.hunks))
        verb = "ships" if len(self.hunks) == 1 else "ship"
        return (
            f"{self.path}: {told} ({numbers} of {self.hunk_count}) {verb} in phase {self.phase}; "
            f"the rest, with head's version, in phase {self.file_phase}"
        )


@dataclass(frozen=True)
class Phase:
    """One pull request: the files and migrations of one ``[[phase]]`` of the rules."""

    number: int
    name: str
    title: str
    files: tuple[PlannedFile, ...]
    migrations: tuple[PlannedMigration, ...]
    depends_on: tuple[int, ...]
    risk: Risk
    maintenance_window: bool
    description: str = ""
    derived: tuple[DerivedFile, ...] = ()  # files stager wrote for this phase (expand/contract)

    @property
    def paths(self) -> tuple[RepoPath, ...]:
        """Every path the phase writes or removes: both paths of a rename."""
        return tuple(
            path for planned in self.files for path in (planned.old_path, planned.path) if path
        )


class DependencyKind(enum.StrEnum):
    """Why one file needs another; the order is the order reasons are preferred in."""

    MIGRATION = "migration"  # original down_revision (only when re-chaining is off)
    DEPENDS_ON = "depends-on"  # alembic depends_on
    SQL_ORDER = "sql-order"  # versioned SQL migrations in version order; SQL a revision runs
    SCHEMA = "schema"  # a migration touches a table/column/enum/index another one creates
    MODEL = "model"  # a SQLAlchemy model and the migration or code behind its columns
    CONTRACT = "contract"  # a drop comes after the code that stops using what it drops
    IMPORT = "import"  # Python / JS module imports
    TEST = "test"  # a test and its subject


@dataclass(frozen=True)
class Dependency:
    """``dependent`` needs ``dependency`` in the same phase or an earlier one.

    ``strict``: strictly earlier (a drop after the code that stops using what it
    drops). ``reason`` completes the sentence "<dependent> <reason>".
    """

    dependent: RepoPath
    dependency: RepoPath
    kind: DependencyKind
    reason: str
    strict: bool = False
    line: int | None = None  # in the dependent file, when known

    def describe(self) -> str:
        return f"{self.dependent} {self.reason}"

    def sort_key(self) -> tuple[str, int, str, str]:
        order = list(DependencyKind).index(self.kind)
        return (self.dependent, order, self.dependency, self.reason)


@dataclass(frozen=True)
class Conflict:
    """A file the rules put earlier than a dependency allows: moved to ``needed``."""

    path: RepoPath
    asked: int
    needed: int
    dependency: Dependency

    def describe(self, names: Mapping[int, str]) -> str:
        return (
            f"{self.path}: asked for phase {self.asked} ({names.get(self.asked, '?')}), "
            f"needs phase {self.needed} ({names.get(self.needed, '?')}) — "
            f"{self.dependency.describe()}"
        )


@dataclass(frozen=True)
class SplitInputs:
    """What splitting needs beyond the placements: read once, reused by a plan file's plan.

    ``candidates``: the branch's mixed migrations, split or kept whole;
    ``texts``: both versions of the changed code files, for the splits by hunk.
    """

    candidates: Mapping[RepoPath, ExpandContract | KeptWhole]
    texts: Texts


@dataclass(frozen=True)
class Plan:
    """The phases of a branch, every placement explained.

    ``assignment`` maps every changed path (both paths of a rename) to its
    phase; ``dependencies`` are the edges found in the files' contents, which
    do not depend on the phases (a plan file is checked against them again).
    """

    merge_base: Sha
    head: Sha
    phases: tuple[Phase, ...]
    conflicts: tuple[Conflict, ...]
    dependencies: tuple[Dependency, ...]
    findings: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()
    assignment: Mapping[RepoPath, int] = field(default_factory=dict)
    source: str = "rules"  # "rules", or the plan file it was read from
    splits: tuple[PlannedSplit, ...] = ()  # mixed migrations split into expand and contract
    partials: tuple[PlannedPartial, ...] = ()  # files split by hunk, one per early step
    # What the rules' plan split from, so a plan file's plan splits the same way.
    split_inputs: SplitInputs | None = field(default=None, compare=False, repr=False)

    def phase(self, number: int) -> Phase | None:
        return next((phase for phase in self.phases if phase.number == number), None)

    def phase_of(self, path: RepoPath) -> int | None:
        return self.assignment.get(path)

    def migrations(self) -> tuple[PlannedMigration, ...]:
        """Every branch migration with its parents in the split, in the order it writes them."""
        return tuple(migration for phase in self.phases for migration in phase.migrations)
