"""What ``stager sync`` makes of the record: the merged phases, what stops it, what re-chains.

A phase merged (by a merge commit, a squash or a rebase-merge) is done: its files
are the base's, its branch is deleted once no open pull request is based on it.
A phase partly on the base, or merged and then reverted, stops sync: only a person
can tell whether the rest is still wanted. A remaining phase whose first migration
gets another parent (the base's head moved: another team's migration, or a merged
phase's) changes the history of a branch people may have run: the warning says
which databases must go back first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stager.analysis import MergedPhase
from stager.branches.merged import MERGED, branch_records
from stager.branches.record import SplitRecord, StoredRecord, pushed_commits, record_name
from stager.errors import GitError, StagerError
from stager.git.history import is_ancestor
from stager.git.repository import Repository
from stager.types import Revision, Sha


def refuse_unsettled(phases: Sequence[MergedPhase], base_ref: str) -> None:
    """Stop when a phase is partly on the base, or was merged and reverted (paths listed)."""
    unsettled = [phase for phase in phases if phase.state != MERGED]
    if not unsettled:
        return
    described = "; ".join(
        f"phase {phase.number} ({phase.branch}) is {phase.state} on {base_ref}: "
        + (f"on it {', '.join(phase.on_base)}; " if phase.on_base else "")
        + f"not on it {', '.join(phase.missing)}"
        for phase in unsettled
    )
    raise StagerError(
        f"{described}; nothing was written",
        "bring the rest of the phase into the base (or revert what was merged of it), or "
        "split again (`stager split --all --force`) if the base's version is what you want",
    )


def merged_branches(phases: Sequence[MergedPhase]) -> dict[str, MergedPhase]:
    """The branch of every merged phase, newest split's first."""
    found: dict[str, MergedPhase] = {}
    for phase in phases:
        if phase.state == MERGED:
            found.setdefault(phase.branch, phase)
    return found


@dataclass(frozen=True)
class Rechained:
    """A remaining phase's migration whose parents the rebuild changed."""

    phase: int
    revision: Revision
    old_parents: tuple[Revision, ...]
    new_parents: tuple[Revision, ...]
    commit: Sha  # the rebuilt phase's tip
    old_commit: Sha  # the phase's tip before
    pushed: bool  # the old tip was pushed: a database may have run it

    @property
    def message(self) -> str:
        old = "+".join(self.old_parents) or "base"
        new = "+".join(self.new_parents) or "base"
        said = (
            f"{self.revision} (phase {self.phase}) re-chained from {old} onto the base's "
            f"Alembic head {new}"
        )
        if not self.pushed:
            return said
        return (
            f"{said}: databases that ran this branch before {self.commit[:12]} must first be "
            f"downgraded to {old} with the old branch (`alembic downgrade {old}` in a checkout "
            f"of {self.old_commit[:12]})"
        )


def rechained(new: SplitRecord, before: Sequence[SplitRecord]) -> list[Rechained]:
    """The migrations of ``new`` whose parents differ from the newest of ``before`` that built
    them (records newest first), with whether that phase's tip was pushed."""
    pushed = pushed_commits(before)
    found: list[Rechained] = []
    for phase in new.phases:
        for migration in phase.chain.migrations:
            old = next(
                (
                    (old_phase, m)
                    for record in before
                    for old_phase in record.phases
                    for m in old_phase.chain.migrations
                    if m.revision == migration.revision
                ),
                None,
            )
            if old is None or old[1].parents == migration.parents:
                continue
            old_phase, old_migration = old
            found.append(
                Rechained(
                    phase.number,
                    migration.revision,
                    old_migration.parents,
                    migration.parents,
                    phase.commit,
                    old_phase.commit,
                    old_phase.commit in pushed,
                )
            )
    return found


def database_warnings(
    repo: Repository, head_ref: str, stored: StoredRecord | None
) -> dict[int, tuple[str, ...]]:
    """Phase number → the warnings its pull request's body carries: each revision the last
    split (``stored``) re-chained away from the parents of a tip pushed before, read from
    the records (what was built and pushed), never from a plan."""
    if stored is None:
        return {}
    older = [r for r in branch_records(repo, record_name(repo, head_ref)) if r != stored.record]
    found: dict[int, tuple[str, ...]] = {}
    for item in rechained(stored.record, older):
        if item.pushed:
            found[item.phase] = (*found.get(item.phase, ()), item.message)
    return found


def refuse_stale_record(
    repo: Repository,
    name: str,
    remote: str,
    local: Sha | None,
    on_remote: Sha | None,
    pushed_here: Sha | None,
) -> None:
    """Stop when the remote's record of branch ``name`` is not in this clone's (another clone
    ran split or sync since): this clone would take what that one built and pushed for someone
    else's commits, and overwrite its record. One this clone pushed itself (``pushed_here``)
    is no news: ``split --undo`` went back from it on purpose."""
    if local is None or on_remote is None or on_remote in (local, pushed_here):
        return
    try:
        if is_ancestor(repo, on_remote, local):
            return  # ours is newer: the push brings the remote up to date
        newer = is_ancestor(repo, local, on_remote)
    except (GitError, StagerError):  # a record this clone never fetched: newer, as far as we know
        newer = True
    said = "is newer than this clone's" if newer else "and this clone's went separate ways:"
    raise StagerError(
        f"the record of {name} on {remote} ({on_remote[:12]}) {said} ({local[:12]}): another "
        "clone ran split or sync since, and going on would overwrite what it built; nothing "
        "was written",
        f"fetch the record (`git fetch {remote} 'refs/stager/*:refs/stager/*'`), then run again"
        if newer
        else f"keep one: fetch theirs over yours (`git fetch {remote} "
        f"'+refs/stager/*:refs/stager/*'`), or split again here and push with open-pr",
    )
