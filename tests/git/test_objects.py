"""stager.git.objects: git's plumbing output read back as values."""

from __future__ import annotations

import pytest

from stager.git.objects import log_entries, parse_log


def _header(sha: str) -> bytes:
    fields = [sha, "", "A", "a@x", "2024-01-01T00:00:00+00:00", "C", "c@x", "2024-01-01", "s"]
    return b"\x01" + b"\0".join(field.encode() for field in fields)


def test_records_are_taken_by_count_so_odd_paths_survive() -> None:
    # a path may start with \x01 or a newline: only a record's first token is inspected
    data = (
        _header("a" * 40)
        + b"\0\nR100\0old\0\x01new\0M\0\nlead\0"
        + _header("b" * 40)
        + b"\0D\0gone\0"
    )
    commits = parse_log(data)
    assert [commit.files for commit in commits] == [("old", "\x01new", "\nlead"), ("gone",)]


def test_log_entries_uses_the_record_width() -> None:
    data = b"\x01one\0two\0\n:100644 100644 x y M\0path\0"
    entries = list(log_entries(data, 2, lambda _first: 2))
    assert entries == [(["one", "two"], [[b":100644 100644 x y M", b"path"]])]


def test_log_entries_rejects_output_without_a_header() -> None:
    with pytest.raises(ValueError, match="unexpected `git log` output"):
        list(log_entries(b"M\0path\0", 2, lambda _first: 2))
