"""The cherry-pick strategy: replay the branch's first-parent commits, limited to a phase.

Each commit's changes to the phase's paths are applied in order on the
phase's parent tree. A change applies when the path is exactly as the commit
found it (same blob and mode): then the result is the commit's version, as a
clean ``git cherry-pick`` would give. When it is not (the branch merged the
base, whose version is already in the phase), the replay stops with a
``ReplayConflict`` and ``auto`` uses the patch strategy for that phase.

Merge commits are never replayed as merges: their own changes (the diff
against the first parent) are applied like any other commit's, as a patch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stager.branches.messages import replay_message
from stager.branches.split_types import Rewrite
from stager.branches.targets import PhaseTarget
from stager.git.history import HistoryCommit
from stager.git.trees import Node, TreeModel
from stager.git.write import Author
from stager.types import RepoPath, Sha


@dataclass(frozen=True)
class Step:
    """One original commit's part in a phase."""

    commit: HistoryCommit
    changes: Mapping[RepoPath, Node | None]  # head-history versions, before re-chaining
    whole: bool  # the commit changes nothing outside this phase


@dataclass(frozen=True)
class ReplayConflict:
    """Where the replay of a phase stops."""

    commit: HistoryCommit | None
    path: RepoPath
    why: str

    def describe(self) -> str:
        where = (
            f"commit {self.commit.sha[:12]} ({self.commit.subject})"
            if self.commit
            else "the replay"
        )
        return f"{where}: {self.path}: {self.why}"


@dataclass(frozen=True)
class Recipe:
    """A commit to write: everything but its parent."""

    tree: Sha
    message: str
    author: Author | None  # None: the user, now
    source: Sha | None

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


def _node(mode: str, blob: Sha) -> Node | None:
    return None if mode == "000000" else (mode, blob)


def simulate(history: Sequence[HistoryCommit], target: PhaseTarget) -> list[Step] | ReplayConflict:
    """The steps that replay ``target``'s part of ``history``, or where that fails."""
    state: dict[RepoPath, Node | None] = dict(target.start)
    steps: list[Step] = []
    for commit in history:
        mine = [change for change in commit.changes if change.path in target.paths]
        if not mine:
            continue
        changes: dict[RepoPath, Node | None] = {}
        for change in mine:
            expected = _node(change.old_mode, change.old_blob)
            if state[change.path] != expected:
                found = state[change.path]
                why = (
                    "the phase already has another version of it"
                    if found is not None
                    else "the file is not in the phase at that point"
                )
                if expected is None:
                    why = "the file already exists in the phase"
                return ReplayConflict(commit, change.path, why)
            state[change.path] = changes[change.path] = _node(change.new_mode, change.new_blob)
        whole = len(mine) == len(commit.changes)
        steps.append(Step(commit, changes, whole))
    for path, node in target.head.items():
        if state[path] != node:
            return ReplayConflict(None, path, "the replayed commits do not end at head's version")
    return steps


def versions(steps: Sequence[Step], paths: Sequence[RepoPath]) -> dict[RepoPath, list[Sha]]:
    """Every blob the steps give each of ``paths`` (to re-chain earlier versions too)."""
    wanted = set(paths)
    found: dict[RepoPath, list[Sha]] = {}
    for step in steps:
        for path, node in step.changes.items():
            if path in wanted and node is not None:
                found.setdefault(path, []).append(node[1])
    return found


def recipes(
    model: TreeModel,
    steps: Sequence[Step],
    target: PhaseTarget,
    parent_tree: Sha,
    relinked: Mapping[tuple[RepoPath, Sha], Sha],
    total: int,
) -> list[Recipe]:
    """The phase's commits, one per step that changes its tree."""
    by_path: dict[RepoPath, Rewrite] = {rewrite.path: rewrite for rewrite in target.rewrites}
    made: list[Recipe] = []
    tree = parent_tree
    for step in steps:
        changes: dict[RepoPath, Node | None] = {}
        recorded: list[Rewrite] = []
        for path, node in step.changes.items():
            changes[path] = node
            if node is not None and path in by_path:
                changes[path] = (node[0], relinked.get((path, node[1]), node[1]))
                recorded.append(by_path[path])
        new_tree = model.build(tree, changes)
        if new_tree == tree:
            continue  # e.g. a commit that only fixed a down_revision the split re-chains anyway
        tree = new_tree
        commit = step.commit
        made.append(
            Recipe(
                tree=tree,
                message=replay_message(
                    commit, target.phase, total, whole=step.whole, rewrites=recorded
                ),
                author=Author(commit.author_name, commit.author_email, commit.author_date),
                source=commit.sha,
            )
        )
    return made
