"""In-memory trees and blob sources, and revision-file text, for migration tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from stager.git.repository import TreeEntry
from stager.types import RepoPath, Sha


def blob_sha(data: bytes) -> Sha:
    """The id git gives ``data`` as a blob."""
    return Sha(hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest())


class MemoryBlobs:
    """A BlobSource over a dict; records every read_blobs call to check batching."""

    def __init__(self) -> None:
        self.store: dict[Sha, bytes] = {}
        self.calls: list[list[Sha]] = []

    def add(self, data: bytes) -> Sha:
        sha = blob_sha(data)
        self.store[sha] = data
        return sha

    def read_blobs(self, blobs: Iterable[Sha]) -> Mapping[Sha, bytes]:
        wanted = list(blobs)
        self.calls.append(wanted)
        return {sha: self.store[sha] for sha in wanted if sha in self.store}

    def tree(self, files: Mapping[str, str | bytes]) -> dict[RepoPath, TreeEntry]:
        """A tree listing of ``files`` (path → content), every blob stored here."""
        entries: dict[RepoPath, TreeEntry] = {}
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            entries[RepoPath(path)] = TreeEntry(RepoPath(path), "100644", self.add(data))
        return entries


def _literal(value: str | Sequence[str] | None) -> str:
    if value is None or isinstance(value, str):
        return repr(value)
    return "(" + "".join(f"{item!r}, " for item in value) + ")"


def migration(
    revision: str,
    down: str | Sequence[str] | None = None,
    *,
    title: str | None = None,
    revises: str | None = None,
    branch_labels: str | Sequence[str] | None = None,
    depends_on: str | Sequence[str] | None = None,
    upgrade: str = "pass",
    downgrade: str = "pass",
    annotated: bool = False,
) -> str:
    """Text of a loadable revision file shaped like alembic's own template."""
    if revises is None:
        revises = ", ".join([down] if isinstance(down, str) else down or [])
    hint = ": Union[str, Sequence[str], None]" if annotated else ""
    rev_hint = ": str" if annotated else ""
    body_up = "\n".join("    " + line for line in upgrade.splitlines())
    body_down = "\n".join("    " + line for line in downgrade.splitlines())
    return f'''"""{title or "revision " + revision}

Revision ID: {revision}
Revises: {revises}
Create Date: 2024-01-01 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision{rev_hint} = {revision!r}
down_revision{hint} = {_literal(down)}
branch_labels{hint} = {_literal(branch_labels)}
depends_on{hint} = {_literal(depends_on)}


def upgrade() -> None:
{body_up}


def downgrade() -> None:
{body_down}
'''


def write_files(root: Path, files: Mapping[str, str | bytes]) -> None:
    for relpath, content in files.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
