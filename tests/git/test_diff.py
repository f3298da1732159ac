"""parse_raw_numstat on hand-written ``git diff --raw --numstat -z`` output.

Real git output for every case is covered by tests/git/test_repository.py; these pin the
format details (field order, rename records, binary markers) exactly.
"""

from __future__ import annotations

import pytest

from stager.git.diff import ChangedFile, Status, parse_raw_numstat
from stager.types import RepoPath, Sha

Z = "0" * 40
A = "a" * 40
B = "b" * 40
C = "c" * 40


def by_path(changes: list[ChangedFile]) -> dict[str, ChangedFile]:
    return {change.path: change for change in changes}


def raw(old_mode: str, new_mode: str, old: str, new: str, status: str, *paths: str) -> bytes:
    return (
        b"\0".join(
            [f":{old_mode} {new_mode} {old} {new} {status}".encode(), *(p.encode() for p in paths)]
        )
        + b"\0"
    )


def numstat(added: str, deleted: str, *paths: str) -> bytes:
    if len(paths) == 2:
        return (
            f"{added}\t{deleted}\t".encode() + b"\0" + b"\0".join(p.encode() for p in paths) + b"\0"
        )
    return f"{added}\t{deleted}\t{paths[0]}".encode() + b"\0"


def test_every_status_and_its_fields() -> None:
    data = b"".join(
        [
            raw("000000", "100644", Z, A, "A", "z added.txt"),
            raw("100644", "100644", A, B, "M", "modified.py"),
            raw("100644", "000000", A, Z, "D", "deleted.py"),
            raw("100644", "100644", A, B, "R087", "old name.py", "new name.py"),
            raw("100644", "100644", A, A, "C100", "source.py", "copy.py"),
            raw("100644", "120000", A, C, "T", "link"),
            numstat("3", "0", "z added.txt"),
            numstat("1", "2", "modified.py"),
            numstat("0", "7", "deleted.py"),
            numstat("4", "1", "old name.py", "new name.py"),
            numstat("0", "0", "source.py", "copy.py"),
            numstat("1", "1", "link"),
        ]
    )
    files = by_path(parse_raw_numstat(data))
    assert [f.path for f in parse_raw_numstat(data)] == sorted(files)
    assert files["z added.txt"] == ChangedFile(
        path=RepoPath("z added.txt"),
        status=Status.ADDED,
        old_path=None,
        old_mode="000000",
        new_mode="100644",
        old_blob=Sha(Z),
        new_blob=Sha(A),
        additions=3,
        deletions=0,
    )
    assert (files["modified.py"].additions, files["modified.py"].deletions) == (1, 2)
    assert files["deleted.py"].status is Status.DELETED
    assert files["deleted.py"].new_blob == Z
    renamed = files["new name.py"]
    assert (renamed.status, renamed.old_path, renamed.similarity) == (
        Status.RENAMED,
        "old name.py",
        87,
    )
    assert (renamed.additions, renamed.deletions) == (4, 1)
    assert renamed.paths == ("old name.py", "new name.py")
    copied = files["copy.py"]
    assert (copied.status, copied.old_path, copied.similarity) == (Status.COPIED, "source.py", 100)
    assert files["link"].status is Status.TYPE_CHANGED
    assert files["link"].new_mode == "120000"
    assert files["modified.py"].similarity is None


def test_binary_mode_change_and_submodule() -> None:
    data = b"".join(
        [
            raw("100644", "100644", A, B, "M", "image.png"),
            raw("100644", "100755", A, A, "M", "run.sh"),
            raw("160000", "160000", A, B, "M", "vendor/lib"),
            numstat("-", "-", "image.png"),
            numstat("0", "0", "run.sh"),
            numstat("1", "1", "vendor/lib"),
        ]
    )
    files = by_path(parse_raw_numstat(data))
    image = files["image.png"]
    assert image.binary and image.additions is None and image.deletions is None
    script = files["run.sh"]
    assert script.mode_changed and not script.binary
    assert (script.additions, script.deletions) == (0, 0)
    sub = files["vendor/lib"]
    assert sub.submodule and not sub.binary and not sub.mode_changed


def test_paths_with_tabs_newlines_and_non_utf8_bytes() -> None:
    odd = "tab\there\nnewline ü"
    data = (
        raw("000000", "100644", Z, A, "A", odd)
        + b":000000 100644 "
        + Z.encode()
        + b" "
        + B.encode()
        + b" A\0latin1-\xe9\0"
        + numstat("1", "0", odd)
        + b"2\t0\tlatin1-\xe9\0"
    )
    files = by_path(parse_raw_numstat(data))
    assert files[odd].additions == 1
    latin = next(path for path in files if path.startswith("latin1-"))
    # surrogateescape keeps the exact bytes so the name can be handed back to git
    assert latin.encode("utf-8", "surrogateescape") == b"latin1-\xe9"
    assert files[latin].additions == 2


def test_path_starting_with_colon_is_not_a_record() -> None:
    data = raw("000000", "100644", Z, A, "A", ":colon") + numstat("1", "0", ":colon")
    (changed,) = parse_raw_numstat(data)
    assert changed.path == ":colon"


def test_same_path_twice_is_matched_in_order() -> None:
    # A copy whose source is also modified: two numstat lines mention source.py.
    data = b"".join(
        [
            raw("100644", "100644", A, B, "C075", "source.py", "copy.py"),
            raw("100644", "100644", A, C, "M", "source.py"),
            numstat("5", "2", "source.py", "copy.py"),
            numstat("9", "8", "source.py"),
        ]
    )
    files = by_path(parse_raw_numstat(data))
    assert (files["copy.py"].additions, files["copy.py"].deletions) == (5, 2)
    assert (files["source.py"].additions, files["source.py"].deletions) == (9, 8)


def test_empty_diff() -> None:
    assert parse_raw_numstat(b"") == []


@pytest.mark.parametrize(
    "data",
    [
        raw("100644", "100644", A, B, "M", "x"),  # no numstat line for x
        b":100644 100644 " + A.encode() + b" M\0x\0",  # short header
        raw("100644", "100644", A, B, "U", "x") + numstat("1", "1", "x"),  # unmerged
        raw("100644", "100644", A, B, "M", "x") + b"garbage\0",
    ],
)
def test_malformed_output_is_rejected(data: bytes) -> None:
    with pytest.raises(ValueError, match="git diff"):
        parse_raw_numstat(data)
