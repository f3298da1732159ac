"""Reading the history a split replays and verifies: commits with their blobs, diffs, ancestry.

The read side of ``stager split`` and ``stager verify``, next to
:mod:`stager.git.repository` (which the analysis uses): every call goes through
:class:`stager.git.repository.Repository` and its safe environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stager.errors import GitError
from stager.git.objects import log_entries
from stager.git.process import NO_RENAME_FLAGS, NO_USER_ATTRIBUTES
from stager.git.repository import Repository
from stager.types import RepoPath, Sha


@dataclass(frozen=True)
class RawChange:
    """One path a commit changes against its first parent (no rename pairing)."""

    path: RepoPath
    old_mode: str  # "000000" when the path is added
    new_mode: str  # "000000" when the path is deleted
    old_blob: Sha
    new_blob: Sha

    @property
    def deleted(self) -> bool:
        return self.new_mode == "000000"

    @property
    def added(self) -> bool:
        return self.old_mode == "000000"


@dataclass(frozen=True)
class HistoryCommit:
    """A first-parent commit of the branch, with everything needed to replay it."""

    sha: Sha
    parents: tuple[Sha, ...]
    author_name: str
    author_email: str
    author_date: str  # git's raw format: "<epoch> <+zone>"
    message: str  # the full message, as written
    changes: tuple[RawChange, ...]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


_HISTORY_FIELDS = 6
_HISTORY_FORMAT = "--format=%x01%H%x00%P%x00%an%x00%ae%x00%ad%x00%B%x00"


def _parse_history(data: bytes) -> list[HistoryCommit]:
    """Parse ``git log -z --raw`` with ``_HISTORY_FORMAT`` headers (see the repository module)."""
    commits: list[HistoryCommit] = []
    # A --raw record is its ":old new old-blob new-blob status" field, then one path.
    for text, records in log_entries(data, _HISTORY_FIELDS, lambda _first: 2):
        changes = []
        for meta, raw_path in records:
            old_mode, new_mode, old_blob, new_blob, _status = meta[1:].decode("ascii").split(" ")
            path = RepoPath(raw_path.decode("utf-8", "surrogateescape"))
            changes.append(RawChange(path, old_mode, new_mode, Sha(old_blob), Sha(new_blob)))
        commits.append(
            HistoryCommit(
                sha=Sha(text[0]),
                parents=tuple(Sha(parent) for parent in text[1].split()),
                author_name=text[2],
                author_email=text[3],
                author_date=text[4],
                message=text[5],
                changes=tuple(changes),
            )
        )
    return commits


def first_parent_history(repo: Repository, old: Sha, new: Sha) -> list[HistoryCommit]:
    """The first-parent commits of ``old..new``, oldest first, each with its raw changes.

    A merge commit's changes are its diff against its first parent: the
    resolutions and whatever the merged side brought.
    """
    args = [
        *NO_USER_ATTRIBUTES,
        "log",
        "-z",
        "--first-parent",
        "--reverse",
        "--no-renames",
        "--raw",
        "--no-abbrev",
        "--diff-merges=first-parent",
        "--no-show-signature",
        "--encoding=UTF-8",
        "--date=raw",
        *NO_RENAME_FLAGS,
        _HISTORY_FORMAT,
        "--end-of-options",
        f"{old}..{new}",
        "--",
    ]
    return _parse_history(repo.run(args))


def is_ancestor(repo: Repository, ancestor: Sha, descendant: Sha) -> bool:
    """Whether ``ancestor`` is reachable from ``descendant`` (a commit is its own ancestor)."""
    code, _out, err = repo.call(
        ["merge-base", "--is-ancestor", "--end-of-options", ancestor, descendant]
    )
    if code not in (0, 1):
        raise GitError(
            f"`git merge-base --is-ancestor` failed: {err.decode('utf-8', 'replace').strip()}",
            "check that both commits exist (`git cat-file -t <sha>`)",
        )
    return code == 0


def reachable(repo: Repository, tips: Sequence[Sha]) -> list[Sha]:
    """Every commit reachable from ``tips``; a tip that is no commit is left out."""
    if not tips:
        return []
    code, out, _err = repo.call(["rev-list", "--end-of-options", *tips, "--"])
    if code != 0:  # one of them is no commit (a ref made by hand): read the others
        return [sha for tip in tips for sha in reachable(repo, [tip])] if len(tips) > 1 else []
    return [Sha(line) for line in out.decode("ascii").split()]


def trees_of(repo: Repository, commits: Sequence[Sha]) -> list[Sha]:
    """The tree of each commit, in one ``git rev-parse`` call."""
    if not commits:
        return []
    # (rev-parse echoes --end-of-options unless --verify; these are object ids, never options)
    out = repo.run(["rev-parse", *(f"{commit}^{{tree}}" for commit in commits)])
    return [Sha(line) for line in out.decode("ascii").split()]


def commit_messages(repo: Repository, old: Sha, new: Sha) -> list[str]:
    """Full messages of the commits of ``old..new``, oldest first."""
    out = repo.run(
        [
            "log",
            "-z",
            "--reverse",
            "--no-show-signature",
            "--encoding=UTF-8",
            "--format=%B",
            "--end-of-options",
            f"{old}..{new}",
            "--",
        ]
    )
    return [message for message in out.decode("utf-8", "replace").split("\0") if message.strip()]


def signed(repo: Repository, old: Sha, new: Sha) -> list[bool]:
    """Whether each commit of ``old..new`` carries a signature, oldest first."""
    out = repo.run(["rev-list", "--reverse", "--end-of-options", f"{old}..{new}", "--"])
    commits = [Sha(line) for line in out.decode("ascii").split()]
    raw = repo.read_blobs(commits)  # the commit objects: their headers name the signature
    return [
        any(line.startswith((b"gpgsig ", b"gpgsig-sha256 ")) for line in headers.splitlines())
        for headers in (raw[commit].partition(b"\n\n")[0] for commit in commits)
    ]


def diff_entries(
    repo: Repository, old: Sha, new: Sha, *, env: Mapping[str, str] | None = None
) -> dict[RepoPath, tuple[tuple[str, Sha] | None, tuple[str, Sha] | None]]:
    """Path → ((old mode, blob) or None, (new mode, blob) or None) for every changed path.

    No rename pairing: a rename is a deletion and an addition.
    """
    args = ["diff", "--raw", "-z", "--no-abbrev", "--no-renames", *NO_RENAME_FLAGS]
    out = repo.run([*args, "--end-of-options", old, new, "--"], env=env)
    tokens = out.split(b"\0")
    found: dict[RepoPath, tuple[tuple[str, Sha] | None, tuple[str, Sha] | None]] = {}
    for i in range(0, len(tokens) - 1, 2):
        if not tokens[i].startswith(b":"):
            break
        old_mode, new_mode, old_blob, new_blob, _ = tokens[i][1:].decode("ascii").split(" ")
        path = RepoPath(tokens[i + 1].decode("utf-8", "surrogateescape"))
        found[path] = (
            None if old_mode == "000000" else (old_mode, Sha(old_blob)),
            None if new_mode == "000000" else (new_mode, Sha(new_blob)),
        )
    return found
