"""``git grep`` over a commit's tree: every line naming one of some words, in one process.

Reading every blob of a large tree through Python to find a few names costs
seconds; git's own grep is threaded and skips binary files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from stager.types import RepoPath, Sha


class GrepHit(NamedTuple):
    """One line of a file that names one of the words searched for."""

    path: RepoPath
    line: int
    text: str


def grep_args(commit: Sha, words: Iterable[str]) -> list[str]:
    """``git grep`` for whole ``words`` (literal) in ``commit``'s tree, paths ``-z``-separated.

    The options pin everything user configuration could change: fixed strings
    (``grep.patternType``), line numbers, no colour, no text conversion filter,
    binary files skipped. Case is ignored: SQL names are case-insensitive, and a
    migration may quote ``"userId"`` where the code writes ``userId``.
    """
    if not commit.isalnum():
        raise ValueError(f"not a commit id: {commit!r}")
    patterns = [arg for word in sorted(set(words)) for arg in ("-e", word)]
    return [
        "grep",
        "-z",
        "-n",
        "-w",
        "-I",
        "-F",
        "-i",
        "--no-color",
        "--no-textconv",
        "--full-name",
        *patterns,
        # git grep takes no --end-of-options before a revision; a full sha cannot
        # be read as an option.
        commit,
        "--",
    ]


def parse_grep(commit: Sha, output: bytes) -> list[GrepHit]:
    """Parse ``<commit>:<path>\\0<line>\\0<text>\\n`` records (``git grep -z -n``)."""
    hits: list[GrepHit] = []
    prefix = f"{commit}:".encode()
    position = 0
    size = len(output)
    while position < size:
        path_end = output.index(b"\0", position)
        line_end = output.index(b"\0", path_end + 1)
        text_end = output.find(b"\n", line_end + 1)
        if text_end < 0:
            text_end = size
        path = output[position:path_end].removeprefix(prefix)
        hits.append(
            GrepHit(
                RepoPath(path.decode("utf-8", "surrogateescape")),
                int(output[path_end + 1 : line_end]),
                output[line_end + 1 : text_end].decode("utf-8", "replace"),
            )
        )
        position = text_end + 1
    return hits
