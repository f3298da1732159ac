"""Where phase 1 starts, and --onto REF: the phase commits moved onto REF by git's merge.

By default a split starts at the base's tip when the base moved since the merge
base (``start``): a phase 1 built from the merge base would give the base two
Alembic heads once merged. ``--from-merge-base`` keeps the merge base.

Each phase commit is built from the merge base first; then it is merged onto
REF (or the previous phase, moved): ``git merge-tree --write-tree`` of the
moved parent and the commit, with the commit's own parent as the merge base.
git before 2.40 has no ``--merge-base`` option, so the merge base is made so:
a helper commit carrying the moved parent's tree has the original parent as
its only parent (it is never referenced and git's gc removes it). A file the
base changed since the merge base keeps the base's change: nothing is copied
over it. Conflicts stop the split before any ref moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from stager.analysis import Analysis
from stager.branches.cherry_pick import Recipe
from stager.branches.split_types import BuiltCommit, SplitResult
from stager.errors import StagerError
from stager.git.repository import Commit
from stager.git.write import MergeConflict, MergeOutcome, Writer
from stager.types import RepoPath, Sha


@dataclass(frozen=True)
class Start:
    """Where phase 1 starts: ``onto`` REF (None: the merge base), and what to tell the user."""

    onto: str | None
    note: str | None = None

    def noted(self, result: SplitResult) -> SplitResult:
        """``result`` with the note (first: where phase 1 starts is read before the rest)."""
        if self.note is None:
            return result
        return replace(result, notes=(self.note, *result.notes))


def start(analysis: Analysis, onto: str | None, *, from_merge_base: bool) -> Start:
    """``--onto REF``; else the base's tip when the base moved; else the merge base.

    With ``--from-merge-base`` on a base that gained revisions, the note says
    that merging phase 1 gives two Alembic heads (the split's SG008).
    """
    refs = analysis.refs
    if onto is not None or refs.base == refs.merge_base:
        return Start(onto)
    gained = len(analysis.drift.commits)
    commits = f"{gained} commit{'s' if gained != 1 else ''}"
    since = f"{commits} since the merge base {refs.merge_base[:12]}"
    if not from_merge_base:
        return Start(
            refs.base_ref,
            f"built onto {refs.base_ref}'s tip {refs.base[:12]} ({refs.base_ref} gained {since}), "
            f"with git's 3-way merge; --from-merge-base builds from the merge base instead",
        )
    heads = [f for f in analysis.migrations.findings if f.rule == "SG008"]
    if not heads:
        return Start(None)
    return Start(
        None,
        f"built from the merge base {refs.merge_base[:12]} (--from-merge-base), though "
        f"{refs.base_ref} gained {since}: merging phase 1 gives {refs.base_ref} two Alembic "
        f"heads (SG008: {heads[0].message}); split without --from-merge-base to re-chain onto "
        f"{refs.base_ref}'s head",
    )


@dataclass(frozen=True)
class PhaseConflicts:
    phase: str
    commit: BuiltCommit
    conflicts: tuple[MergeConflict, ...]


def transplant(
    writer: Writer,
    planned: Sequence[BuiltCommit],
    recipes: Sequence[Recipe],
    new_parent: Sha,
    *,
    sign: bool,
) -> tuple[list[BuiltCommit], tuple[MergeConflict, ...], BuiltCommit | None]:
    """``planned`` (built on their own parents) rebuilt on ``new_parent``.

    Returns the new commits, and the conflicts of the first commit that does
    not merge (with that commit), if any. A commit whose changes are all on
    REF already gives no commit.
    """
    moved: list[BuiltCommit] = []
    tip = new_parent
    writer.flush()
    tip_tree = writer.tree_of(new_parent)
    for commit, recipe in zip(planned, recipes, strict=True):
        outcome = merge_onto(writer, tip_tree, commit.parent, commit.sha)
        if outcome.conflicts:
            return moved, outcome.conflicts, commit
        if outcome.tree == tip_tree:
            continue
        sha = writer.commit(outcome.tree, [tip], recipe.message, author=recipe.author, sign=sign)
        moved.append(BuiltCommit(sha, outcome.tree, tip, recipe.subject, recipe.source))
        tip, tip_tree = sha, outcome.tree
    return moved, (), None


def merge_onto(writer: Writer, ours_tree: Sha, merge_base: Sha, theirs: Sha) -> MergeOutcome:
    """``ours_tree`` merged with ``theirs``, ``merge_base`` being their merge base."""
    helper = writer.commit(ours_tree, [merge_base], "stager: merge base helper for --onto\n")
    writer.flush()  # merge-tree reads the commits
    return writer.merge_tree(helper, theirs)


def conflict_error(
    found: Sequence[PhaseConflicts],
    onto: str,
    base_commits: Sequence[Commit],
    branch_commits: Sequence[Commit],
) -> StagerError:
    """One error naming every conflicted file, with the commits that changed it on each side."""

    def touching(commits: Sequence[Commit], path: RepoPath) -> str:
        shas = [commit.sha[:10] for commit in commits if path in commit.files]
        return ", ".join(shas[-5:]) if shas else "none"

    lines = []
    for item in found:
        for conflict in item.conflicts:
            kind = f" ({conflict.messages[0]})" if conflict.messages else ""
            lines.append(
                f"{item.phase}: {conflict.path}{kind} — changed on {onto} by "
                f"{touching(base_commits, conflict.path)}, on the branch by "
                f"{touching(branch_commits, conflict.path)}"
            )
    return StagerError(
        f"the phases do not merge cleanly onto {onto}; nothing was written. Conflicts: "
        + "; ".join(lines),
        f"merge {onto} into the branch and resolve them there (then split again), "
        "or split with --from-merge-base (the phases then start at the merge base: "
        "merging them meets the same conflicts)",
    )
