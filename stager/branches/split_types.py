"""What ``stager split`` is asked to do and what it built."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stager.plan.phase import Phase
from stager.types import RepoPath, Revision, Sha

if TYPE_CHECKING:
    from stager.branches.record import SplitRecord

DEFAULT_BRANCH_TEMPLATE = "stage/{number}-{name}"
# Why a migration was re-chained (``Rewrite.reason``): the plan's phase order, --onto
# REF's new head, or the repair of the branch's own broken graph (--rechain-broken).
PLAN, ONTO, BROKEN = "plan", "onto", "broken"
# A file stager derived for the phase (issue 12): the new expand revision R_e, R reduced
# to its contract part, a file with only its early hunks. Its blob is the plan's source.
EXPAND, CONTRACT, PARTIAL = "expand", "contract", "partial"
DERIVED_REASONS = frozenset({EXPAND, CONTRACT, PARTIAL})
DERIVED_TRAILER = "Stager-Derived:"  # "Stager-Derived: <reason> <path>"


class Strategy(enum.StrEnum):
    AUTO = "auto"
    CHERRY_PICK = "cherry-pick"
    PATCH = "patch"


class Layout(enum.StrEnum):
    STACKED = "stacked"  # phase k on phase k-1
    INDEPENDENT = "independent"  # every phase on the merge base (or --onto REF)


class BuildStatus(enum.StrEnum):
    """What the run does to a phase's branch."""

    CREATED = "created"
    UPDATED = "updated"  # existed, overwritten with --force (old tip kept as a backup)
    UNCHANGED = "unchanged"  # existed with exactly the planned content: kept as it is
    REFUSED = "refused"  # dry run only: exists and differs, the real run needs --force


@dataclass(frozen=True)
class KeptCommit:
    """A commit on a phase branch that stager did not write (a reviewer's fix), kept: replayed
    onto the rebuilt phase. ``commit`` is the version to replay from, and, in a record, the
    version the phase holds."""

    original: Sha  # as the reviewer pushed it
    commit: Sha


@dataclass(frozen=True)
class SplitOptions:
    """``stager split`` options; ``phase`` None means every phase (``--all``)."""

    phase: int | None = None
    strategy: Strategy = Strategy.AUTO
    layout: Layout = Layout.STACKED
    onto: str | None = None
    dry_run: bool = False
    force: bool = False
    sign: bool | None = None  # None: commit.gpgsign decides
    branch_template: str = DEFAULT_BRANCH_TEMPLATE
    # --rechain-broken: the revisions re-chained to repair the branch's broken graph
    broken: frozenset[Revision] = frozenset()
    # sync: phase number → the commits stager did not write, replayed on the rebuilt phase
    replay: tuple[tuple[int, tuple[KeptCommit, ...]], ...] = ()


@dataclass(frozen=True)
class Rewrite:
    """One way a phase's file differs from head's: a re-chained ``down_revision`` (and
    Revises: line), or a file derived from head's (``reason`` in DERIVED_REASONS)."""

    path: RepoPath
    revision: Revision
    old_parents: tuple[Revision, ...]
    new_parents: tuple[Revision, ...]
    old_blob: Sha | None  # head's version (None: head has no such file, an expand revision)
    new_blob: Sha  # the version in the phase
    reason: str = PLAN  # PLAN, ONTO or BROKEN; or EXPAND, CONTRACT, PARTIAL

    @property
    def derived(self) -> bool:
        return self.reason in DERIVED_REASONS

    def trailer(self) -> str:
        """The commit-message line that records it (``verify`` reads re-chainings back)."""
        if self.derived:
            return f"{DERIVED_TRAILER} {self.reason} {self.path}"
        old, new = _parents(self.old_parents), _parents(self.new_parents)
        return f"Stager-Rechain: {self.revision} {old} -> {new}"

    def describe(self) -> str:
        if self.derived:
            return f"{self.path}: {self.reason} part, written by stager"
        return (
            f"{self.revision}: down_revision {_parents(self.old_parents)} → "
            f"{_parents(self.new_parents)} ({self.path})"
        )


def _parents(parents: tuple[Revision, ...]) -> str:
    return ",".join(parents) if parents else "None"


def parse_trailer(line: str) -> tuple[Revision, tuple[Revision, ...], tuple[Revision, ...]] | None:
    """``(revision, old parents, new parents)`` from a ``Stager-Rechain:`` line, else None."""
    prefix = "Stager-Rechain:"
    if not line.startswith(prefix):
        return None
    body = line[len(prefix) :].strip()
    revision, _, rest = body.partition(" ")
    old, arrow, new = rest.partition(" -> ")
    if not arrow or not revision:
        return None

    def split(text: str) -> tuple[Revision, ...]:
        text = text.strip()
        return () if text == "None" else tuple(Revision(part) for part in text.split(",") if part)

    return Revision(revision), split(old), split(new)


@dataclass(frozen=True)
class BuiltCommit:
    """One commit written for a phase."""

    sha: Sha
    tree: Sha
    parent: Sha
    subject: str
    source: Sha | None  # the original commit it replays (cherry-pick), None for a patch commit


@dataclass(frozen=True)
class BuiltPhase:
    """A phase's branch as built (or as found unchanged)."""

    phase: Phase
    branch: str  # short name, e.g. stage/1-foundation
    ref: str  # refs/heads/...
    commit: Sha  # the branch's tip after the run
    parent: Sha  # what the phase starts from
    tree: Sha
    strategy: Strategy  # CHERRY_PICK or PATCH: what was used
    strategy_note: str  # why, in words (auto's choice, a replay conflict…)
    commits: tuple[BuiltCommit, ...]
    rewrites: tuple[Rewrite, ...]
    status: BuildStatus
    previous: Sha | None  # the branch's tip before the run
    backup: str | None  # refs/stager/backup/... holding ``previous`` when overwritten
    prerequisite: bool = False  # built only because --phase N stacks on it


@dataclass(frozen=True)
class SplitResult:
    base: Sha
    head: Sha
    merge_base: Sha
    start: Sha  # where the first phase starts: the merge base, or --onto REF
    onto: str | None
    layout: Layout
    dry_run: bool
    phases: tuple[BuiltPhase, ...]
    notes: tuple[str, ...]
    # The record the run wrote, or a dry run would write; None when the stored one stays.
    record: SplitRecord | None = None
