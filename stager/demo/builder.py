"""Write the demo repository with one ``git fast-import`` stream.

Four git processes in all (init, fast-import, reset, remote add), so the build takes a
few tens of milliseconds. Every commit carries fixed authors and dates and
git runs with no system or global config, so two builds, on any machine,
give the same commit ids.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from stager.demo.history import BASE_BRANCH, HEAD_BRANCH, HISTORY, DemoCommit
from stager.errors import GitError, StagerError
from stager.git.repository import parse_git_version, require_git_version
from stager.types import Sha


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
    # Before writing anything: analyzing the demo needs git 2.38, and a demo
    # written by an older git would be left behind, half useful.
    version = _git(["version"], _sealed_env(), cwd=Path(os.sep))
    require_git_version(parse_git_version(version.decode("ascii", "replace")))
    created = _claim_folder(path)
    try:
        return _build(path)
    except BaseException:
        # Leave the folder as it was, so that running the command again works.
        _clear(path, remove_folder=created)
        raise


def fast_import_stream(commits: Sequence[DemoCommit]) -> tuple[bytes, tuple[int, int, int]]:
    """The fast-import stream for ``commits``, and the marks of base, merge base and head.

    A branch's first commit forks from the base branch's tip of that moment;
    the stream ends with ``get-mark`` for the three commits so that their ids
    come back on fast-import's standard output.
    """
    out = bytearray()
    tips: dict[str, int] = {}
    merge_base = 0
    for mark, commit in enumerate(commits, start=1):
        parent = tips.get(commit.branch)
        if parent is None and commit.branch != BASE_BRANCH:
            parent = merge_base = tips[BASE_BRANCH]
        who = f"{commit.author.name} <{commit.author.email}> {_raw_date(commit)}"
        out += f"commit refs/heads/{commit.branch}\nmark :{mark}\n".encode()
        out += f"author {who}\ncommitter {who}\n".encode()
        out += _data(commit.message.rstrip("\n") + "\n")
        if parent is not None:
            out += f"from :{parent}\n".encode()
        for file_path, content in sorted(commit.files.items()):
            if content is None:
                out += f"D {file_path}\n".encode()
            else:
                out += f"M 100644 inline {file_path}\n".encode() + _data(content)
        out += b"\n"
        tips[commit.branch] = mark
    marks = (tips[BASE_BRANCH], merge_base, tips[HEAD_BRANCH])
    for mark in marks:
        out += f"get-mark :{mark}\n".encode()
    out += b"done\n"
    return bytes(out), marks


DEMO_REMOTE = "https://github.com/example/fuel-credits.git"


def _build(path: Path) -> DemoRepository:
    env = _sealed_env()
    _git(["init", "-q", f"--initial-branch={HEAD_BRANCH}", str(path)], env, cwd=path)
    stream, _ = fast_import_stream(HISTORY)
    output = _git(
        ["fast-import", "--quiet", "--done", "--date-format=raw"], env, cwd=path, stdin=stream
    )
    base, merge_base, head = (Sha(line) for line in output.decode().split())
    # HEAD already names the feature branch (init), so this fills index and work tree.
    _git(["reset", "-q", "--hard"], env, cwd=path)
    # A fictional GitHub remote, so `stager open-pr --all --dry-run` can show the
    # pull requests it would open; nothing is ever pushed there by the demo.
    _git(["remote", "add", "origin", DEMO_REMOTE], env, cwd=path)
    return DemoRepository(
        path=path,
        base_branch=BASE_BRANCH,
        head_branch=HEAD_BRANCH,
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


def _sealed_env() -> dict[str, str]:
    """The environment minus anything that could make git behave differently."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        # reflog entries need an identity; commits carry their own
        GIT_COMMITTER_NAME="stager demo",
        GIT_COMMITTER_EMAIL="demo@stager.invalid",
        LC_ALL="C",
    )
    return env


def _git(
    args: list[str], env: Mapping[str, str], *, cwd: Path, stdin: bytes | None = None
) -> bytes:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError as error:
        raise GitError(
            "git is not installed or not on PATH", "install git 2.38 or newer"
        ) from error
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(
            f"git {args[0]} failed while writing the demo repository"
            + (f": {detail[-1]}" if detail else ""),
            "check that git 2.38 or newer is installed, then run the command again",
        )
    return result.stdout


def _raw_date(commit: DemoCommit) -> str:
    """``<epoch> <offset>`` for git's raw date format, from the author's local time."""
    local = datetime.fromisoformat(f"{commit.date}{commit.author.utc_offset}")
    return f"{int(local.timestamp())} {commit.author.utc_offset}"


def _data(text: str) -> bytes:
    payload = text.encode()
    return f"data {len(payload)}\n".encode() + payload + b"\n"
