"""Running git: the safe environment, one process per call, errors with a fix.

Every git command of stager starts here (through :class:`stager.git.repository.Repository`):
the environment and flags that keep the user's configuration from changing a
result, the translation of git's stderr into a ``GitError`` that says how to
fix it, and the one-time check of git's version. See
:mod:`stager.git.repository` for the rules every call follows.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from stager.errors import GitError, GitTooOld

MIN_GIT_VERSION = (2, 38)
"""``merge-tree --write-tree`` (used to rebase phases) and ``cat-file -z`` need it."""

GIT_ENV = {
    "GIT_OPTIONAL_LOCKS": "0",
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "GIT_LITERAL_PATHSPECS": "1",
}

NO_RENAME_FLAGS = (
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--no-color",
    "--diff-algorithm=myers",
    "--ignore-submodules=none",
    f"-O{os.devnull}",
)
"""Flags for every diff and log call, overriding whatever the user configured..."""
DIFF_FLAGS = ("-M", "-l0", *NO_RENAME_FLAGS)
"""... and rename detection, for the calls that pair renames."""

# A global attributes file (core.attributesFile) could mark files binary; the
# repository's own .gitattributes still apply, as they are part of the project.
NO_USER_ATTRIBUTES = ("-c", f"core.attributesFile={os.devnull}")

# No hook runs: every git call but a push sees a hooks folder that cannot hold
# one. Writing objects or local refs would otherwise run the repository's hooks
# (reference-transaction on update-ref, post-index-change on a temporary index,
# post-checkout on the worktree verify --check makes); docs/split.md lists them.
HOOKS_RUN = frozenset({"push"})
"""The git commands whose hooks do run: pre-push (git-lfs uploads its objects there)."""


def no_hooks(environ: Mapping[str, str]) -> dict[str, str]:
    """``core.hooksPath=/dev/null`` as one more of git's ``GIT_CONFIG_COUNT`` entries.

    In the environment, not as ``-c``: git's command line stays as the caller
    wrote it, and the entries the user set there are kept.
    """
    given = environ.get("GIT_CONFIG_COUNT", "")
    count = int(given) if given.isdigit() else 0
    return {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": "core.hooksPath",
        f"GIT_CONFIG_VALUE_{count}": os.devnull,
    }


_UPGRADE_HINT = (
    "upgrade git (macOS: `brew install git`; Debian/Ubuntu: the git-core PPA or backports; "
    "Windows: https://git-scm.com/download/win) and run stager again"
)

_log = logging.getLogger("stager.git.repository")


class Outcome(NamedTuple):
    """How a finished git process ended."""

    returncode: int
    stdout: bytes
    stderr: bytes


def _buffer(content: bytes = b"") -> BinaryIO:
    """An anonymous in-memory file (a temporary file where there is no memfd): nothing to
    remove, even when stager is killed."""
    if hasattr(os, "memfd_create"):
        buffer: BinaryIO = os.fdopen(os.memfd_create("stager-git", os.MFD_CLOEXEC), "w+b")
    else:
        buffer = tempfile.TemporaryFile()  # noqa: SIM115 (closed by GitProcess)
    if content:
        buffer.write(content)
        buffer.seek(0)
    return buffer


class GitProcess:
    """One git process, started at once; ``wait`` collects its output.

    Its stdin, stdout and stderr are anonymous files, not pipes. Waiting for
    git then holds no lock of Python's: a thread that waits for a large answer
    (every changed file's blob) is not slowed by the main thread's work, as a
    reader of a pipe is, which takes the interpreter's lock again for each
    chunk. And no pipe can fill up and deadlock.

    ``own_session``: out of reach of the signals sent to stager's process
    group (Ctrl-C, a CI job cancelled), for a command that must not be cut
    in half: the ref transaction.
    """

    def __init__(
        self,
        args: Sequence[str],
        cwd: Path | None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        *,
        own_session: bool = False,
    ) -> None:
        environ = {**os.environ, **GIT_ENV, **(env or {})}
        if not (args and args[0] in HOOKS_RUN):
            environ.update(no_hooks(environ))
        self._out, self._err = _buffer(), _buffer()
        request = _buffer(stdin) if stdin is not None else None
        try:
            self._popen = subprocess.Popen(
                ["git", *args],
                cwd=cwd,
                env=environ,
                stdin=request if request is not None else subprocess.DEVNULL,
                stdout=self._out,
                stderr=self._err,
                start_new_session=own_session,
            )
        except FileNotFoundError:
            self._close()
            raise GitError(
                "git is not installed or not on PATH",
                f"install git {_version_text(MIN_GIT_VERSION)} or newer and make sure "
                "`git --version` works in this shell",
            ) from None
        finally:
            if request is not None:
                request.close()  # git has its own copy
        self._args = args
        self._started = time.perf_counter()

    def wait(self) -> Outcome:
        try:
            self._popen.wait()
            outcome = Outcome(self._popen.returncode, _read(self._out), _read(self._err))
        finally:
            self._close()
        if _log.isEnabledFor(logging.DEBUG):  # `stager -v` shows every git call and its cost
            _log.debug(
                "%s → exit %d, %d bytes, %.0f ms",
                _shown(self._args),
                outcome.returncode,
                len(outcome.stdout),
                (time.perf_counter() - self._started) * 1000,
            )
        return outcome

    def _close(self) -> None:
        self._out.close()
        self._err.close()


def _read(buffer: BinaryIO) -> bytes:
    buffer.seek(0)
    return buffer.read()


_NOISE = frozenset(DIFF_FLAGS) | {"--no-show-signature", "--end-of-options", *NO_USER_ATTRIBUTES}


def _shown(args: Sequence[str]) -> str:
    """The command as a user would type it: without the flags every call carries."""
    words = [arg for arg in args if arg not in _NOISE and not arg.startswith("--format=")]
    text = " ".join(["git", *words])
    return text if len(text) <= 160 else text[:157] + "..."


def first_line(stderr: bytes) -> str:
    """git's message: the first non-blank line it wrote to stderr."""
    lines = stderr.decode("utf-8", "replace").splitlines()
    return next((line.strip() for line in lines if line.strip()), "no message")


def known_fix(message: str, cwd: Path | None) -> str:
    """The fix for a git failure stager recognises, else how to see git's full output."""
    lowered = message.lower()
    if "dubious ownership" in lowered:
        return (
            "mark the repository as safe with "
            f"`git config --global --add safe.directory {cwd or '<path>'}`"
        )
    if "shallow" in lowered:
        return "the clone is shallow: fetch the full history with `git fetch --unshallow`"
    if any(
        marker in lowered
        for marker in ("unknown revision", "bad revision", "bad object", "not a valid object")
    ):
        return "check the ref's spelling, or `git fetch` if it exists only on the remote"
    return "run the command yourself in the repository for git's full output"


def failure(args: Sequence[str], outcome: Outcome, cwd: Path | None) -> GitError:
    """The GitError for a failed ``git ARGS``: the command, git's message and a fix."""
    message = first_line(outcome.stderr)
    return GitError(
        f"`{_shown(args)}` failed (exit {outcome.returncode}): {message}",
        known_fix(message, cwd),
    )


# ---------------------------------------------------------------------------
# git version


def parse_git_version(text: str) -> tuple[int, int, int]:
    """``(major, minor, patch)`` from ``git version`` output, vendor suffixes ignored.

    >>> parse_git_version("git version 2.37.1 (Apple Git-137)")
    (2, 37, 1)
    """
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        raise GitError(
            f"cannot read git's version from {text.strip()!r}",
            "check that `git --version` prints e.g. 'git version 2.39.5'",
        )
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def _version_text(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)


def require_git_version(found: tuple[int, int, int]) -> None:
    """Raise GitTooOld when ``found`` is older than MIN_GIT_VERSION."""
    if found[:2] < MIN_GIT_VERSION:
        raise GitTooOld(
            f"git {_version_text(found)} is too old: stager needs git "
            f"{_version_text(MIN_GIT_VERSION)} or newer",
            _UPGRADE_HINT,
        )


_version_lock = threading.Lock()
_version_checked = False


def check_version_once(probe: GitProcess | None) -> None:
    """Check the answer of :func:`version_probe` (the first one only)."""
    global _version_checked  # noqa: PLW0603  # once per process, by design
    if probe is None:
        return
    outcome = probe.wait()
    with _version_lock:
        if _version_checked:
            return
        if outcome.returncode != 0:
            raise failure(["version"], outcome, None)
        require_git_version(parse_git_version(outcome.stdout.decode("ascii", "replace")))
        _version_checked = True


def version_probe() -> GitProcess | None:
    """``git version``, running while the caller starts its own command; None once checked."""
    return None if _version_checked else GitProcess(["version"], None)
