"""Branch names, backups, and ``--undo``.

Every ref a run changes — phase branches, backups of the branches it
overwrites, and the record (:mod:`stager.branches.record`) — moves in one
``update-ref`` transaction with old-value checks. ``--undo`` reads the record
back and restores every branch it names in one transaction too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stager.branches.journal import Command, Settle, move_refs, settle
from stager.branches.record import (
    RECORD_PREFIX,
    MovedRef,
    SplitRecord,
    previous_record,
    read_record,
    record_name,
    record_ref,
    timestamp,
)
from stager.branches.split_types import BuildStatus, BuiltPhase
from stager.errors import StagerError
from stager.git.refs import RefUpdate, checked_out_branches, list_refs, read_refs
from stager.git.repository import BranchRefs, Repository
from stager.rules.sections import SplitRules
from stager.types import Sha

BACKUP_PREFIX = "refs/stager/backup/"


def refuse_checked_out(repo: Repository, refs: Iterable[str]) -> None:
    """A branch checked out in a worktree must not move under it: that would touch its HEAD."""
    busy = checked_out_branches(repo)
    clashes = [(ref, busy[ref]) for ref in refs if ref in busy]
    if clashes:
        ref, folder = clashes[0]
        raise StagerError(
            f"branch {ref.removeprefix('refs/heads/')} is checked out in {folder}; stager never "
            "moves a checked-out branch",
            "switch that worktree to another branch (`git switch -`), then run stager again",
        )


def refuse_foreign_branches(
    repo: Repository,
    refs: Sequence[str],
    analysis_refs: BranchRefs,
    template: str,
    source: str,
) -> None:
    """Phase branches are stager's own: never the base or the head.

    A ``[split] branch`` template can map a phase onto any name. A ref that is
    the base or the head is refused, even with --force; any other existing
    branch that no record lists is refused where the run would replace it
    (:func:`foreign_error`).
    """
    special = {
        full: role
        for ref, role in (
            (analysis_refs.base_ref, "the base branch"),
            (analysis_refs.head_ref, "the branch being split"),
        )
        if (full := repo.symbolic_full_name(ref)) is not None
    }
    for full, kind in list(special.items()):  # origin/main: the local main is the base too
        if full.startswith("refs/remotes/"):
            special[f"refs/heads/{full.removeprefix('refs/remotes/').partition('/')[2]}"] = kind
    for ref in refs:
        role = special.get(ref)
        if role is not None:
            raise StagerError(
                f"[split] branch = {template!r} ({source}) names a phase branch "
                f"{ref.removeprefix('refs/heads/')}, which is {role}; stager only writes its "
                "own phase branches, even with --force; nothing was written",
                "give the phase branches their own prefix in [split] branch, e.g. "
                '"stage/{number}-{name}"',
            )


def foreign_error(
    branches: Sequence[str], template: str, source: str, *, dry_run: bool = False
) -> StagerError:
    """Existing branches the phases would replace that no stager record lists: not stager's."""
    done = "the real run would stop" if dry_run else "nothing was written"
    one = len(branches) == 1
    what = f"branch {branches[0]} exists" if one else f"branches {', '.join(branches)} exist"
    it, phase_branch = ("it", "a phase branch") if one else ("them", "phase branches")
    return StagerError(
        f"{what} and stager did not create {it} (no stager record lists {it} as "
        f"{phase_branch}), so not even --force replaces {it}; {done}",
        f"delete or rename {it} (`git branch -m {branches[0]} {branches[0]}-mine`), or change "
        f"[split] branch = {template!r} ({source}) to give the phases names of their own",
    )


def backup_name(branch: str, stamp: str, taken: set[str]) -> str:
    """``refs/stager/backup/<branch>/<time>``, made unique, and added to ``taken``."""
    base = f"{BACKUP_PREFIX}{branch}/{stamp}"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    taken.add(name)
    return name


def ref_updates(phases: Sequence[BuiltPhase]) -> list[RefUpdate]:
    """The branches and backups a run moves (the record joins them in the same transaction)."""
    updates: list[RefUpdate] = []
    for built in phases:
        if built.status is BuildStatus.UNCHANGED:
            continue
        updates.append(RefUpdate(built.ref, built.commit, built.previous))
        if built.backup is not None and built.previous is not None:
            updates.append(RefUpdate(built.backup, built.previous, None))
    return updates


def moved_refs(phases: Sequence[BuiltPhase]) -> tuple[MovedRef, ...]:
    """What the run changes, as the record keeps it for ``--undo``."""
    return tuple(
        MovedRef(built.ref, built.previous, built.commit, built.backup)
        for built in phases
        if built.status is not BuildStatus.UNCHANGED
    )


@dataclass(frozen=True)
class Restored:
    branch: str
    was: Sha | None  # before the undo
    now: Sha | None  # after: None when the run had created the branch (deleted again)
    kept: str | None = None  # refs/stager/backup/... holding ``was``: it moved since the split


@dataclass(frozen=True)
class UndoResult:
    restored: tuple[Restored, ...]
    removed_backups: tuple[str, ...]
    time: str
    settled: str | None = None  # what it did instead: settled a run a kill interrupted


def _refuse_foreign_refs(record: SplitRecord, ref: str, split: SplitRules) -> None:
    """Undo moves only phase branches of the ``[split] branch`` template, and their backups.

    A record is a commit anyone can make (mirror clones copy ``refs/stager/*``):
    one that names ``refs/heads/main`` or a tag must not make undo touch it.
    """
    phases = {f"refs/heads/{phase.branch}" for phase in record.phases}
    for moved in record.moved:
        branch = moved.ref.removeprefix("refs/heads/")
        foreign = (
            not moved.ref.startswith("refs/heads/")
            or moved.ref not in phases
            or not split.is_phase_branch(branch)
        )
        if foreign or (moved.backup is not None and not moved.backup.startswith(BACKUP_PREFIX)):
            named = moved.ref if foreign else f"the backup {moved.backup}"
            raise StagerError(
                f"the record {ref} names {named}, which is not a phase branch of [split] branch = "
                f"{split.branch!r}: it was not written by stager split; nothing was undone",
                f"inspect it (`git show {ref}`); delete a record you did not make "
                f"(`git update-ref -d {ref}`), or restore the [split] branch template the split "
                "used",
            )


def undo_last_split(
    repo: Repository, head_ref: str = "HEAD", *, split: SplitRules, force: bool = False
) -> UndoResult:
    """Put back every branch the last ``stager split`` of ``head_ref`` changed, in one transaction.

    Only phase branches of the ``split`` template move. A branch that changed
    since the split moves only with ``force``, and its tip is then kept under
    ``refs/stager/backup/``. The record goes back to the one before it (or
    away, when it was the first).
    """
    settled = settle(repo, Settle.UNDO)
    if settled is not None:  # a split (or undo) a killed run left half-applied: that is all
        return UndoResult((), (), settled.time, settled.describe())
    name = record_name(repo, head_ref)
    found = read_record(repo, name)
    if found is None:
        others = sorted(ref.removeprefix(RECORD_PREFIX) for ref in list_refs(repo, RECORD_PREFIX))
        raise StagerError(
            f"there is no stager split to undo for {name} in this repository",
            (
                f"splits are recorded for {', '.join(others)}: pass --head BRANCH"
                if others
                else "`stager split --undo` restores the branches of the last split run"
            ),
        )
    commit, record = found.commit, found.record
    _refuse_foreign_refs(record, found.ref, split)
    names = [moved.ref for moved in record.moved]
    refuse_checked_out(repo, names)
    current = read_refs(repo, names)
    changed = [moved.ref for moved in record.moved if current.get(moved.ref) != moved.new]
    if changed and not force:
        raise StagerError(
            "branch(es) changed since the split: "
            + ", ".join(name.removeprefix("refs/heads/") for name in changed)
            + "; nothing was undone",
            "re-run with --undo --force to restore them anyway (their tips are then kept under "
            f"{BACKUP_PREFIX}<branch>/<time>)",
        )
    backups = list_refs(repo, BACKUP_PREFIX)
    taken, stamp = set(backups), timestamp()
    updates: list[RefUpdate] = []
    restored: list[Restored] = []
    removed: list[str] = []
    for moved in record.moved:
        now = current.get(moved.ref)
        if moved.old is None and now is None:
            continue
        updates.append(RefUpdate(moved.ref, moved.old, now))
        kept = None
        if now is not None and now not in (moved.new, moved.old):
            # Someone committed to it since the split: keep that tip reachable.
            kept = backup_name(moved.ref.removeprefix("refs/heads/"), stamp, taken)
            updates.append(RefUpdate(kept, now, None))
        restored.append(Restored(moved.ref.removeprefix("refs/heads/"), now, moved.old, kept))
        if moved.backup and moved.backup in backups:
            updates.append(RefUpdate(moved.backup, None, backups[moved.backup]))
            removed.append(moved.backup)
    updates.append(RefUpdate(record_ref(name), previous_record(repo, commit), commit))
    move_refs(repo, updates, Command.UNDO)
    return UndoResult(tuple(restored), tuple(removed), record.time)
