"""How a phase branch compares: with its copy on the remote, the base, and the feature branch.

``stager status`` asks; each answer is one or two git commands, reads only.
"""

from __future__ import annotations

from stager.errors import GitError
from stager.git.history import is_ancestor
from stager.git.object_ids import object_ids
from stager.git.repository import Repository
from stager.types import RepoPath, Sha

SAME, ABSENT, REMOTE_ONLY, AHEAD, BEHIND, BOTH, NOT_FETCHED = (
    "same",
    "absent",
    "remote only",
    "ahead",
    "behind",
    "diverged",
    "not fetched",
)


def known_commit(repo: Repository, sha: Sha | None) -> Sha | None:
    """``sha`` when this repository has that commit (the remote's tip may not be fetched)."""
    if sha is None:
        return None
    found = object_ids(repo, [sha]).get(sha)
    return sha if found is not None and found.kind == "commit" else None


def remote_state_of(repo: Repository, here: Sha | None, there: Sha | None) -> str:
    """The remote's branch (``there``) against the local one (``here``)."""
    if there is None:
        return ABSENT
    if here is None:
        return REMOTE_ONLY  # a clone that fetched the branches without making them its own
    if here == there:
        return SAME
    if known_commit(repo, there) is None:
        return NOT_FETCHED
    if is_ancestor(repo, here, there):
        return AHEAD
    return BEHIND if is_ancestor(repo, there, here) else BOTH


def changed_since(repo: Repository, split_head: Sha, head: Sha) -> tuple[set[RepoPath], bool]:
    """The paths the feature branch changed since the split; (…, True) when that head is
    not in this repository (a fresh clone of a rewritten branch): nothing can be told."""
    if split_head == head:
        return set(), False
    try:
        return {p for changed in repo.changed_files(split_head, head) for p in changed.paths}, False
    except GitError:
        return set(), True


def commits_behind(repo: Repository, tip: Sha, base: Sha) -> int:
    """How many commits of ``base`` the branch at ``tip`` lacks."""
    out = repo.run(["rev-list", "--count", "--end-of-options", f"{tip}..{base}", "--"])
    return int(out.decode("ascii").strip() or 0)


def foreign_commits(
    repo: Repository, built: Sha, tip: Sha | None, head: Sha
) -> tuple[tuple[Sha, ...], tuple[Sha, ...], bool]:
    """The commits on the branch after what split built, and those the feature branch has.

    ``git cherry`` compares by patch: a reviewer's fix cherry-picked into the feature
    branch counts as there. A branch that no longer contains the built tip diverged.
    """
    if tip is None or tip == built:
        return (), (), False
    try:
        if not is_ancestor(repo, built, tip):
            return (), (), True
    except GitError:  # the built tip is not here (a fresh clone of a branch rebuilt since)
        return (), (), True
    out = repo.run(["cherry", "--end-of-options", head, tip, built]).decode("ascii")
    lines = [line.split() for line in out.splitlines() if line.strip()]
    commits = tuple(Sha(sha) for _sign, sha in lines)
    in_feature = tuple(Sha(sha) for sign, sha in lines if sign == "-")
    return commits, in_feature, False
