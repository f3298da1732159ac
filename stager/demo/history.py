"""The demo's history read from its data: ``fuel-credits/history.toml`` and the commit folders.

``history.toml`` says how the data is laid out and how to edit it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

DATA = Path(__file__).resolve().parent / "fuel-credits"
"""The demo repository's data, shipped inside the package."""


@dataclass(frozen=True)
class DemoCommit:
    """One commit: ``files`` maps a path to its new content (None deletes it)."""

    branch: str
    author: str  # "Name <email>", as git writes it
    date: datetime  # the author's local time, with its UTC offset
    message: str
    files: Mapping[str, bytes | None]


@dataclass(frozen=True)
class DemoHistory:
    """The branches and every commit, in the order they are written."""

    base_branch: str
    head_branch: str  # forks from base_branch's tip when its first commit is written
    remote: str
    commits: tuple[DemoCommit, ...]


def read_history(data: Path = DATA) -> DemoHistory:
    """The history ``data/history.toml`` describes, with each commit's files read in."""
    manifest = tomllib.loads((data / "history.toml").read_text(encoding="utf-8"))
    repository = manifest["repository"]
    commits = tuple(
        DemoCommit(
            branch=entry["branch"],
            author=entry["author"],
            date=entry["date"],
            message=entry["message"],
            files={
                **_folder_files(data, entry.get("folder")),
                **dict.fromkeys(entry.get("deletes", ())),
            },
        )
        for entry in manifest["commit"]
    )
    return DemoHistory(repository["base"], repository["head"], repository["remote"], commits)


def raw_date(date: datetime) -> str:
    """``<epoch> <offset>`` for git's raw date format: ``1704729900 -0700``."""
    offset = date.utcoffset()
    if offset is None:
        raise ValueError(f"the demo's date {date} needs a UTC offset, e.g. 09:05:00-07:00")
    sign, offset = ("-", -offset) if offset < timedelta(0) else ("+", offset)
    hours, minutes = divmod(int(offset.total_seconds()) // 60, 60)
    return f"{int(date.timestamp())} {sign}{hours:02}{minutes:02}"


def _folder_files(data: Path, name: str | None) -> dict[str, bytes | None]:
    """Every file of the commit folder ``name``, by its path in the demo repository."""
    if name is None:  # a commit that only deletes
        return {}
    folder = data / name
    return {
        _repository_path(stored.relative_to(folder).parts): stored.read_bytes().replace(
            b"\r\n",
            b"\n",  # a Windows checkout of stager must not change the commit ids
        )
        for stored in folder.rglob("*")
        if stored.is_file()
    }


def _repository_path(parts: tuple[str, ...]) -> str:
    """``dot_github/x.py.txt`` is ``.github/x.py``: see history.toml."""
    names = ["." + name.removeprefix("dot_") if name.startswith("dot_") else name for name in parts]
    if names[-1].endswith(".py.txt"):
        names[-1] = names[-1].removesuffix(".txt")
    return "/".join(names)
