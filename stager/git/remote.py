"""Remotes: their URL, their branches, and the one atomic push.

Every call goes through :class:`stager.git.repository.Repository`. A failure
raises ``GitError`` with git's message, which may quote a remote's URL: the
caller scrubs credentials from it before showing it.
"""

from __future__ import annotations

from collections.abc import Sequence

from stager.git.repository import Repository
from stager.types import Sha


def push_url(repo: Repository, remote: str) -> str | None:
    """The URL ``git push`` uses for ``remote`` (insteadOf applied); None: no such remote."""
    code, out, _err = repo.call(["remote", "get-url", "--push", "--end-of-options", remote])
    return out.decode("utf-8", "surrogateescape").strip() if code == 0 else None


def remote_names(repo: Repository) -> list[str]:
    """Every remote's name."""
    return repo.run(["remote"]).decode("utf-8", "replace").split()


def full_ref(name: str) -> str:
    """A branch's full ref name; a full name (``refs/…``) as it is."""
    return name if name.startswith("refs/") else f"refs/heads/{name}"


def remote_refs(repo: Repository, remote: str, names: Sequence[str]) -> dict[str, Sha]:
    """The tips of ``names`` (branches, or full ref names) on ``remote`` now (one
    ``git ls-remote``); absent ones left out."""
    wanted = {full_ref(name): name for name in names}
    output = repo.run(["ls-remote", "--end-of-options", remote, *wanted])
    found: dict[str, Sha] = {}
    for line in output.decode("utf-8", "surrogateescape").splitlines():
        sha, _, name = line.partition("\t")
        if name in wanted:  # ls-remote matches patterns on the ref's tail: keep exact names
            found[wanted[name]] = Sha(sha)
    return found


def push_arguments(remote: str, leases: Sequence[str], refspecs: Sequence[str]) -> list[str]:
    """``git push`` (without the ``git``) of ``refspecs``, atomic, each under its lease.

    No tags follow, no submodule is pushed, and ``--porcelain`` keeps git's
    report stable. The pre-push hook runs: git-lfs needs it.
    """
    return [
        "push",
        "--atomic",
        "--porcelain",
        "--no-follow-tags",
        "--recurse-submodules=no",
        *leases,
        "--end-of-options",
        remote,
        *refspecs,
    ]


def push(repo: Repository, remote: str, leases: Sequence[str], refspecs: Sequence[str]) -> None:
    """Push ``refspecs`` in one atomic ``git push``: every ref moves, or none (GitError)."""
    repo.run(push_arguments(remote, leases, refspecs))


def fetch(repo: Repository, remote: str, refspecs: Sequence[str]) -> None:
    """``git fetch`` of ``refspecs`` from ``remote``: no tags, no submodules, quietly."""
    options = ["--quiet", "--no-tags", "--recurse-submodules=no", "--end-of-options"]
    repo.run(["fetch", *options, remote, *refspecs])
