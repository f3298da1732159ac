"""Branch names, backups, the record of the last run, and ``--undo``.

Every ref a run changes — phase branches, backups of the branches it
overwrites, and ``refs/stager/last-split`` (a blob holding the run's record,
in the git directory, never the work tree) — moves in one ``update-ref``
transaction with old-value checks. ``--undo`` reads the record back and
restores every branch it names in one transaction too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stager.branches.split_types import BuiltPhase, SplitResult, Status
from stager.errors import StagerError
from stager.git.refs import RefUpdate, checked_out_branches, list_refs, read_refs, update_refs
from stager.git.repository import Repository
from stager.git.write import write_blob
from stager.plan.phase import Phase
from stager.types import Sha

RECORD_REF = "refs/stager/last-split"
BACKUP_PREFIX = "refs/stager/backup/"
RECORD_VERSION = 1

# git check-ref-format's rules, for a name made from the rules' template.
_BAD_REF = re.compile(r"(^|/)\.|\.\.|[\x00-\x20\x7f~^:?*\[\\]|@\{|//|\.lock(/|$)|^/|/$|\.$|^@$")


def branch_name(template: str, phase: Phase) -> str:
    """The phase's branch from ``[split] branch`` (e.g. ``stage/{number}-{name}``)."""
    name = template.format(number=phase.number, name=phase.name)
    if not name or _BAD_REF.search(name):
        raise StagerError(
            f"branch name {name!r} (from [split] branch = {template!r}) is not a valid git branch",
            "use letters, digits, '-', '_' and '/' in [split] branch, e.g. "
            '"stage/{number}-{name}"',
        )
    return name


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


def backup_name(branch: str, stamp: str, taken: Iterable[str]) -> str:
    """``refs/stager/backup/<branch>/<time>``, made unique."""
    used = set(taken)
    base = f"{BACKUP_PREFIX}{branch}/{stamp}"
    name, number = base, 1
    while name in used:
        number += 1
        name = f"{base}-{number}"
    return name


def timestamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def ref_updates(
    repo: Repository, phases: Sequence[BuiltPhase], record: Sha | None
) -> list[RefUpdate]:
    """The transaction of a run: branches, backups, the record."""
    updates: list[RefUpdate] = []
    for built in phases:
        if built.status is Status.UNCHANGED:
            continue
        updates.append(RefUpdate(built.ref, built.commit, built.previous))
        if built.backup is not None and built.previous is not None:
            updates.append(RefUpdate(built.backup, built.previous, None))
    if record is not None:
        current = read_refs(repo, [RECORD_REF]).get(RECORD_REF)
        updates.append(RefUpdate(RECORD_REF, record, current))
    return updates


def record_of(result: SplitResult, strategy: str) -> dict[str, Any]:
    """What the run did, for ``--undo`` and ``verify``."""
    return {
        "version": RECORD_VERSION,
        "time": timestamp(),
        "base": result.base,
        "head": result.head,
        "merge_base": result.merge_base,
        "start": result.start,
        "onto": result.onto,
        "layout": result.layout.value,
        "strategy": strategy,
        "refs": [
            {"ref": built.ref, "old": built.previous, "new": built.commit, "backup": built.backup}
            for built in result.phases
            if built.status is not Status.UNCHANGED
        ],
        "phases": [
            {
                "number": built.phase.number,
                "name": built.phase.name,
                "branch": built.branch,
                "commit": built.commit,
                "parent": built.parent,
                "strategy": built.strategy.value,
                "rewrites": [
                    {
                        "path": rewrite.path,
                        "revision": rewrite.revision,
                        "old": list(rewrite.old_parents),
                        "new": list(rewrite.new_parents),
                    }
                    for rewrite in built.rewrites
                ],
            }
            for built in result.phases
        ],
    }


def write_record(repo: Repository, record: Mapping[str, Any]) -> Sha:
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    return write_blob(repo, text.encode("utf-8"))


def read_record(repo: Repository) -> dict[str, Any] | None:
    """The last run's record, None when there is none (or it cannot be read)."""
    sha = read_refs(repo, [RECORD_REF]).get(RECORD_REF)
    if sha is None:
        return None
    data = repo.read_blobs([sha], missing_ok=True).get(sha)
    if data is None:
        return None
    try:
        record = json.loads(data)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("version") != RECORD_VERSION:
        return None
    return record


@dataclass(frozen=True)
class Restored:
    branch: str
    was: Sha | None  # before the undo
    now: Sha | None  # after: None when the run had created the branch (deleted again)


@dataclass(frozen=True)
class UndoResult:
    restored: tuple[Restored, ...]
    removed_backups: tuple[str, ...]
    time: str


def undo_last_split(repo: Repository, *, force: bool = False) -> UndoResult:
    """Put back every branch the last ``stager split`` changed, in one transaction."""
    record = read_record(repo)
    if record is None:
        raise StagerError(
            "there is no stager split to undo in this repository",
            "`stager split --undo` restores the branches of the last split run",
        )
    entries = record.get("refs", [])
    names = [entry["ref"] for entry in entries]
    refuse_checked_out(repo, names)
    current = read_refs(repo, names)
    moved = [entry["ref"] for entry in entries if current.get(entry["ref"]) != entry["new"]]
    if moved and not force:
        raise StagerError(
            "branch(es) changed since the split: "
            + ", ".join(name.removeprefix("refs/heads/") for name in moved)
            + "; nothing was undone",
            "re-run with --undo --force to restore them anyway (their new commits are then "
            "only in the reflog)",
        )
    backups = list_refs(repo, BACKUP_PREFIX)
    updates: list[RefUpdate] = []
    restored: list[Restored] = []
    removed: list[str] = []
    for entry in entries:
        ref, old = entry["ref"], entry.get("old")
        now = current.get(ref)
        if old is None and now is None:
            continue
        updates.append(RefUpdate(ref, Sha(old) if old else None, now))
        restored.append(Restored(ref.removeprefix("refs/heads/"), now, Sha(old) if old else None))
        backup = entry.get("backup")
        if backup and backup in backups:
            updates.append(RefUpdate(backup, None, backups[backup]))
            removed.append(backup)
    updates.append(RefUpdate(RECORD_REF, None, read_refs(repo, [RECORD_REF])[RECORD_REF]))
    update_refs(repo, updates)
    return UndoResult(tuple(restored), tuple(removed), str(record.get("time", "")))
