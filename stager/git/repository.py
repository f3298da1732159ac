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

Concurrency: a ``Repository`` holds no mutable state, so its methods may be
called from a thread pool (``stager.analysis`` runs its reads so).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stager.errors import GitError, NoMergeBase, NotARepository, UnknownRef, near_miss
from stager.git.diff import ChangedFile, parse_raw_numstat
from stager.git.grep import GrepHit, grep_args, parse_grep
from stager.git.objects import (
    LOG_FORMAT,
    Commit,
    TreeEntry,
    parse_batch,
    parse_log,
    parse_ls_tree,
    tree_after,
    tree_before,
)
from stager.git.process import (
    DIFF_FLAGS,
    MIN_GIT_VERSION,
    NO_USER_ATTRIBUTES,
    GitProcess,
    Outcome,
    check_version_once,
    failure,
    first_line,
    known_fix,
    parse_git_version,
    require_git_version,
    version_probe,
)
from stager.types import RepoPath, Sha

# The public names of stager.git.repository, wherever they are defined: callers import
# them from here and need not know how the module is split.
__all__ = [
    "MIN_GIT_VERSION",
    "Commit",
    "Repository",
    "TreeEntry",
    "parse_git_version",
    "require_git_version",
    "tree_after",
    "tree_before",
]


@dataclass(frozen=True)
class BranchRefs:
    """What the user asked for and what it resolved to."""

    base_ref: str
    head_ref: str
    base: Sha
    head: Sha
    merge_base: Sha


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
        version = version_probe()
        args = [
            "rev-parse",
            "--path-format=absolute",
            "--absolute-git-dir",
            "--is-bare-repository",
        ]
        outcome = GitProcess([*args, "--show-toplevel"], location).wait()
        if outcome.returncode != 0 and b"must be run in a work tree" in outcome.stderr:
            # Bare repository, or inside a .git folder: there is no top level to show.
            outcome = GitProcess(args, location).wait()
        if outcome.returncode != 0:
            message = first_line(outcome.stderr)
            check_version_once(version)
            if "not a git repository" in message and os.environ.get("GIT_DIR"):
                raise NotARepository(
                    f"GIT_DIR={os.environ['GIT_DIR']} is not a git repository (stager, as "
                    f"git does, uses it instead of looking for one in {location})",
                    "point GIT_DIR at the repository's .git folder, or unset it",
                )
            if "not a git repository" in message:
                raise NotARepository(
                    f"{location} is not inside a git repository",
                    "run stager inside your project or pass -C PATH",
                )
            raise GitError(
                f"cannot open the git repository at {path}: {message}",
                known_fix(message, location),
            )
        check_version_once(version)
        lines = outcome.stdout.decode("utf-8", "surrogateescape").splitlines()
        self._git_dir = Path(lines[0])
        self._is_bare = lines[1] == "true"
        if len(lines) > 2:
            self._work_tree: Path | None = Path(lines[2])
        elif not self._is_bare and self._git_dir.name == ".git":
            self._work_tree = self._git_dir.parent  # opened from inside its .git folder
        else:
            self._work_tree = None
        if self._work_tree is not None and not self._work_tree.is_dir():
            named = " (GIT_WORK_TREE)" if os.environ.get("GIT_WORK_TREE") else ""
            raise NotARepository(
                f"the work tree {self._work_tree}{named} of the repository {self._git_dir} "
                "does not exist",
                "point GIT_WORK_TREE (or core.worktree) at the project's folder, or unset it",
            )
        self._cwd = self._work_tree or self._git_dir
        # Every later call names the repository found here, as git itself goes on
        # using it: with GIT_DIR or GIT_WORK_TREE set, the folder a call runs in
        # (the top of the work tree) would not find it again by itself.
        self._env = {"GIT_DIR": str(self._git_dir)}
        if self._work_tree is not None:
            self._env["GIT_WORK_TREE"] = str(self._work_tree)
        self._added_objects: tuple[Path, ...] = ()

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

    def with_objects(self, folder: Path) -> Repository:
        """This repository, whose every call also reads the objects in ``folder``.

        ``folder`` is a quarantine's (:class:`stager.git.write.Writer`): what a
        run built before anything is stored, such as the merge revision
        ``sync`` starts the phases from. Every read sees those objects, and a
        ``Writer`` on this view carries them into the repository when it
        migrates its own, so a dry run, or a run that stops, stores none.
        """
        view = copy.copy(self)
        view._added_objects = (*self._added_objects, folder)
        objects = alternates(view._added_objects)
        view._env = {**self._env, "GIT_ALTERNATE_OBJECT_DIRECTORIES": objects}
        return view

    @property
    def added_objects(self) -> tuple[Path, ...]:
        """The object folders :meth:`with_objects` added, oldest first."""
        return self._added_objects

    # -- running commands ----------------------------------------------------

    def run(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> bytes:
        """Run ``git ARGS`` in this repository and return its stdout."""
        outcome = self.call(args, stdin=stdin, env=env)
        if outcome.returncode != 0:
            raise failure(args, outcome, self._cwd)
        return outcome.stdout

    def call(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        own_session: bool = False,
    ) -> Outcome:
        """Run ``git ARGS``: ``(exit code, stdout, stderr)``, whatever the exit code.

        For commands whose non-zero exit is an answer (``merge-tree``: 1 means
        conflicts), not a failure. ``own_session``: see :class:`GitProcess`.
        """
        return GitProcess(
            args, self._cwd, stdin, {**self._env, **(env or {})}, own_session=own_session
        ).wait()

    # -- refs ------------------------------------------------------------------

    def resolve(self, ref: str) -> Sha:
        """The commit ``ref`` names: branch, remote branch, tag (peeled), sha, ``HEAD~3``…

        Any revision ``git rev-parse`` takes that names a commit, ``:/message``
        included. A local branch wins over a tag of the same name (git itself
        would take the tag and only warn): ``--base main`` means the branch main.
        """
        if ref.strip():
            sha = self._commit_of(f"refs/heads/{ref}") or self._commit_of(ref)
            if sha is not None:
                return sha
        # `--base main` in a CI clone that only has origin/main
        remote = f"origin/{ref}"
        if ref.strip() and "/" not in ref and self.ref_exists(remote):
            raise UnknownRef(
                f"unknown ref {ref!r}: no local branch {ref!r} in {self._cwd}, "
                f"but {remote!r} exists",
                f"use {remote} instead (e.g. --base {remote}), or create the branch: "
                f"git branch {ref} {remote}",
            )
        unborn = self._unborn_branch()
        if unborn is not None and ref.strip() in ("HEAD", "@", unborn):
            # HEAD points at a branch that does not exist yet: `git init`, or an orphan branch
            if self._has_refs():
                raise UnknownRef(
                    f"branch {unborn!r}, checked out in {self._cwd}, has no commits yet "
                    f"(an orphan branch), so {ref!r} names no commit",
                    f"commit on {unborn} first, or name a branch that has commits "
                    "(`git branch` lists them; `git switch -` goes back to the last one)",
                )
            raise UnknownRef(
                f"the repository {self._cwd} has no commits yet "
                f"(branch {unborn!r} is unborn), so {ref!r} names no commit",
                "make a first commit (git add … && git commit), then run stager again",
            )
        close = near_miss(ref, self._ref_names())
        raise UnknownRef(
            f"unknown ref {ref!r}: it does not name a commit in {self._cwd}",
            (f"did you mean {close!r}? " if close else "")
            + "check the spelling, run `git fetch` if it is a remote branch, "
            "and list branches with `git branch -a`",
        )

    def _ref_names(self) -> list[str]:
        """Branches, remote branches and tags, short: what a misspelt ref was likely meant as."""
        listed = self.call(
            ["for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/remotes", "refs/tags"]
        )
        if listed.returncode != 0:
            return []
        return listed.stdout.decode("utf-8", "replace").splitlines()

    def _commit_of(self, revision: str) -> Sha | None:
        """The commit ``revision`` names (a tag peeled to its commit), or None."""
        peel = ["rev-parse", "--verify", "--quiet", "--end-of-options"]
        outcome = self.call([*peel, f"{revision}^{{commit}}"])
        if outcome.returncode != 0 and revision.startswith(":/"):
            # `:/message` reads everything after it as the message, a ^{commit} too:
            # find the object first, then peel it.
            found = self.call([*peel, revision])
            name = found.stdout.decode("ascii", "replace").strip()
            if found.returncode != 0 or not name:
                return None
            outcome = self.call([*peel, f"{name}^{{commit}}"])
        sha = outcome.stdout.decode("ascii", "replace").strip()
        return Sha(sha) if outcome.returncode == 0 and sha else None

    def _unborn_branch(self) -> str | None:
        """The short name of the branch HEAD points at when it has no commit yet, else None."""
        outcome = self.call(["symbolic-ref", "--quiet", "HEAD"])
        full = outcome.stdout.decode("utf-8", "replace").strip()
        if outcome.returncode != 0 or not full.startswith("refs/heads/"):
            return None
        exists = self.call(["rev-parse", "--verify", "--quiet", "--end-of-options", full])
        return None if exists.returncode == 0 else full.removeprefix("refs/heads/")

    def _has_refs(self) -> bool:
        """Whether any ref exists: the repository has commits, on some other branch."""
        return bool(self.run(["for-each-ref", "--count=1", "--format=%(refname)"]).strip())

    def ref_exists(self, name: str) -> bool:
        """Whether ``name`` resolves to a commit (a branch, tag, remote branch, sha…)."""
        return bool(name.strip()) and self._commit_of(name) is not None

    def symbolic_full_name(self, ref: str) -> str | None:
        """The full ref name (``main`` → ``refs/heads/main``); None for a sha or expression."""
        if not ref.strip():
            return None
        outcome = self.call(
            ["rev-parse", "--verify", "--quiet", "--symbolic-full-name", "--end-of-options", ref]
        )
        name = outcome.stdout.decode("utf-8", "surrogateescape").strip()
        return name if outcome.returncode == 0 and name.startswith("refs/") else None

    def first_existing(self, candidates: Iterable[str]) -> str | None:
        """The first candidate that resolves to a commit, e.g. of main, master, develop."""
        return next(filter(self.ref_exists, candidates), None)

    def merge_base(self, base: str, head: str, *, names: tuple[str, str] | None = None) -> Sha:
        """The single best common ancestor of ``base`` and ``head`` (shas or refs).

        NoMergeBase when they share no history, or several merge bases
        (criss-cross merges) make "the branch's changes" ambiguous. ``names``
        are the refs the user gave for them, for the messages.
        """
        outcome = self.call(["merge-base", "--all", "--end-of-options", base, head])
        if outcome.returncode not in (0, 1):
            raise failure(["merge-base", "--all", base, head], outcome, self._cwd)
        bases = outcome.stdout.decode("ascii").split()
        base_text, head_text = _short(base), _short(head)
        if names is not None:
            base_text = f"{names[0]!r} ({base_text})" if names[0] != base else base_text
            head_text = f"{names[1]!r} ({head_text})" if names[1] != head else head_text
        if not bases:
            shallow = self.call(["rev-parse", "--is-shallow-repository"]).stdout.strip()
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

    def ambiguity_warning(self, *names: str) -> str | None:
        """A warning when one of ``names`` is both a branch and a tag, else None."""
        patterns = [f"refs/{kind}/{name}" for name in names for kind in ("heads", "tags")]
        found = set(self.run(["for-each-ref", "--format=%(refname)", *patterns]).split())
        both = [
            n for n in names if {f"refs/heads/{n}".encode(), f"refs/tags/{n}".encode()} <= found
        ]
        if not both:
            return None
        return (
            f"{', '.join(dict.fromkeys(both))} names both a branch and a tag: stager uses the "
            "branch (git would take the tag); rename the tag to silence this"
        )

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
            count = self.call(["rev-list", "--count", "--end-of-options", f"{full}..{upstream}"])
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
        copies = ["-C"] if find_copies else []
        args = [
            *NO_USER_ATTRIBUTES,
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
        return parse_raw_numstat(self.run(args))

    def list_tree(self, commit: Sha, paths: Iterable[str] = ()) -> dict[RepoPath, TreeEntry]:
        """Every file (and submodule) of ``commit``, optionally only under ``paths``.

        ``paths`` are literal files or folders relative to the repository root.
        """
        # No "--" after --end-of-options: ls-tree would take it for a path.
        args = ["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit, *paths]
        return parse_ls_tree(self.run(args))

    # -- objects -----------------------------------------------------------------

    def read_blobs(self, blobs: Iterable[Sha], *, missing_ok: bool = False) -> Mapping[Sha, bytes]:
        """Contents of many objects from ONE ``git cat-file --batch`` process.

        Duplicates are read once. A missing object raises GitError, or is left
        out of the result with ``missing_ok``.
        """
        names = list(dict.fromkeys(blobs))
        if not names:
            return {}
        for name in names:  # one name a line: a space would break the request
            if not name or any(char.isspace() or char == "\0" for char in name):
                raise ValueError(f"not an object id: {name!r}")
        request = "".join(f"{name}\n" for name in names).encode("ascii")
        out = self.run(["cat-file", "--batch", "--buffer"], stdin=request)
        return parse_batch(names, missing_ok, out)

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

    def grep_tree(self, commit: Sha, words: Iterable[str]) -> list[GrepHit]:
        """Every line of ``commit``'s files naming one of ``words`` as a whole word."""
        words = list(words)
        if not words:
            return []
        outcome = self.call(grep_args(commit, words))
        if outcome.returncode == 1:
            return []  # git grep's answer for "no line matches"
        if outcome.returncode != 0:
            raise failure(["grep", "...", commit], outcome, self._cwd)
        return parse_grep(commit, outcome.stdout)

    # -- history -------------------------------------------------------------------

    def commits(self, old: Sha, new: Sha) -> list[Commit]:
        """Commits of ``old..new``, oldest first in topological order, with their files.

        A merge commit's files are its changes against its first parent.
        """
        args = [
            *NO_USER_ATTRIBUTES,
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
            LOG_FORMAT,
            "--end-of-options",
            f"{old}..{new}",
            "--",
        ]
        return parse_log(self.run(args))


def alternates(folders: Sequence[Path]) -> str:
    """``GIT_ALTERNATE_OBJECT_DIRECTORIES`` naming ``folders``.

    git splits the value at the path separator and reads an entry in double
    quotes C-style: a folder whose path holds a ``:`` (or starts with a quote)
    is quoted, so it stays one entry.
    """
    entries = []
    for folder in folders:
        text = str(folder)
        if os.pathsep in text or text.startswith('"'):
            escaped = text.replace("\\", "\\\\").replace('"', '\\"')
            text = f'"{escaped}"'
        entries.append(text)
    return os.pathsep.join(entries)


def _short(ref: str) -> str:
    """A sha shortened for messages; a ref name as given."""
    if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", ref):
        return ref[:12]
    return repr(ref)


def git_dir_holding(path: Path) -> Path | None:
    """The git directory (or common directory) that ``path`` would be written in, if any.

    Asks git from the nearest existing folder of ``path``, so a path reached
    through a symbolic link, a linked worktree's ``.git/worktrees/X`` or a
    separate ``--git-dir`` is found too. A ``.git`` on the way (a linked
    worktree's ``.git`` file, a ``.git`` folder) counts as the git directory.
    """
    target = Path(os.path.normpath(path.absolute()))
    if ".git" in target.parts:
        return Path(*target.parts[: target.parts.index(".git") + 1])
    folder = target.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    args = ["rev-parse", "--path-format=absolute", "--absolute-git-dir", "--git-common-dir"]
    outcome = GitProcess(args, folder).wait()
    if outcome.returncode != 0:
        return None
    real = target.parent.resolve() / target.name
    for line in outcome.stdout.decode("utf-8", "surrogateescape").splitlines():
        git_dir = Path(line).resolve()
        if real.is_relative_to(git_dir):
            return git_dir
    return None
