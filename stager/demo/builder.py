"""Write the demo repository by replaying its history with one ``git fast-import`` stream.

Four git calls in all (init, fast-import, reset, remote add), so the build takes
a few tens of milliseconds. Every commit carries fixed authors and dates and git
runs with no system or global configuration, so two builds, on any machine,
give the same commit ids.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stager.demo.history import DemoHistory, raw_date, read_history
from stager.errors import StagerError
from stager.git.create import init_repository
from stager.types import Sha

# Added to every git call: nothing of the user's setup reaches the demo's objects.
_SEALED = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_DEFAULT_HASH": "sha1",
    # reflog entries need an identity; commits carry their own
    "GIT_COMMITTER_NAME": "stager demo",
    "GIT_COMMITTER_EMAIL": "demo@stager.invalid",
}


@dataclass(frozen=True)
class DemoRepository:
    """The demo as written: where it is, its two branches and their key commits."""

    path: Path
    base_branch: str
    head_branch: str
    base: Sha  # tip of base_branch, which moved on after the branch point
    merge_base: Sha
    head: Sha  # tip of head_branch, checked out


def build_demo_repository(path: Path) -> DemoRepository:
    """Write the demo repository into ``path`` (a missing or empty folder).

    The work tree is checked out on the feature branch, ready for
    ``stager analyze``. Raises StagerError when ``path`` holds anything.
    """
    path = Path(path).absolute()
    history = read_history()
    created = _claim_folder(path)
    try:
        return _build(path, history)
    except BaseException:
        # Leave the folder as it was, so that running the command again works.
        _clear(path, remove_folder=created)
        raise


def fast_import_stream(history: DemoHistory) -> bytes:
    """The fast-import stream of ``history``, ending with the ids of base, merge base and head.

    The head branch's first commit forks from the base branch's tip of that
    moment; ``get-mark`` makes fast-import print the three commit ids.
    """
    out = bytearray()
    tips: dict[str, int] = {}
    merge_base = 0
    for mark, commit in enumerate(history.commits, start=1):
        parent = tips.get(commit.branch)
        if parent is None and commit.branch != history.base_branch:
            parent = merge_base = tips[history.base_branch]
        who = f"{commit.author} {raw_date(commit.date)}"
        out += f"commit refs/heads/{commit.branch}\nmark :{mark}\n".encode()
        out += f"author {who}\ncommitter {who}\n".encode()
        out += _data(commit.message.rstrip("\n").encode() + b"\n")
        if parent is not None:
            out += f"from :{parent}\n".encode()
        for file_path, content in sorted(commit.files.items()):
            if content is None:
                out += f"D {file_path}\n".encode()
            else:
                out += f"M 100644 inline {file_path}\n".encode() + _data(content)
        out += b"\n"
        tips[commit.branch] = mark
    for mark in (tips[history.base_branch], merge_base, tips[history.head_branch]):
        out += f"get-mark :{mark}\n".encode()
    return bytes(out + b"done\n")


def _build(path: Path, history: DemoHistory) -> DemoRepository:
    repo = init_repository(path, branch=history.head_branch, env=_SEALED)
    output = repo.run(
        ["fast-import", "--quiet", "--done", "--date-format=raw"],
        stdin=fast_import_stream(history),
        env=_SEALED,
    )
    base, merge_base, head = (Sha(line) for line in output.decode().split())
    # HEAD already names the feature branch (init), so this fills index and work tree.
    repo.run(["reset", "--quiet", "--hard"], env=_SEALED)
    # A fictional GitHub remote, so `stager open-pr --all --dry-run` can show the
    # pull requests it would open; nothing is ever pushed there by the demo.
    repo.run(["remote", "add", "origin", history.remote], env=_SEALED)
    return DemoRepository(
        path=path,
        base_branch=history.base_branch,
        head_branch=history.head_branch,
        base=base,
        merge_base=merge_base,
        head=head,
    )


def _claim_folder(path: Path) -> bool:
    """Check ``path`` can take the demo; True when this call created it."""
    fix = "pass a folder that does not exist yet or is empty, e.g. `stager demo ./stager-demo`"
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise StagerError(f"{path} exists and is not a folder", fix)
        if any(path.iterdir()):
            raise StagerError(f"{path} is not empty", fix)
        return False
    try:
        path.mkdir(parents=True)
    except OSError as error:
        raise StagerError(
            f"cannot create {path}: {error.strerror}", "choose a folder you can write to"
        ) from error
    return True


def _clear(path: Path, *, remove_folder: bool) -> None:
    if remove_folder:
        shutil.rmtree(path, ignore_errors=True)
        return
    for child in _children(path):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _children(path: Path) -> Iterable[Path]:
    try:
        return list(path.iterdir())
    except OSError:
        return []


def _data(payload: bytes) -> bytes:
    return f"data {len(payload)}\n".encode() + payload + b"\n"
