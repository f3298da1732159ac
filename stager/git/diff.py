"""Changed files between two trees, parsed from ``git diff --raw --numstat -z``."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from stager.types import RepoPath, Sha

SUBMODULE_MODE = "160000"
SYMLINK_MODE = "120000"


class Status(enum.StrEnum):
    ADDED = "A"
    MODIFIED = "M"
    DELETED = "D"
    RENAMED = "R"
    COPIED = "C"
    TYPE_CHANGED = "T"


@dataclass(frozen=True)
class ChangedFile:
    """One path changed between the merge base and head.

    ``additions``/``deletions`` are None for binary files (git prints ``-``).
    For a deleted file ``path`` is the deleted path and ``new_blob`` is the
    null sha; ``old_path`` is set only for renames and copies.
    """

    path: RepoPath
    status: Status
    old_path: RepoPath | None
    old_mode: str
    new_mode: str
    old_blob: Sha
    new_blob: Sha
    additions: int | None
    deletions: int | None
    similarity: int | None = None

    @property
    def binary(self) -> bool:
        return self.additions is None and not self.submodule

    @property
    def submodule(self) -> bool:
        return SUBMODULE_MODE in (self.old_mode, self.new_mode)

    @property
    def mode_changed(self) -> bool:
        return self.status not in (Status.ADDED, Status.DELETED) and self.old_mode != self.new_mode

    @property
    def paths(self) -> tuple[RepoPath, ...]:
        """Every path this change touches: a rename is one change of two paths."""
        return (self.old_path, self.path) if self.old_path else (self.path,)


def decode_path(raw: bytes) -> RepoPath:
    """A path from git's ``-z`` output (raw bytes).

    surrogateescape keeps non-UTF-8 names round-trippable.
    """
    return RepoPath(raw.decode("utf-8", "surrogateescape"))


_STATUS_LETTERS = frozenset(status.value for status in Status)


def parse_raw_numstat(data: bytes) -> list[ChangedFile]:
    """Parse ``git diff --raw --numstat -z --no-abbrev`` output, sorted by path.

    git prints every raw record first (``:oldmode newmode oldsha newsha STATUS``
    then one path, or two for R/C), then every numstat record
    (``added<TAB>deleted<TAB>path``, or ``added<TAB>deleted<TAB>`` then old and
    new path for R/C; ``-`` for binary files). The two lists describe the same
    pairs in the same order; they are matched by their paths so that neither
    order nor duplicates can pair the wrong counts with a file.
    """
    tokens = data.split(b"\0")
    if tokens and tokens[-1] == b"":
        tokens.pop()
    records: list[tuple[list[str], bytes | None, bytes]] = []  # fields, old path, path
    i = 0
    while i < len(tokens) and tokens[i].startswith(b":"):
        fields = tokens[i][1:].decode("ascii").split(" ")
        if len(fields) != 5:
            raise ValueError(f"unexpected `git diff --raw` record: {tokens[i]!r}")
        if fields[4][:1] not in _STATUS_LETTERS:
            raise ValueError(f"unexpected `git diff --raw` status {fields[4]!r}")
        if fields[4][:1] in ("R", "C"):
            records.append((fields, tokens[i + 1], tokens[i + 2]))
            i += 3
        else:
            records.append((fields, None, tokens[i + 1]))
            i += 2

    counts: dict[tuple[bytes, bytes], list[tuple[int | None, int | None]]] = {}
    while i < len(tokens):
        parts = tokens[i].split(b"\t", 2)
        if len(parts) != 3:
            raise ValueError(f"unexpected `git diff --numstat` record: {tokens[i]!r}")
        added, deleted, path = parts
        if path:
            key = (path, path)
            i += 1
        else:  # rename or copy: the two paths follow as their own fields
            key = (tokens[i + 1], tokens[i + 2])
            i += 3
        pair = (None, None) if added == b"-" else (int(added), int(deleted))
        counts.setdefault(key, []).append(pair)

    files: list[ChangedFile] = []
    for (old_mode, new_mode, old_blob, new_blob, status), old_path, path in records:
        pending = counts.get((old_path or path, path))
        if not pending:
            raise ValueError(f"`git diff --numstat` has no line for {path!r}")
        additions, deletions = pending.pop(0)
        letter, score = status[:1], status[1:]
        files.append(
            ChangedFile(
                path=decode_path(path),
                status=Status(letter),
                old_path=decode_path(old_path) if old_path is not None else None,
                old_mode=old_mode,
                new_mode=new_mode,
                old_blob=Sha(old_blob),
                new_blob=Sha(new_blob),
                additions=additions,
                deletions=deletions,
                similarity=int(score) if score and letter in ("R", "C") else None,
            )
        )
    files.sort(key=lambda changed: changed.path.encode("utf-8", "surrogateescape"))
    return files
