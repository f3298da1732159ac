"""Every call to git. Nothing here touches the user's work tree, index or HEAD.

git is driven through ``subprocess`` and plumbing commands, not GitPython:
importing GitPython alone costs ~100 ms, more than the whole budget ``stager
analyze`` has on top of git's own diff.

Rules every call follows:

* The environment adds ``GIT_OPTIONAL_LOCKS=0`` (git never refreshes or writes
  the user's index behind their back), ``LC_ALL=C`` (stable messages),
  ``GIT_TERMINAL_PROMPT=0`` (never wait for a password), ``GIT_PAGER=cat`` and
  ``GIT_LITERAL_PATHSPECS=1`` (a path is a path, never a glob).
* The user's configuration cannot change a result: diff and log calls pin rename
  detection, algorithm, order file, submodule handling, colour and external
  tools (see ``DIFF_FLAGS``); every path is printed with ``-z``.
* A ref is always passed after ``--end-of-options``: ``--foo`` is a ref name.
* A failing call raises ``GitError`` (or a subclass) naming the command, git's
  own message and a fix; never a traceback for a user mistake.

Concurrency: ``Repository.start`` launches a git command and returns a
``Pending`` whose ``result()`` waits for it; its output is drained by a
background thread, so several commands really run at once. The ``*_async``
methods are the ``Pending`` twins of ``changed_files``, ``changed_paths``,
``list_tree``, ``read_blobs`` and ``commits``. A ``Repository`` holds no mutable
state, so its methods may also be called from a thread pool.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Generic, NamedTuple, TypeVar

from stager.diff import SUBMODULE_MODE, ChangedFile, Status, parse_raw_numstat
from stager.errors import GitError, GitTooOld, NoMergeBase, NotARepository, UnknownRef
from stager.types import RepoPath, Sha

MIN_GIT_VERSION = (2, 38)
"""``merge-tree --write-tree`` (used to rebase phases) and ``cat-file -z`` need it."""

GIT_ENV = {
    "GIT_OPTIONAL_LOCKS": "0",
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "GIT_LITERAL_PATHSPECS": "1",
}

DIFF_FLAGS = (
    "--no-ext-diff",
    "--no-textconv",
    "-M",
    "-l0",
    "--no-relative",
    "--no-color",
    "--diff-algorithm=myers",
    "--ignore-submodules=none",
    f"-O{os.devnull}",
)
"""Flags for every diff and log call, overriding whatever the user configured."""

# A global attributes file (core.attributesFile) could mark files binary; the
# repository's own .gitattributes still apply, as they are part of the project.
_NO_USER_ATTRIBUTES = ("-c", f"core.attributesFile={os.devnull}")

_UPGRADE_HINT = (
    "upgrade git (macOS: `brew install git`; Debian/Ubuntu: the git-core PPA or backports; "
    "Windows: https://git-scm.com/download/win) and run stager again"
)

_log = logging.getLogger("stager.git")

T = TypeVar("T")
U = TypeVar("U")


class TreeEntry(NamedTuple):
    """One file of a tree. A NamedTuple, not a dataclass: trees have ~10^4-10^5
    entries and a frozen dataclass costs several times more to create."""

    path: RepoPath
    mode: str
    blob: Sha  # for a submodule (mode 160000) the commit the superproject records
    object_type: str = "blob"  # "blob" or "commit" (submodule)


def tree_before(
    after: Mapping[RepoPath, TreeEntry], changes: Iterable[ChangedFile]
) -> dict[RepoPath, TreeEntry]:
    """The old tree of a diff, rebuilt from the new tree and the diff itself.

    ``changes`` must be the full diff old → new (``changed_files``): every path
    it does not name is the same in both trees. Saves listing a second large
    tree when the diff is already at hand.
    """
    before = dict(after)
    for change in changes:
        if change.status in (Status.ADDED, Status.COPIED, Status.RENAMED):
            before.pop(change.path, None)  # a copy's source is the same in both trees
        if change.status in (Status.ADDED, Status.COPIED):
            continue
        old_path = change.old_path or change.path
        before[old_path] = _entry(old_path, change.old_mode, change.old_blob)
    return before


def tree_after(
    before: Mapping[RepoPath, TreeEntry], changes: Iterable[ChangedFile]
) -> dict[RepoPath, TreeEntry]:
    """The new tree of a diff, from the old tree and the diff old → new."""
    after = dict(before)
    for change in changes:
        if change.status is Status.RENAMED and change.old_path is not None:
            after.pop(change.old_path, None)
        if change.status is Status.DELETED:
            after.pop(change.path, None)
        else:
            after[change.path] = _entry(change.path, change.new_mode, change.new_blob)
    return after


def _entry(path: RepoPath, mode: str, blob: Sha) -> TreeEntry:
    return TreeEntry(path, mode, blob, "commit" if mode == SUBMODULE_MODE else "blob")


@dataclass(frozen=True)
class Commit:
    sha: Sha
    parents: tuple[Sha, ...]
    author_name: str
    author_email: str
    author_date: str  # ISO 8601 strict, as git prints %aI
    committer_date: str
    subject: str
    # paths the commit touches vs its first parent (both sides of a rename)
    files: tuple[RepoPath, ...]
    committer_name: str = ""
    committer_email: str = ""

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


# ---------------------------------------------------------------------------
# running git


def git_env() -> dict[str, str]:
    """The process environment plus the variables that make git safe to script."""
    env = dict(os.environ)
    env.update(GIT_ENV)
    return env


class _Outcome(NamedTuple):
    returncode: int
    stdout: bytes
    stderr: bytes


class _Process:
    """One git process; with ``background`` its pipes are drained by a thread."""

    def __init__(
        self,
        args: Sequence[str],
        cwd: Path | None,
        stdin: bytes | None,
        background: bool,
        env: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self._popen = subprocess.Popen(
                ["git", *args],
                cwd=cwd,
                env={**git_env(), **env} if env else git_env(),
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError:
            raise GitError(
                "git is not installed or not on PATH",
                f"install git {_version_text(MIN_GIT_VERSION)} or newer and make sure "
                "`git --version` works in this shell",
            ) from None
        self._stdin = stdin
        self._args = args
        self._started = time.perf_counter()
        self._outcome: _Outcome | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if background:
            # communicate() writes stdin and reads stdout/stderr together, so a
            # large request or answer can never fill a pipe and deadlock.
            self._thread = threading.Thread(target=self._communicate, daemon=True)
            self._thread.start()

    def _communicate(self) -> None:
        try:
            out, err = self._popen.communicate(self._stdin)
            self._outcome = _Outcome(self._popen.returncode, out, err)
        except BaseException as error:  # re-raised in the caller's thread by wait()
            self._error = error

    def wait(self) -> _Outcome:
        if self._thread is not None:
            self._thread.join()
        elif self._outcome is None and self._error is None:
            self._communicate()
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        if _log.isEnabledFor(logging.DEBUG):  # `stager -v` shows every git call and its cost
            _log.debug(
                "%s → exit %d, %d bytes, %.0f ms",
                _shown(self._args),
                self._outcome.returncode,
                len(self._outcome.stdout),
                (time.perf_counter() - self._started) * 1000,
            )
        return self._outcome


class Pending(Generic[T]):
    """A value still being computed by git; ``result()`` waits for it (once)."""

    def __init__(self, wait: Callable[[], T]) -> None:
        self._wait = wait
        self._lock = threading.Lock()
        self._done = False
        self._value: T | None = None

    @classmethod
    def ready(cls, value: T) -> Pending[T]:
        """A Pending that already holds its value."""
        return cls(lambda: value)

    def result(self) -> T:
        """Wait for the command; raises GitError if it failed."""
        with self._lock:
            if not self._done:
                self._value = self._wait()
                self._done = True
        return self._value  # type: ignore[return-value]  # T may itself include None

    def map(self, function: Callable[[T], U]) -> Pending[U]:
        """A Pending of ``function(self.result())``, computed when asked for."""
        return Pending(lambda: function(self.result()))


_NOISE = frozenset(DIFF_FLAGS) | {"--no-show-signature", "--end-of-options", *_NO_USER_ATTRIBUTES}


def _shown(args: Sequence[str]) -> str:
    """The command as a user would type it: without the flags every call carries."""
    words = [arg for arg in args if arg not in _NOISE and not arg.startswith("--format=")]
    text = " ".join(["git", *words])
    return text if len(text) <= 160 else text[:157] + "..."


def _first_line(stderr: bytes) -> str:
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.strip():
            return line.strip()
    return "no message"


def _known_fix(message: str, cwd: Path | None) -> str:
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


def _failure(args: Sequence[str], outcome: _Outcome, cwd: Path | None) -> GitError:
    message = _first_line(outcome.stderr)
    return GitError(
        f"`{_shown(args)}` failed (exit {outcome.returncode}): {message}",
        _known_fix(message, cwd),
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


def _check_version_once(pending: Pending[bytes] | None) -> None:
    global _version_checked  # noqa: PLW0603  # once per process, by design
    with _version_lock:
        if _version_checked or pending is None:
            return
        require_git_version(parse_git_version(pending.result().decode("ascii", "replace")))
        _version_checked = True


def _start(
    args: Sequence[str],
    cwd: Path | None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> Pending[bytes]:
    process = _Process(args, cwd, stdin, background=True, env=env)

    def wait() -> bytes:
        outcome = process.wait()
        if outcome.returncode != 0:
            raise _failure(args, outcome, cwd)
        return outcome.stdout

    return Pending(wait)


# ---------------------------------------------------------------------------
# output parsers (pure)


def _decode_path(raw: bytes) -> RepoPath:
    return RepoPath(raw.decode("utf-8", "surrogateescape"))


def _parse_ls_tree(data: bytes) -> dict[RepoPath, TreeEntry]:
    entries: dict[RepoPath, TreeEntry] = {}
    for record in data.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, object_type, sha = meta.decode("ascii").split(" ")
        path = _decode_path(raw_path)
        entries[path] = TreeEntry(path, mode, Sha(sha), object_type)
    return entries


def _parse_batch(names: Sequence[str], missing_ok: bool, data: bytes) -> dict[Sha, bytes]:
    """Split ``cat-file --batch`` output; answers come in request order."""
    blobs: dict[Sha, bytes] = {}
    missing: list[str] = []
    position = 0
    for name in names:
        end = data.index(b"\n", position)
        header = data[position:end].split(b" ")
        if len(header) == 2 and header[1] in (b"missing", b"ambiguous"):
            missing.append(name)
            position = end + 1
            continue
        size = int(header[2])
        blobs[Sha(name)] = data[end + 1 : end + 1 + size]
        position = end + 1 + size + 1  # content is followed by a newline
    if missing and not missing_ok:
        shown = ", ".join(name[:12] for name in missing[:5])
        raise GitError(
            f"{len(missing)} object(s) missing from the repository: {shown}",
            "the clone may be shallow or partial: run `git fetch --unshallow` "
            "(or `git fetch --refetch`) and try again",
        )
    return blobs


_HEADER_FIELDS = 9  # sha, parents, author name/email/date, committer name/email/date, subject
_LOG_FORMAT = "--format=%x01%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%s"


def _parse_log(data: bytes) -> list[Commit]:
    """Parse ``git log -z --name-status`` with ``_LOG_FORMAT`` headers.

    Every commit starts with a \\x01-marked header of fixed length; then come
    status fields (``M``, ``R087`` …), each followed by one path, or two for
    renames and copies. Paths are consumed by count, so any byte in them is fine.
    """
    tokens = data.split(b"\0")
    commits: list[Commit] = []
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n")
        if not token:
            i += 1
            continue
        if not token.startswith(b"\x01"):
            raise ValueError(f"unexpected `git log` output near {token[:40]!r}")
        fields = [token[1:], *tokens[i + 1 : i + _HEADER_FIELDS]]
        i += _HEADER_FIELDS
        text = [field.decode("utf-8", "replace") for field in fields]
        files: list[RepoPath] = []
        while i < len(tokens):
            status = tokens[i].lstrip(b"\n")
            if not status:
                i += 1
                continue
            if status.startswith(b"\x01"):
                break
            count = 2 if status[:1] in (b"R", b"C") else 1
            files.extend(_decode_path(raw) for raw in tokens[i + 1 : i + 1 + count])
            i += 1 + count
        commits.append(
            Commit(
                sha=Sha(text[0]),
                parents=tuple(Sha(parent) for parent in text[1].split()),
                author_name=text[2],
                author_email=text[3],
                author_date=text[4],
                committer_name=text[5],
                committer_email=text[6],
                committer_date=text[7],
                subject=text[8],
                files=tuple(dict.fromkeys(files)),
            )
        )
    return commits


def _check_object_name(name: str) -> None:
    if not name or any(char.isspace() or char == "\0" for char in name):
        raise ValueError(f"not an object id: {name!r}")


# ---------------------------------------------------------------------------
# the repository


class Repository:
    """A git repository (work tree, linked worktree or bare), read through plumbing."""

    def __init__(self, path: Path) -> None:
        """Find the repository containing ``path`` and check git's version (once per process)."""
        location = Path(path).absolute()
        if not location.is_dir():
            raise NotARepository(
                f"{location} does not exist, so it is not inside a git repository",
                "run stager inside your project or pass -C PATH",
            )
        version = None if _version_checked else _start(["version"], None)
        args = [
            "rev-parse",
            "--path-format=absolute",
            "--absolute-git-dir",
            "--is-bare-repository",
        ]
        outcome = self._discover([*args, "--show-toplevel"], location)
        if outcome.returncode != 0 and b"must be run in a work tree" in outcome.stderr:
            # Bare repository, or inside a .git folder: there is no top level to show.
            outcome = self._discover(args, location)
        if outcome.returncode != 0:
            message = _first_line(outcome.stderr)
            _check_version_once(version)
            if "not a git repository" in message:
                raise NotARepository(
                    f"{location} is not inside a git repository",
                    "run stager inside your project or pass -C PATH",
                )
            raise GitError(
                f"cannot open the git repository at {path}: {message}",
                _known_fix(message, location),
            )
        _check_version_once(version)
        lines = outcome.stdout.decode("utf-8", "surrogateescape").splitlines()
        self._git_dir = Path(lines[0])
        self._is_bare = lines[1] == "true"
        if len(lines) > 2:
            self._work_tree: Path | None = Path(lines[2])
        elif not self._is_bare and self._git_dir.name == ".git":
            self._work_tree = self._git_dir.parent  # opened from inside its .git folder
        else:
            self._work_tree = None
        self._cwd = self._work_tree or self._git_dir

    @staticmethod
    def _discover(args: Sequence[str], location: Path) -> _Outcome:
        return _Process(args, location, None, background=False).wait()

    @property
    def git_dir(self) -> Path:
        """Absolute path of the git directory (``.git/worktrees/X`` for a linked worktree)."""
        return self._git_dir

    @property
    def work_tree(self) -> Path | None:
        """None for a bare repository."""
        return self._work_tree

    @property
    def is_bare(self) -> bool:
        return self._is_bare

    # -- running commands ----------------------------------------------------

    def start(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Pending[bytes]:
        """Start ``git ARGS`` in this repository; ``result()`` is its stdout.

        A non-zero exit makes ``result()`` raise GitError with git's message.
        ``env`` adds variables, e.g. ``GIT_INDEX_FILE`` for a temporary index.
        """
        return _start(args, self._cwd, stdin, env)

    def run(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> bytes:
        """Run ``git ARGS`` in this repository and return its stdout."""
        outcome = self._call(args, stdin, env)
        if outcome.returncode != 0:
            raise _failure(args, outcome, self._cwd)
        return outcome.stdout

    def call(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes, bytes]:
        """Run ``git ARGS``: ``(exit code, stdout, stderr)``, whatever the exit code.

        For commands whose non-zero exit is an answer (``merge-tree``: 1 means
        conflicts), not a failure.
        """
        outcome = self._call(args, stdin, env)
        return outcome.returncode, outcome.stdout, outcome.stderr

    def _call(
        self,
        args: Sequence[str],
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> _Outcome:
        return _Process(args, self._cwd, stdin, background=False, env=env).wait()

    # -- refs ------------------------------------------------------------------

    def resolve(self, ref: str) -> Sha:
        """The commit ``ref`` names: branch, remote branch, tag (peeled), sha, ``HEAD~3``…"""
        outcome = self._call(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"]
        )
        sha = outcome.stdout.decode("ascii", "replace").strip()
        if outcome.returncode != 0 or not sha or not ref.strip():
            # `--base main` in a CI clone that only has origin/main
            remote = f"origin/{ref}"
            if ref.strip() and "/" not in ref and self.ref_exists(remote):
                raise UnknownRef(
                    f"unknown ref {ref!r}: no local branch {ref!r} in {self._cwd}, "
                    f"but {remote!r} exists",
                    f"use {remote} instead (e.g. --base {remote}), or create the branch: "
                    f"git branch {ref} {remote}",
                )
            raise UnknownRef(
                f"unknown ref {ref!r}: it does not name a commit in {self._cwd}",
                "check the spelling, run `git fetch` if it is a remote branch, "
                "and list branches with `git branch -a`",
            )
        return Sha(sha)

    def ref_exists(self, name: str) -> bool:
        """Whether ``name`` resolves to a commit (a branch, tag, remote branch, sha…)."""
        if not name.strip():
            return False
        outcome = self._call(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}"]
        )
        return outcome.returncode == 0

    def symbolic_full_name(self, ref: str) -> str | None:
        """The full ref name (``main`` → ``refs/heads/main``); None for a sha or expression."""
        if not ref.strip():
            return None
        outcome = self._call(
            ["rev-parse", "--verify", "--quiet", "--symbolic-full-name", "--end-of-options", ref]
        )
        name = outcome.stdout.decode("utf-8", "surrogateescape").strip()
        return name if outcome.returncode == 0 and name.startswith("refs/") else None

    def first_existing(self, candidates: Iterable[str]) -> str | None:
        """The first candidate that resolves to a commit, e.g. of main, master, develop."""
        for candidate in candidates:
            if self.ref_exists(candidate):
                return candidate
        return None

    def merge_base(self, base: str, head: str, *, names: tuple[str, str] | None = None) -> Sha:
        """The single best common ancestor of ``base`` and ``head`` (shas or refs).

        NoMergeBase when they share no history, or several merge bases
        (criss-cross merges) make "the branch's changes" ambiguous. ``names``
        are the refs the user gave for them, for the messages.
        """
        outcome = self._call(["merge-base", "--all", "--end-of-options", base, head])
        if outcome.returncode not in (0, 1):
            raise _failure(["merge-base", "--all", base, head], outcome, self._cwd)
        bases = outcome.stdout.decode("ascii").split()
        base_text, head_text = _short(base), _short(head)
        if names is not None:
            base_text = f"{names[0]!r} ({base_text})" if names[0] != base else base_text
            head_text = f"{names[1]!r} ({head_text})" if names[1] != head else head_text
        if not bases:
            shallow = self._call(["rev-parse", "--is-shallow-repository"]).stdout.strip()
            if shallow == b"true":
                raise NoMergeBase(
                    f"no merge base between {base_text} and {head_text}: "
                    "this clone is shallow and does not reach their common history",
                    "run `git fetch --unshallow` (in CI: fetch-depth: 0)",
                )
            raise NoMergeBase(
                f"{base_text} and {head_text} have no common history (unrelated histories)",
                "pick a base that shares history with the branch (--base REF)",
            )
        if len(bases) > 1:
            raise NoMergeBase(
                f"{base_text} and {head_text} have {len(bases)} merge bases "
                f"({', '.join(sha[:12] for sha in bases)}) after criss-cross merges",
                "pass one of them explicitly with --base, or merge the base into the branch first",
            )
        return Sha(bases[0])

    def upstream_warning(self, base_ref: str) -> str | None:
        """A one-line warning when local branch ``base_ref`` lags its upstream, else None.

        The upstream is the configured one (``branch.X.merge``) when it exists,
        else ``refs/remotes/origin/X``.
        """
        full = self.symbolic_full_name(base_ref)
        if full is None or not full.startswith("refs/heads/"):
            return None
        fallback = "refs/remotes/origin/" + full.removeprefix("refs/heads/")
        # One listing answers both questions: the configured upstream, and
        # whether origin/<branch> exists (for-each-ref prints only existing refs).
        listing = self.run(["for-each-ref", "--format=%(refname)%00%(upstream)", full, fallback])
        found: dict[str, str] = {}
        for line in listing.decode("utf-8", "surrogateescape").splitlines():
            name, _, configured = line.partition("\0")
            found[name] = configured
        candidates = [found.get(full, ""), fallback if fallback in found else ""]
        for upstream in filter(None, candidates):
            count = self._call(["rev-list", "--count", "--end-of-options", f"{full}..{upstream}"])
            if count.returncode == 0:  # else: configured but never fetched
                break
        else:
            return None
        behind = int(count.stdout.strip() or b"0")
        if behind == 0:
            return None
        short = upstream.removeprefix("refs/remotes/").removeprefix("refs/heads/")
        commits = "commit" if behind == 1 else "commits"
        return (
            f"base {base_ref!r} is {behind} {commits} behind {short!r} — pass --base {short} "
            "to compare against the fresher base (or git pull)"
        )

    # -- trees and diffs -------------------------------------------------------

    def changed_files(self, old: Sha, new: Sha, *, find_copies: bool = False) -> list[ChangedFile]:
        """Files changed from ``old`` to ``new`` (commits or trees), sorted by path.

        Renames are always detected (``-M -l0``). Copies only with
        ``find_copies``: a new file that happens to resemble an old one is, for
        the analysis, an added file, and must not make the old one look touched.
        """
        return self.changed_files_async(old, new, find_copies=find_copies).result()

    def changed_files_async(
        self, old: Sha, new: Sha, *, find_copies: bool = False
    ) -> Pending[list[ChangedFile]]:
        """``changed_files`` running in the background."""
        copies = ["-C"] if find_copies else []
        args = [
            *_NO_USER_ATTRIBUTES,
            "diff",
            "--raw",
            "--numstat",
            "-z",
            "--no-abbrev",
            *DIFF_FLAGS,
            *copies,
            "--end-of-options",
            old,
            new,
            "--",
        ]
        return self.start(args).map(parse_raw_numstat)

    def changed_paths(self, old: Sha, new: Sha) -> set[RepoPath]:
        """Every path that differs between ``old`` and ``new``, both sides of a rename."""
        return self.changed_paths_async(old, new).result()

    def changed_paths_async(self, old: Sha, new: Sha) -> Pending[set[RepoPath]]:
        """``changed_paths`` running in the background."""
        flags = [flag for flag in DIFF_FLAGS if flag not in ("-M", "-l0")]
        args = [
            "diff",
            "--name-only",
            "-z",
            "--no-renames",  # a rename is a deletion and an addition: both paths listed
            *flags,
            "--end-of-options",
            old,
            new,
            "--",
        ]
        return self.start(args).map(
            lambda data: {_decode_path(raw) for raw in data.split(b"\0") if raw}
        )

    def list_tree(self, commit: Sha, paths: Iterable[str] = ()) -> dict[RepoPath, TreeEntry]:
        """Every file (and submodule) of ``commit``, optionally only under ``paths``.

        ``paths`` are literal files or folders relative to the repository root.
        """
        return self.list_tree_async(commit, paths).result()

    def list_tree_async(
        self, commit: Sha, paths: Iterable[str] = ()
    ) -> Pending[dict[RepoPath, TreeEntry]]:
        """``list_tree`` running in the background."""
        # No "--" after --end-of-options: ls-tree would take it for a path.
        args = ["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit, *paths]
        return self.start(args).map(_parse_ls_tree)

    # -- objects -----------------------------------------------------------------

    def read_blobs(self, blobs: Iterable[Sha], *, missing_ok: bool = False) -> Mapping[Sha, bytes]:
        """Contents of many objects from ONE ``git cat-file --batch`` process.

        Duplicates are read once. A missing object raises GitError, or is left
        out of the result with ``missing_ok``.
        """
        return self.read_blobs_async(blobs, missing_ok=missing_ok).result()

    def read_blobs_async(
        self, blobs: Iterable[Sha], *, missing_ok: bool = False
    ) -> Pending[dict[Sha, bytes]]:
        """``read_blobs`` running in the background."""
        names = list(dict.fromkeys(blobs))
        if not names:
            return Pending.ready({})
        for name in names:
            _check_object_name(name)
        request = "".join(f"{name}\n" for name in names).encode("ascii")
        pending = self.start(["cat-file", "--batch", "--buffer"], stdin=request)
        return pending.map(partial(_parse_batch, names, missing_ok))

    def read_path(self, commit: Sha | str, path: str) -> bytes | None:
        """The content of file ``path`` in ``commit``; None when it is absent or not a file."""
        request = f"{commit}:{path}".encode("utf-8", "surrogateescape")
        data = self.run(["cat-file", "--batch", "-z"], stdin=request + b"\0")
        for answer in (b" missing\n", b" ambiguous\n"):
            if data == request + answer:
                return None
        header, _, rest = data.partition(b"\n")
        fields = header.split(b" ")
        if len(fields) != 3 or fields[1] != b"blob":
            return None
        return rest[: int(fields[2])]

    # -- history -------------------------------------------------------------------

    def commits(self, old: Sha, new: Sha) -> list[Commit]:
        """Commits of ``old..new``, oldest first in topological order, with their files.

        A merge commit's files are its changes against its first parent.
        """
        return self.commits_async(old, new).result()

    def commits_async(self, old: Sha, new: Sha) -> Pending[list[Commit]]:
        """``commits`` running in the background."""
        args = [
            *_NO_USER_ATTRIBUTES,
            "log",
            "-z",
            "--topo-order",
            "--reverse",
            "--root",
            "--no-show-signature",
            "--encoding=UTF-8",
            "--diff-merges=first-parent",
            "--name-status",
            *DIFF_FLAGS,
            _LOG_FORMAT,
            "--end-of-options",
            f"{old}..{new}",
            "--",
        ]
        return self.start(args).map(_parse_log)


def _short(ref: str) -> str:
    """A sha shortened for messages; a ref name as given."""
    if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", ref):
        return ref[:12]
    return repr(ref)
