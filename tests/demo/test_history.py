"""The demo's data: every stored file is used, none looks like code, names map back."""

from __future__ import annotations

import subprocess
import tomllib
from datetime import datetime
from pathlib import Path

from stager.demo.builder import fast_import_stream
from stager.demo.history import DATA, raw_date, read_history
from tests.gitrepo import GitRepo

MANIFEST = """\
[repository]
base = "main"
head = "topic"
remote = "https://example.invalid/r.git"

[[commit]]
folder = "01-start"
branch = "main"
author = "A U Thor <a@example.invalid>"
date = 2024-01-08 09:05:00-07:00
message = "start"

[[commit]]
branch = "topic"
author = "A U Thor <a@example.invalid>"
date = 2024-01-09 09:05:00+05:30
message = '''
Remove the workflow

Only deletes: no folder.
'''
deletes = [".github/workflows/ci.yml"]
"""


def test_every_folder_is_one_commit_and_no_stored_file_looks_like_code_or_hides() -> None:
    manifest = tomllib.loads((DATA / "history.toml").read_text(encoding="utf-8"))
    folders = [entry["folder"] for entry in manifest["commit"]]
    stored = {path.name for path in DATA.iterdir() if path.is_dir()}
    assert sorted(folders) == sorted(stored) == folders  # numbered in commit order
    names = [path.relative_to(DATA) for path in DATA.rglob("*")]
    assert not [name for name in names if name.suffix == ".py"]  # ruff, mypy, pytest, pip skip
    assert not [name for name in names if any(part.startswith(".") for part in name.parts)]


def _data(root: Path) -> Path:
    """A two-commit history: a first commit on the base, one that only deletes on the head."""
    start = root / "01-start"
    (start / "dot_github" / "workflows").mkdir(parents=True)
    (root / "history.toml").write_text(MANIFEST, encoding="utf-8")
    (start / "dot_github" / "workflows" / "ci.yml").write_bytes(b"on: push\r\n")
    (start / "app.py.txt").write_bytes(b"x = 1\n")
    (start / "script.py.mako").write_bytes(b"${x}\n")
    return root


def test_stored_names_map_back_to_the_repository_s(tmp_path: Path) -> None:
    history = read_history(_data(tmp_path))

    assert (history.base_branch, history.head_branch) == ("main", "topic")
    first, second = history.commits
    assert first.files == {
        ".github/workflows/ci.yml": b"on: push\n",  # a Windows checkout's CRLF undone
        "app.py": b"x = 1\n",
        "script.py.mako": b"${x}\n",
    }
    assert second.files == {".github/workflows/ci.yml": None}
    assert second.message == "Remove the workflow\n\nOnly deletes: no folder.\n"


def test_the_stream_replays_deletes_and_forks_the_head_from_the_base(
    tmp_path: Path, repo: GitRepo
) -> None:
    stream = fast_import_stream(read_history(_data(tmp_path / "data")))
    result = subprocess.run(
        ["git", "fast-import", "--quiet", "--done", "--date-format=raw"],
        cwd=repo.path,
        env=repo.env,
        input=stream,
        capture_output=True,
        check=True,
    )

    base, merge_base, head = result.stdout.decode().split()
    assert base == merge_base == repo.git("rev-parse", "main")
    assert head == repo.git("rev-parse", "topic")
    assert repo.git("rev-parse", "topic^") == base
    assert repo.git("ls-tree", "-r", "--name-only", "main").split() == [
        ".github/workflows/ci.yml",
        "app.py",
        "script.py.mako",
    ]
    assert repo.git("ls-tree", "-r", "--name-only", "topic").split() == ["app.py", "script.py.mako"]
    assert repo.git("log", "-1", "--format=%aI", "topic") == "2024-01-09T09:05:00+05:30"


def test_raw_date_keeps_the_author_s_offset() -> None:
    date = datetime.fromisoformat("2024-01-08T09:05:00-07:00")
    assert raw_date(date) == "1704729900 -0700"
    assert raw_date(datetime.fromisoformat("2024-01-08T09:05:00+05:30")).endswith(" +0530")
