"""Commits on a phase branch that stager did not write (a reviewer's fix): found, and kept.

stager wrote every commit a record lists as a phase's tip, and every tip it pushed.
A phase branch on the remote whose tip is none of them, but descends from one, has
commits someone else pushed. A rebuild never drops them: each is replayed onto the
rebuilt phase with git's 3-way merge (its own parent as the merge base), keeping its
message and author, and the record keeps them (``RecordedPhase.kept``) so that the
next rebuild replays them again. A replay that conflicts stops the run, naming the
files, the reviewer's commit and the phase's commit it meets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stager.branches.onto import merge_onto
from stager.branches.record import SplitRecord, pushed_commits
from stager.branches.split_types import BuiltCommit, KeptCommit
from stager.errors import StagerError
from stager.git.history import first_parent_history, is_ancestor
from stager.git.repository import Repository
from stager.git.write import Author, Writer
from stager.types import Sha


def written_by_stager(records: Sequence[SplitRecord]) -> frozenset[Sha]:
    """Every phase commit the records say stager built, pushed or replayed."""
    built = {phase.commit for record in records for phase in record.phases}
    replayed = {kept.commit for record in records for p in record.phases for kept in p.kept}
    return frozenset(built | replayed | pushed_commits(records))


def kept_commits(
    repo: Repository,
    records: Sequence[SplitRecord],
    remote_tips: Mapping[str, Sha],
    remote: str,
) -> dict[int, tuple[KeptCommit, ...]]:
    """Each phase of the latest record (``records[0]``) with the commits to replay on it: the
    ones kept before, then the ones pushed to its branch on ``remote`` since."""
    if not records:
        return {}
    written = written_by_stager(records)
    found: dict[int, tuple[KeptCommit, ...]] = {}
    for phase in records[0].phases:
        kept = list(phase.kept)
        tip = remote_tips.get(phase.branch)
        if tip is not None and tip not in written:
            since = _stagers_commit(repo, records, phase.branch, tip, written)
            if since is None:
                raise StagerError(
                    f"{phase.branch} on {remote} ({tip[:12]}) holds none of the commits stager "
                    f"wrote for it (its history was rewritten): sync cannot tell what to keep; "
                    "nothing was written",
                    f"bring what it holds into the feature branch (`git log {remote}/"
                    f"{phase.branch}`), then push a phase stager built there, or delete it "
                    f"(`git push {remote} --delete {phase.branch}`), and run sync again",
                )
            kept += [
                KeptCommit(commit.sha, commit.sha)
                for commit in first_parent_history(repo, since, tip)
                if not commit.is_merge
            ]
        if kept:
            found[phase.number] = tuple(kept)
    return found


def _stagers_commit(
    repo: Repository,
    records: Sequence[SplitRecord],
    branch: str,
    tip: Sha,
    written: frozenset[Sha],
) -> Sha | None:
    """The newest commit stager wrote for ``branch`` that ``tip`` descends from."""
    candidates = [
        candidate
        for record in records
        for phase in record.phases
        if phase.branch == branch
        for candidate in (*(kept.commit for kept in reversed(phase.kept)), phase.commit)
    ]
    candidates += [tip.commit for record in records for tip in record.pushed]
    for candidate in dict.fromkeys(candidates):
        if candidate in written and is_ancestor(repo, candidate, tip):
            return candidate
    return None


def replay_kept(
    writer: Writer,
    commits: Sequence[BuiltCommit],
    base: Sha,
    kept: Sequence[KeptCommit],
    label: str,
    *,
    sign: bool,
) -> tuple[list[BuiltCommit], tuple[KeptCommit, ...]]:
    """``commits`` (the rebuilt phase, on ``base``) with ``kept`` replayed on top; and the
    kept commits as the phase now holds them."""
    tip = commits[-1].sha if commits else base
    tree = commits[-1].tree if commits else writer.tree_of(base)
    made = list(commits)
    held: list[KeptCommit] = []
    for item in kept:
        (source,) = first_parent_history(writer.repo, Sha(f"{item.commit}^"), item.commit)
        outcome = merge_onto(writer, tree, source.parents[0], item.commit)
        if outcome.conflicts:
            raise _conflict(
                label, item, source.message, commits, [c.path for c in outcome.conflicts]
            )
        author = Author(source.author_name, source.author_email, source.author_date)
        sha = writer.commit(outcome.tree, [tip], source.message, author=author, sign=sign)
        subject = source.message.split("\n", 1)[0]
        made.append(BuiltCommit(sha, outcome.tree, tip, subject, item.original))
        held.append(KeptCommit(item.original, sha))
        tip, tree = sha, outcome.tree
    return made, tuple(held)


def _conflict(
    label: str,
    item: KeptCommit,
    message: str,
    commits: Sequence[BuiltCommit],
    paths: Sequence[str],
) -> StagerError:
    subject = message.split("\n", 1)[0]
    ours = next((c for c in reversed(commits) if c.source), commits[-1] if commits else None)
    if ours is None:
        theirs = "the base"
    elif ours.source:
        theirs = f"the feature branch's commit {ours.source[:12]} ({ours.subject!r})"
    else:
        theirs = f"the phase's commit {ours.sha[:12]} ({ours.subject!r})"
    return StagerError(
        f"{label}: the commit {item.original[:12]} ({subject!r}) that someone pushed to the "
        f"phase branch conflicts with {theirs} in "
        f"{', '.join(paths)}; nothing was written",
        f"bring {item.original[:12]} into the feature branch (`git cherry-pick "
        f"{item.original[:12]}`) and resolve the conflict there, then run sync again",
    )
