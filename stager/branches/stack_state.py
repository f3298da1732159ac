"""Where the stack stands: each phase branch of the branch's splits, read from the record and git.

``stager status`` shows it. The record (``refs/stager/record/<branch>``) says what
split built; git says what became of it since: the branch locally and on the
remote, the base's commits a phase lacks, the feature branch's changes since the
split, and the commits someone else (a reviewer) added to a phase branch. What
GitHub says of each pull request comes in as :class:`PullInfo` (the command reads
it; this layer never talks to GitHub), and :func:`next_step` turns it all into the
one command to run next.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from stager.analysis import MergedPhase
from stager.branches.branch_compare import (
    ABSENT,
    AHEAD,
    BEHIND,
    BOTH,
    NOT_FETCHED,
    SAME,
    changed_since,
    commits_behind,
    foreign_commits,
    known_commit,
    remote_state_of,
)
from stager.branches.merged import (
    MERGED,
    PARTIAL,
    REVERTED,
    branch_records,
    confirmed_by_pull,
    judge,
    phase_paths,
)
from stager.branches.record import (
    RECORD_PREFIX,
    RecordedPhase,
    SplitRecord,
    read_record,
    record_name,
)
from stager.branches.split_types import Layout
from stager.errors import GitError, StagerError
from stager.git.history import is_ancestor
from stager.git.refs import list_refs, read_refs
from stager.git.repository import Repository
from stager.types import RepoPath, Sha

OPEN, MERGED_PR, CLOSED, STALE, UNKNOWN, NONE = (
    "open",
    "merged",
    "closed",
    "stale",
    "unknown",
    "none",
)


@dataclass(frozen=True)
class PullInfo:
    """A phase branch's pull request as GitHub has it (the open one, else the last closed)."""

    number: int
    url: str
    state: str  # "open", "merged" or "closed"
    base: str
    head_sha: str
    merge_commit: str  # merged: the commit the merge made on the base (a squash's too)
    draft: bool = False
    review: str | None = None  # open: "approved", "changes requested", "review requested"…
    approved_by: tuple[str, ...] = ()
    changes_requested_by: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseStatus:
    """One phase: its branch, what became of it, and its pull request."""

    number: int
    name: str
    title: str
    branch: str
    built: Sha  # its tip as the record has it
    local: Sha | None  # refs/heads/<branch>
    remote: Sha | None  # the remote's branch (None: absent, or the remote could not be read)
    merged: MergedPhase | None  # what the base holds of it (None: nothing)
    behind_base: int  # commits of the base the branch lacks (0 once merged)
    behind_monolith: tuple[RepoPath, ...]  # its paths the feature branch changed since the split
    foreign: tuple[Sha, ...]  # commits on the branch stager did not write, oldest first
    foreign_in_feature: tuple[Sha, ...]  # of those, the ones the feature branch already has
    diverged: bool  # the branch no longer holds what split built (rewritten by someone)
    pull: PullInfo | None
    pull_state: str  # OPEN, MERGED_PR, CLOSED, STALE, UNKNOWN or NONE
    stale_because: str | None = None
    # the remote's branch against the local one: SAME, ABSENT, REMOTE_ONLY (no local
    # branch), AHEAD (it has commits
    # the local one lacks: someone pushed), BEHIND (not pushed yet), BOTH (each has
    # commits the other lacks), NOT_FETCHED (a commit this repository does not have)
    remote_state: str = ""
    empty: bool = False  # split built it with nothing on top of its start (all merged before)

    @property
    def cherry_pick(self) -> str | None:
        """The command that brings the reviewers' commits into the feature branch."""
        missing = [sha for sha in self.foreign if sha not in self.foreign_in_feature]
        return f"git cherry-pick {' '.join(sha[:12] for sha in missing)}" if missing else None

    @property
    def is_merged(self) -> bool:
        return self.merged is not None and self.merged.state == MERGED


@dataclass(frozen=True)
class NextStep:
    command: str | None  # None: nothing for stager to do now
    why: str


@dataclass(frozen=True)
class StackStatus:
    feature: str  # the record's name: the feature branch
    head_ref: str
    head: Sha
    base_ref: str
    base: Sha
    remote: str
    record: Sha  # the record's commit
    layout: Layout  # stacked: a pull request goes into the previous phase's branch
    split_time: str
    split_head: Sha  # the feature branch as the last split saw it
    new_paths: tuple[RepoPath, ...]  # changed on the feature branch since, in no phase left
    monolith_unknown: bool  # the split's head is not in this repository
    github: str  # what was read of GitHub, or why not ("unknown: no token …")
    phases: tuple[PhaseStatus, ...]
    next: NextStep
    notes: tuple[str, ...] = ()
    # The base's tip on the remote when it holds commits this repository has not
    # fetched (a phase merged on GitHub, another team's merge): sync fetches it.
    base_on_remote: Sha | None = None

    @property
    def monolith_moved(self) -> bool:
        return self.head != self.split_head


RemoteReader = Callable[[Sequence[str]], Mapping[str, Sha] | None]
"""Branches → their tips on the remote; None when the remote cannot be read."""


def read_stack(
    repo: Repository,
    head_ref: str,
    base_ref: str | None,
    remote: str,
    read_remote: RemoteReader,
) -> StackStatus:
    """The stack of ``head_ref`` as git alone sees it (every pull request: unknown).

    ``read_remote`` gives the phase branches' tips on ``remote``; when it cannot
    (None), the remote-tracking refs stand in. Reads only.
    """
    name = record_name(repo, head_ref)
    stored = read_record(repo, name)
    if stored is None:
        raise _no_record(repo, name, head_ref)
    records = branch_records(repo, name)
    latest = records[0]
    head = repo.resolve(head_ref)
    base_ref = base_ref or latest.base_ref
    base = repo.resolve(base_ref)
    head_tree = repo.list_tree(head)
    content = judge(repo, records, base, head_tree)
    verdicts = {phase.commit: phase for phase in content.phases}
    phases = _phases(records, verdicts)
    branches = [phase.branch for phase in phases]
    local = {
        ref.removeprefix("refs/heads/"): sha
        for ref, sha in read_refs(repo, [f"refs/heads/{b}" for b in branches]).items()
    }
    notes: list[str] = []
    base_branch = _branch_on(remote, base_ref)
    remote_tips = read_remote([*branches, base_branch] if base_branch else branches)
    if remote_tips is None:
        notes.append(
            f"the remote {remote!r} could not be read: its branches are shown as of the last "
            f"fetch (refs/remotes/{remote}/)"
        )
        tracking = read_refs(repo, [f"refs/remotes/{remote}/{b}" for b in branches])
        remote_tips = {
            ref.removeprefix(f"refs/remotes/{remote}/"): sha for ref, sha in tracking.items()
        }
    base_on_remote = _unfetched(repo, base, remote_tips.get(base_branch) if base_branch else None)
    changed, unknown = changed_since(repo, latest.head, head)
    if unknown:
        notes.append(
            f"the split's head {latest.head[:12]} is not in this repository (the branch was "
            "rewritten, or not fetched): which phases it changed since cannot be told"
        )
    # A merged phase's paths are the base's: a change to one since is in no phase left.
    claimed = {
        path
        for phase in latest.phases
        if not _settled(verdicts.get(phase.commit))
        for path in phase_paths(phase)
    }
    statuses = []
    for phase in phases:
        here, there = local.get(phase.branch), remote_tips.get(phase.branch)
        sync_state = remote_state_of(repo, here, there)
        # The remote's tip when it holds more (a reviewer pushed), else the local one.
        tip = there if sync_state in (AHEAD, SAME) or here is None else here
        tip = known_commit(repo, tip) if tip == there else tip
        verdict = verdicts.get(phase.commit)
        merged = verdict is not None and verdict.state == MERGED
        foreign, in_feature, diverged = foreign_commits(repo, phase.commit, tip, head)
        statuses.append(
            PhaseStatus(
                number=phase.number,
                name=phase.name,
                title=phase.title,
                branch=phase.branch,
                built=phase.commit,
                local=local.get(phase.branch),
                remote=remote_tips.get(phase.branch),
                remote_state=sync_state,
                empty=phase.commit == phase.parent,
                merged=verdict,
                behind_base=0 if merged or tip is None else commits_behind(repo, tip, base),
                behind_monolith=tuple(
                    sorted(p for p in phase_paths(phase) if p in changed)
                    if phase in latest.phases and not merged
                    else ()
                ),
                foreign=foreign,
                foreign_in_feature=in_feature,
                diverged=diverged,
                pull=None,
                pull_state=UNKNOWN,
            )
        )
    stack = StackStatus(
        feature=name,
        head_ref=head_ref,
        head=head,
        base_ref=base_ref,
        base=base,
        remote=remote,
        record=stored.commit,
        layout=latest.layout,
        split_time=latest.time,
        split_head=latest.head,
        new_paths=tuple(sorted(changed - claimed)),
        monolith_unknown=unknown,
        github=UNKNOWN,
        phases=tuple(statuses),
        next=NextStep(None, ""),
        notes=tuple(notes),
        base_on_remote=base_on_remote,
    )
    return replace(stack, next=next_step(stack))


def _branch_on(remote: str, base_ref: str) -> str | None:
    """The base's branch name on ``remote`` (:func:`_branch_name`: ``main`` for ``main``,
    ``origin/main`` or ``refs/remotes/origin/main``); None for a ref of another namespace."""
    name = _branch_name(base_ref, remote)
    return None if name.startswith("refs/") else name


def _unfetched(repo: Repository, base: Sha, there: Sha | None) -> Sha | None:
    """``there`` when the remote's base holds commits ``base`` lacks; None otherwise."""
    if there is None or there == base:
        return None
    try:
        return None if is_ancestor(repo, there, base) else there
    except GitError:  # a commit this repository never fetched
        return there


def with_pulls(
    repo: Repository,
    stack: StackStatus,
    pulls: Mapping[str, PullInfo | None],
    github: str,
    records: Sequence[SplitRecord] | None = None,
) -> StackStatus:
    """``stack`` with what GitHub said of each phase branch's pull request.

    ``pulls``: branch → its pull request (None: it never had one); a branch not in
    it stays unknown. A pull request GitHub calls merged settles a phase git was
    unsure of, when the base holds its merge commit.
    """
    records = records if records is not None else branch_records(repo, stack.feature)
    recorded = {phase.commit: phase for record in records for phase in record.phases}
    pulls = {branch: _own(repo, stack, branch, pull) for branch, pull in pulls.items()}
    confirmed = []
    for phase in stack.phases:
        pull = pulls.get(phase.branch)
        merged = phase.merged
        if pull is not None and pull.state == MERGED_PR and phase.built in recorded:
            merged = confirmed_by_pull(
                repo, recorded[phase.built], merged, Sha(pull.merge_commit), stack.base
            )
        done = merged is not None and merged.state == MERGED
        confirmed.append(
            replace(
                phase,
                merged=merged,
                behind_base=0 if done else phase.behind_base,
                behind_monolith=() if done else phase.behind_monolith,
            )
        )
    # Where each pull request should point depends on which phases are merged: after them.
    expected = _expected_bases(replace(stack, phases=tuple(confirmed)))
    phases = []
    for phase in confirmed:
        if phase.branch not in pulls:
            phases.append(phase)
            continue
        pull = pulls[phase.branch]
        state, why = _pull_state(phase, pull, expected.get(phase.number, stack.base_ref))
        phases.append(replace(phase, pull=pull, pull_state=state, stale_because=why))
    updated = replace(stack, phases=tuple(phases), github=github)
    return replace(updated, next=next_step(updated))


def _own(
    repo: Repository, stack: StackStatus, branch: str, pull: PullInfo | None
) -> PullInfo | None:
    """``pull`` when it is this phase's; None for a closed one of an earlier stack.

    Phase branch names come back with every feature: the last closed pull request of
    ``stage/1-foundation`` may be another feature's. It is this phase's when it had
    the tip split built, or a commit on top of it (a reviewer's).
    """
    if pull is None or pull.state == OPEN:
        return pull
    phase = next(phase for phase in stack.phases if phase.branch == branch)
    if pull.head_sha == phase.built:
        return pull
    try:
        return pull if is_ancestor(repo, phase.built, Sha(pull.head_sha)) else None
    except GitError:  # a head this clone never fetched: trust git's own verdict
        return pull if phase.merged is not None else None


def next_step(stack: StackStatus) -> NextStep:
    """The one command to run next, and why."""
    phases = stack.phases
    stuck = [p for p in phases if p.merged is not None and p.merged.state in (PARTIAL, REVERTED)]
    if stuck:
        phase = stuck[0]
        assert phase.merged is not None
        return NextStep(
            "stager analyze",
            f"phase {phase.number} ({phase.branch}) is {phase.merged.state} on "
            f"{stack.base_ref}: sync stops there; analyze lists its paths — finish the merge "
            "or the revert on the base first",
        )
    if stack.base_on_remote is not None:
        return NextStep(
            "stager sync",
            f"{stack.base_ref} on {stack.remote} is at {stack.base_on_remote[:12]}, with "
            f"commits this repository has not fetched (a phase merged, or another change): "
            "sync fetches it, then rebuilds the phases left onto it",
        )
    remaining = [p for p in phases if not p.is_merged and not p.empty]
    if not remaining:
        return NextStep(None, f"every phase is merged into {stack.base_ref}: the stack is done")
    merged_on_github = [p for p in remaining if p.pull is not None and p.pull.state == MERGED_PR]
    if merged_on_github:
        phase = merged_on_github[0]
        assert phase.pull is not None
        return NextStep(
            "stager sync",
            f"#{phase.pull.number} (phase {phase.number}) is merged on GitHub, but "
            f"{stack.base_ref} here lacks its merge commit: sync fetches the base and "
            "rebuilds the phases left",
        )
    gone = [p for p in remaining if p.local is None and p.remote is None]
    if gone:
        return NextStep(
            "stager split --all",
            f"phase {gone[0].number}'s branch {gone[0].branch} exists neither here nor on "
            f"{stack.remote}: split builds the phase branches again",
        )
    # A merged phase asks for sync while sync has work left: phases not built on the base,
    # a pull request still going into a merged branch, or (GitHub read, so sync may delete
    # it) a merged branch still on the remote. Once done, status must not send the user
    # back to sync for ever.
    github_read = not stack.github.startswith("unknown")
    sync_left = (
        remaining[0].behind_base
        or any(p.pull_state == STALE for p in remaining)
        or (github_read and any(p.is_merged and p.remote is not None for p in phases))
    )
    if any(p.is_merged for p in phases) and sync_left:
        merged = ", ".join(str(p.number) for p in phases if p.is_merged)
        return NextStep(
            "stager sync",
            f"phase {merged} merged into {stack.base_ref}: sync rebuilds the phases left onto "
            "it and retargets their pull requests",
        )
    if remaining[0].behind_base:
        return NextStep(
            "stager sync",
            f"{stack.base_ref} gained {remaining[0].behind_base} commit(s) since the split: "
            "sync rebuilds the phases onto its tip",
        )
    if stack.monolith_moved:
        return NextStep(
            "stager sync",
            f"{stack.feature} changed since the split ({stack.split_head[:12]} → "
            f"{stack.head[:12]}): sync routes the changes to their phases",
        )
    if any(p.diverged for p in remaining):
        phase = next(p for p in remaining if p.diverged)
        return NextStep(
            None,
            f"{phase.branch} no longer holds what split built ({phase.built[:12]}): it was "
            f"rewritten outside stager; look at it (`git log {phase.built[:12]}..{phase.branch}`) "
            "before a sync or split replaces it",
        )
    unfetched = [p for p in remaining if p.remote_state == NOT_FETCHED]
    if unfetched:
        return NextStep(
            f"git fetch {shlex.quote(stack.remote)}",
            f"{unfetched[0].branch} on {stack.remote} has commits this repository has not "
            "fetched (someone pushed to it): fetch them before stager pushes anything",
        )
    both = [p for p in remaining if p.remote_state == BOTH]
    if both:
        return NextStep(
            None,
            f"{both[0].branch} here and on {stack.remote} each have commits the other lacks: "
            f"look at them (`git log {both[0].branch}...{stack.remote}/{both[0].branch}`) "
            "before a push replaces either",
        )
    unpublished = [
        p for p in remaining if p.remote_state in (ABSENT, BEHIND) or p.pull_state in (NONE, STALE)
    ]
    if unpublished:
        which = f"--phase {unpublished[0].number}" if len(unpublished) == 1 else "--all"
        reasons: dict[str, list[str]] = {}
        for phase in unpublished:
            reasons.setdefault(_unpublished_reason(phase), []).append(str(phase.number))
        return NextStep(
            f"stager open-pr {which}",
            "; ".join(
                f"phase{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}: {reason}"
                for reason, numbers in reasons.items()
            ),
        )
    if any(p.pull_state == UNKNOWN for p in remaining):
        return NextStep(
            None,
            "the branches are pushed; the pull requests' state is unknown "
            f"({stack.github.removeprefix('unknown: ')})",
        )
    first = remaining[0]
    assert first.pull is not None
    if first.pull.review == "approved":
        return NextStep(
            None,
            f"#{first.pull.number} (phase {first.number}) is approved: merge it on GitHub, "
            "then run `stager sync`",
        )
    return NextStep(None, f"waiting for the review of #{first.pull.number} (phase {first.number})")


# -- the parts ----------------------------------------------------------------------------


def _settled(verdict: MergedPhase | None) -> bool:
    return verdict is not None and verdict.state == MERGED


def _no_record(repo: Repository, name: str, head_ref: str) -> StagerError:
    others = sorted(ref.removeprefix(RECORD_PREFIX) for ref in list_refs(repo, RECORD_PREFIX))
    fetch = "git fetch origin 'refs/stager/*:refs/stager/*'"
    if others:
        return StagerError(
            f"no stager split of {name!r} ({head_ref}) in this repository; splits exist for: "
            + ", ".join(others),
            f"pass --head with one of them (e.g. --head {shlex.quote(others[0])}), or "
            "run `stager split --all` on this branch",
        )
    return StagerError(
        f"no stager split of {name!r} ({head_ref}) in this repository",
        f"run `stager split --all` first; in a fresh clone, fetch the record with `{fetch}`",
    )


def _phases(
    records: Sequence[SplitRecord], verdicts: Mapping[Sha, MergedPhase]
) -> list[RecordedPhase]:
    """The last split's phases, and the merged phases of earlier splits it no longer lists."""
    latest = records[0]
    numbers = {phase.number for phase in latest.phases}
    earlier: dict[int, RecordedPhase] = {}
    for record in records[1:]:
        for phase in record.phases:
            if phase.number not in numbers and phase.commit in verdicts:
                earlier.setdefault(phase.number, phase)  # newest first: the latest wins
    return sorted([*latest.phases, *earlier.values()], key=lambda phase: phase.number)


def _expected_bases(stack: StackStatus) -> dict[int, str]:
    """Where each unmerged phase's pull request should point: stacked, the previous unmerged
    phase's branch (the base for the first one); independent, the base."""
    bases: dict[int, str] = {}
    previous = _branch_name(stack.base_ref, stack.remote)
    for phase in stack.phases:
        if phase.is_merged or phase.empty:
            continue
        bases[phase.number] = previous
        if stack.layout is Layout.STACKED:
            previous = phase.branch
    return bases


def _branch_name(ref: str, remote: str) -> str:
    return (
        ref.removeprefix("refs/heads/")
        .removeprefix(f"refs/remotes/{remote}/")
        .removeprefix(f"{remote}/")
    )


def _pull_state(
    phase: PhaseStatus, pull: PullInfo | None, expected_base: str
) -> tuple[str, str | None]:
    if pull is None:
        return NONE, None
    if pull.state != OPEN:
        return pull.state, None
    tip = phase.remote or phase.local  # GitHub shows the remote's branch
    if tip is not None and pull.head_sha and pull.head_sha != tip:
        return STALE, f"it shows {pull.head_sha[:12]}, the branch is at {tip[:12]}"
    if pull.base != expected_base and not phase.is_merged:
        return STALE, f"it goes into {pull.base}, the stack needs {expected_base}"
    return OPEN, None


def _unpublished_reason(phase: PhaseStatus) -> str:
    if phase.remote is None:
        return "the branch is not on the remote"
    if phase.remote_state == BEHIND:
        return "the branch has commits the remote lacks"
    if phase.pull_state == STALE:
        assert phase.pull is not None
        return f"#{phase.pull.number} is stale: {phase.stale_because}"
    return "no pull request"
