"""What git's plumbing prints, as values: tree entries, commits, blobs (pure, no git calls).

The parsers read ``ls-tree -z``, ``cat-file --batch`` and ``log -z --name-status``
output; ``tree_before``/``tree_after`` rebuild one side of a diff from the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from stager.errors import GitError
from stager.git.diff import SUBMODULE_MODE, ChangedFile, Status, decode_path
from stager.types import RepoPath, Sha
from stager.wording import count


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
    """A commit of the branch, with the paths it touches."""

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


def parse_ls_tree(data: bytes) -> dict[RepoPath, TreeEntry]:
    """The entries of ``ls-tree -r -z`` output, by path."""
    entries: dict[RepoPath, TreeEntry] = {}
    for record in data.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, object_type, sha = meta.decode("ascii").split(" ")
        path = decode_path(raw_path)
        entries[path] = TreeEntry(path, mode, Sha(sha), object_type)
    return entries


def parse_batch(names: Sequence[str], missing_ok: bool, data: bytes) -> dict[Sha, bytes]:
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
            f"{count(len(missing), 'object')} missing from the repository: {shown}",
            "the clone may be shallow or partial: run `git fetch --unshallow` "
            "(or `git fetch --refetch`) and try again",
        )
    return blobs


_HEADER_FIELDS = 9  # sha, parents, author name/email/date, committer name/email/date, subject
LOG_FORMAT = "--format=%x01%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%s"


def log_entries(
    data: bytes, header_fields: int, record_width: Callable[[bytes], int]
) -> Iterator[tuple[list[str], list[list[bytes]]]]:
    """Split ``git log -z`` output into ``(header fields, records)``, one pair a commit.

    The ``--format`` must start each commit with \\x01 and ``header_fields``
    NUL-separated fields. What follows (``--name-status``, ``--raw``) is a list
    of records; ``record_width(first_token)`` says how many NUL-separated tokens
    one spans. Records are consumed by count, so any byte in a path is fine.
    """
    tokens = data.split(b"\0")
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n")
        if not token:
            i += 1
            continue
        if not token.startswith(b"\x01"):
            raise ValueError(f"unexpected `git log` output near {token[:40]!r}")
        fields = [token[1:], *tokens[i + 1 : i + header_fields]]
        i += header_fields
        records: list[list[bytes]] = []
        while i < len(tokens):
            first = tokens[i].lstrip(b"\n")
            if not first:
                i += 1
                continue
            if first.startswith(b"\x01"):
                break
            width = record_width(first)
            records.append([first, *tokens[i + 1 : i + width]])
            i += width
        yield [field.decode("utf-8", "replace") for field in fields], records


def _name_status_width(status: bytes) -> int:
    """A status field, then one path, or two for renames and copies."""
    return 3 if status[:1] in (b"R", b"C") else 2


def parse_log(data: bytes) -> list[Commit]:
    """Parse ``git log -z --name-status`` with ``LOG_FORMAT`` headers."""
    commits: list[Commit] = []
    for text, records in log_entries(data, _HEADER_FIELDS, _name_status_width):
        files = [decode_path(raw) for record in records for raw in record[1:]]
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
