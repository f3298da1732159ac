"""Refs and worktrees: read them, move them in one transaction, never the checked-out one.

``update_refs`` applies every change of a run in ONE ``git update-ref --stdin``
transaction whose every line checks the ref's old value: a run moves all its
branches or none, even when a signal stops stager meanwhile.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stager.errors import StagerError
from stager.git.repository import Repository
from stager.interrupts import deferred
from stager.types import Sha


@dataclass(frozen=True)
class RefUpdate:
    """One line of an update-ref transaction.

    ``new`` None deletes the ref; ``old`` None requires that the ref does not
    exist yet; every other ``old`` must be the ref's current value.
    """

    ref: str
    new: Sha | None
    old: Sha | None


def read_refs(repo: Repository, names: Iterable[str]) -> dict[str, Sha]:
    """Current values of the refs among ``names`` that exist (full ref names)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    # a pattern also matches refs below it: keep exact names
    return {name: sha for name, sha in list_refs(repo, *wanted).items() if name in wanted}


def list_refs(repo: Repository, *prefixes: str) -> dict[str, Sha]:
    """Every ref under ``prefixes`` (e.g. ``refs/stager/backup/``) with its value."""
    out = repo.run(["for-each-ref", "--format=%(objectname) %(refname)", *prefixes])
    lines = out.decode("utf-8", "surrogateescape").splitlines()
    return {name: Sha(sha) for sha, _, name in (line.partition(" ") for line in lines)}


def update_refs(repo: Repository, updates: Sequence[RefUpdate]) -> None:
    """Apply every update in ONE ``git update-ref --stdin`` transaction, or none of them."""
    if not updates:
        return
    length = next((len(sha) for update in updates for sha in (update.new, update.old) if sha), 40)
    null = "0" * length
    lines = ["start"]
    for update in updates:
        old = update.old or null
        if update.new is None:
            lines.append(f"delete {update.ref} {old}")
        else:
            lines.append(f"update {update.ref} {update.new} {old}")
    lines += ["prepare", "commit"]
    # A signal must not cut the transaction in half (git renames one lock file per
    # ref): git runs out of reach of the signals sent to stager's group, and stager
    # itself stops only once git is done.
    with deferred("the ref update under way had finished (all its refs moved)"):
        code, _out, err = repo.call(
            ["update-ref", "--stdin"],
            stdin=("\n".join(lines) + "\n").encode("utf-8"),
            own_session=True,
        )
        if code != 0:
            raise StagerError(
                "no branch was changed: git refused the ref update" + _reason(err),
                "a branch moved while stager ran, a branch name clashes with an existing one "
                "(`stage` next to `stage/1-x`), or a `.lock` file is left over from a git "
                "process that crashed (remove it if no git command is running): check "
                "`git branch --list` and run the command again",
            )


def _reason(err: bytes) -> str:
    """git's own reason, `` (fatal: …)``: the fatal line, not the hint after it."""
    lines = [line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    for prefix in ("fatal:", "error:"):
        found = [line for line in lines if line.startswith(prefix)]
        if found:
            return f" ({found[0]})"
    return f" ({lines[-1]})" if lines else ""


def checked_out_branches(repo: Repository) -> dict[str, Path]:
    """Branches checked out in any worktree of the repository: ref name → worktree folder."""
    out = repo.run(["worktree", "list", "--porcelain", "-z"])
    found: dict[str, Path] = {}
    folder: Path | None = None
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        if record.startswith("worktree "):
            folder = Path(record.removeprefix("worktree "))
        elif record.startswith("branch ") and folder is not None:
            found[record.removeprefix("branch ")] = folder
    return found


def worktree_add(repo: Repository, folder: Path, commit: Sha) -> None:
    """A detached worktree of ``commit`` in ``folder`` (no post-checkout hook runs)."""
    repo.run(["worktree", "add", "--detach", "--quiet", str(folder), commit])


def worktree_remove(repo: Repository, folder: Path) -> None:
    """Remove a worktree made by ``worktree_add``, its administrative files too.

    git refuses a worktree whose ``worktree add`` was stopped (still locked,
    no ``.git`` file yet), and ``git worktree prune`` would also forget the
    user's worktrees that are only missing for now (a drive not mounted): stager
    deletes the folder and the one administrative folder that names it.
    """
    code, _out, _err = repo.call(["worktree", "remove", "--force", "--force", str(folder)])
    if code == 0:
        return
    shutil.rmtree(folder, ignore_errors=True)
    common = repo.run(["rev-parse", "--path-format=absolute", "--git-common-dir"])
    admin = Path(common.decode("utf-8", "surrogateescape").strip()) / "worktrees"
    wanted = (folder / ".git").resolve()
    for entry in admin.glob("*/gitdir"):
        try:
            named = Path(entry.read_text(encoding="utf-8", errors="surrogateescape").strip())
        except OSError:
            continue
        if named.resolve() == wanted:
            shutil.rmtree(entry.parent, ignore_errors=True)
