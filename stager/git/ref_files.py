"""Refs as files: a ref file git cannot read, and the lock files a killed git leaves.

git's ``files`` backend keeps each ref in ``<common dir>/<ref>``; a
transaction writes the new value into ``<ref>.lock`` and renames it into place
ref by ref. A ``git update-ref`` killed in that commit step leaves some refs
moved and the others' locks behind; git itself never removes a lock it did
not take. (The ``reftable`` backend has no such files: a transaction applies
whole or not at all.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stager.git.repository import Repository
from stager.types import Sha

PACKED_REFS_LOCK = "packed-refs.lock"


def common_dir(repo: Repository) -> Path:
    """The folder every worktree of the repository shares: refs, objects, packed-refs."""
    out = repo.run(["rev-parse", "--path-format=absolute", "--git-common-dir"])
    return Path(out.decode("utf-8", "surrogateescape").strip())


def broken_ref(repo: Repository, ref: str) -> Path | None:
    """The file of ``ref`` when git cannot read it (``ignoring broken ref``), else None.

    git lists such a ref nowhere and cannot delete it (``update-ref -d``
    fails with "reference broken"): only removing the file does.
    """
    _code, _out, err = repo.call(["for-each-ref", "--format=%(refname)", "--end-of-options", ref])
    if f"ignoring broken ref {ref}".encode("utf-8", "surrogateescape") not in err:
        return None
    return common_dir(repo) / ref


@dataclass(frozen=True)
class RefLock:
    """A ``<ref>.lock`` file that exists, and the object id it holds ("" for a deletion's)."""

    ref: str
    path: Path
    value: Sha


def ref_locks(repo: Repository, refs: list[str]) -> list[RefLock]:
    """The lock files of ``refs`` that exist."""
    folder = common_dir(repo)
    locks: list[RefLock] = []
    for ref in refs:
        path = folder / f"{ref}.lock"
        try:
            value = path.read_text(encoding="ascii", errors="replace").strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
        locks.append(RefLock(ref, path, Sha(value)))
    return locks


def packed_refs_lock(repo: Repository) -> Path | None:
    """``packed-refs.lock`` when it exists: a deletion's transaction takes it."""
    path = common_dir(repo) / PACKED_REFS_LOCK
    return path if path.exists() else None
