"""Pushing the phase branches: one atomic ``git push`` that never overwrites anyone's work.

Each branch is pushed with ``--force-with-lease=refs/heads/B:<expected>``,
where ``<expected>`` is the sha stager itself last pushed there (kept under
``refs/stager/pushed/<remote>/<branch>``), or empty for a branch stager never
pushed, which makes git refuse if the branch exists. A freshly fetched sha
would protect nothing: it is whatever is there, someone else's commits included.
Never a plain ``--force``. ``--atomic``: either every branch moves or none does,
so the stack on GitHub is never half old, half new. The record of the split
(``refs/stager/record/<branch>``, a full ref name among the branches) goes in
the same push, with its lease, so that any clone can read what was built.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from stager.branches.record import RECORD_PREFIX, StoredRecord, noted_pushes, read_record
from stager.errors import GitError, StagerError
from stager.git import remote as git_remote
from stager.git.refs import RefUpdate, list_refs, update_refs
from stager.git.repository import Repository
from stager.github.remote_url import GitHubTarget, parse_remote_url, resolve_target
from stager.rules.sections import GitHubRules
from stager.types import Sha

PUSHED_PREFIX = "refs/stager/pushed/"

_URL_CREDENTIALS = re.compile(r"([a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


class PushRefused(StagerError):
    """A remote branch holds commits stager did not push: it will not overwrite them."""


def pushed_ref(remote: str, branch: str) -> str:
    """Where stager records the sha it last pushed to ``remote``'s ``branch``."""
    return f"{PUSHED_PREFIX}{remote}/{branch}"


@dataclass(frozen=True)
class BranchPush:
    """One phase branch: its local tip, what stager last pushed, what the remote has."""

    branch: str
    local: Sha
    recorded: Sha | None  # what stager last pushed (refs/stager/pushed/…)
    remote: Sha | None  # the remote's tip now; None: absent (or not asked, in a dry run)
    # A remote tip stager may overwrite though this repository did not push it: one the
    # record says stager pushed (a fresh clone), or a reviewer's commit sync replayed.
    known: Sha | None = None

    @property
    def needed(self) -> bool:
        """Whether the remote must move (a dry run, knowing nothing, assumes so)."""
        return self.remote != self.local

    @property
    def lease(self) -> str:
        expected = self.remote or ""  # checked equal to ``recorded`` by ``check_pushes``
        return f"--force-with-lease={git_remote.full_ref(self.branch)}:{expected}"

    @property
    def refspec(self) -> str:
        return f"{self.local}:{git_remote.full_ref(self.branch)}"


def remote_url(repo: Repository, remote: str) -> str:
    """The URL ``git push`` uses for ``remote`` (insteadOf/pushInsteadOf applied)."""
    url = git_remote.push_url(repo, remote)
    if url is None:
        names = git_remote.remote_names(repo)
        raise StagerError(
            f"no git remote named {remote!r}"
            + (f" (remotes: {', '.join(names)})" if names else " (the repository has no remote)"),
            "pass --remote NAME, or add one with `git remote add origin URL`",
        )
    return url


def remote_target(
    repo: Repository, remote: str, repo_option: str | None, github: GitHubRules
) -> GitHubTarget:
    """The GitHub repository and API of ``remote``: ``--github-repo``, ``[github]`` settings,
    else the remote's push URL (:func:`stager.github.remote_url.resolve_target`)."""
    return resolve_target(
        remote,
        parse_remote_url(remote_url(repo, remote)),
        repo_option=repo_option,
        configured_repo=github.repo,
        configured_api_url=github.api_url,
        env=os.environ,
    )


def recorded_shas(repo: Repository, remote: str, branches: Sequence[str]) -> dict[str, Sha]:
    """What stager last pushed to each branch of ``remote`` (absent: never pushed)."""
    wanted = {pushed_ref(remote, branch): branch for branch in branches}
    refs = list_refs(repo, pushed_ref(remote, ""))
    return {wanted[name]: sha for name, sha in refs.items() if name in wanted}


def remote_shas(repo: Repository, remote: str, branches: Sequence[str]) -> dict[str, Sha]:
    """The tips of ``branches`` (or full ref names) on ``remote`` now (one ``git ls-remote``)."""
    try:
        return git_remote.remote_refs(repo, remote, branches)
    except GitError as error:
        raise GitError(scrub(str(error.problem)), error.fix) from None


def plan_pushes(
    repo: Repository, remote: str, tips: Sequence[tuple[str, Sha]], *, online: bool = True
) -> list[BranchPush]:
    """What each branch needs; ``online=False`` (dry run) does not ask the remote."""
    branches = [branch for branch, _ in tips]
    recorded = recorded_shas(repo, remote, branches)
    current = remote_shas(repo, remote, branches) if online else {}
    return [
        BranchPush(branch, sha, recorded.get(branch), current.get(branch) if online else None)
        for branch, sha in tips
    ]


def check_pushes(remote: str, pushes: Sequence[BranchPush]) -> None:
    """PushRefused when a remote branch holds commits stager did not push."""
    for push in pushes:
        if push.remote is None or push.remote in (push.recorded, push.local, push.known):
            continue
        if push.recorded is None:
            raise PushRefused(
                f"branch {push.branch!r} already exists on {remote} ({push.remote[:12]}) "
                "and stager did not push it",
                "stager never overwrites a branch it did not push: rename the phase branches "
                "(`branch` under [split] in .stager/rules.toml), or, if that remote branch is "
                f"an old copy nobody needs, delete it (`git push {remote} --delete {push.branch}`)",
            )
        raise PushRefused(
            f"branch {push.branch!r} on {remote} is at {push.remote[:12]}, not at "
            f"{push.recorded[:12]} where stager pushed it: someone else pushed to it",
            f"look at their commits (`git fetch {remote} && git log "
            f"{push.recorded[:12]}..{remote}/{push.branch}`), bring them into the feature "
            "branch, run `stager split` again, then open-pr: stager will not overwrite them",
        )


def push_arguments(remote: str, pushes: Sequence[BranchPush]) -> list[str]:
    """The one ``git push`` of every branch that must move (empty list: nothing to push)."""
    moving = [push for push in pushes if push.needed]
    if not moving:
        return []
    leases = [push.lease for push in moving]
    return git_remote.push_arguments(remote, leases, [push.refspec for push in moving])


def push_branches(repo: Repository, remote: str, pushes: Sequence[BranchPush]) -> None:
    """Push (atomically, with leases) and record what was pushed; refuses as ``check_pushes``."""
    check_pushes(remote, pushes)
    moving = [push for push in pushes if push.needed]
    if moving:
        leases = [push.lease for push in moving]
        try:
            git_remote.push(repo, remote, leases, [push.refspec for push in moving])
        except GitError as error:
            raise GitError(
                f"pushing the phase branches to {remote} failed: {scrub(error.problem)}",
                "nothing was pushed (the push is atomic); if a branch moved on the remote "
                "meanwhile, run open-pr again to see which; otherwise check your access with "
                f"`git push --dry-run {remote}`",
            ) from None
    update_refs(
        repo,
        [
            RefUpdate(pushed_ref(remote, push.branch), push.local, push.recorded)
            for push in pushes
            if push.recorded != push.local
        ],
    )


def push_stack(
    repo: Repository,
    remote: str,
    tips: Sequence[tuple[str, Sha]],
    *,
    incorporated: Mapping[str, Sha] | None = None,
) -> list[BranchPush]:
    """Push the phase branches and the record among ``tips`` (atomically, with leases), the
    record noting the phase commits pushed; the local record moves once the push is done.

    ``incorporated``: branch → a remote tip the new one was built on (a reviewer's commits
    that sync replayed): the lease expects it, though stager did not push it.
    """
    stored = _stored_record(repo, tips)
    noted = None
    if stored is not None:
        branches = [(branch, sha) for branch, sha in tips if not branch.startswith("refs/")]
        noted = noted_pushes(repo, stored, remote, branches)
        if noted is not None:
            tips = [(branch, noted if branch == stored.ref else sha) for branch, sha in tips]
    pushes = plan_pushes(repo, remote, tips)
    if incorporated:
        pushes = [
            replace(push, known=push.remote)
            if push.remote is not None and incorporated.get(push.branch) == push.remote
            else push
            for push in pushes
        ]
    push_branches(repo, remote, pushes)
    if stored is not None and noted is not None:
        update_refs(repo, [RefUpdate(stored.ref, noted, stored.commit)])
    return pushes


def _stored_record(repo: Repository, tips: Sequence[tuple[str, Sha]]) -> StoredRecord | None:
    """The record among ``tips`` when it is the repository's current one for its branch."""
    for branch, sha in tips:
        if branch.startswith(RECORD_PREFIX):
            stored = read_record(repo, branch.removeprefix(RECORD_PREFIX))
            return stored if stored is not None and stored.commit == sha else None
    return None


def delete_branches(repo: Repository, remote: str, expected: Mapping[str, Sha]) -> None:
    """Delete ``expected``'s branches on ``remote`` in one atomic push, each only while it is
    still at the sha given (its lease): a commit pushed there meanwhile keeps it."""
    if not expected:
        return
    leases = [
        f"--force-with-lease={git_remote.full_ref(branch)}:{sha}"
        for branch, sha in expected.items()
    ]
    refspecs = [f":{git_remote.full_ref(branch)}" for branch in expected]
    try:
        git_remote.push(repo, remote, leases, refspecs)
    except GitError as error:
        raise GitError(
            f"deleting the merged phase branches {', '.join(expected)} on {remote} failed: "
            f"{scrub(error.problem)}",
            "nothing was deleted (the push is atomic); if one of them moved meanwhile, "
            "look at its new commits, then run the command again",
        ) from None
    update_refs(
        repo,
        [
            RefUpdate(pushed_ref(remote, branch), None, recorded)
            for branch, recorded in recorded_shas(repo, remote, list(expected)).items()
        ],
    )


def scrub(text: str) -> str:
    """``text`` without ``user:password@`` in URLs (git may echo a remote's URL)."""
    return _URL_CREDENTIALS.sub(r"\1", text)
