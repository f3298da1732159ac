"""A feature branch with every kind of change, phases made by hand, and checkout snapshots."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stager.analysis import Analysis, analyze_branch
from stager.git.repository import Repository
from stager.plan.phase import Phase, PlannedFile, PlannedMigration
from stager.types import RepoPath, Revision, Risk
from tests.gitrepo import GitRepo

VERSIONS = "migrations/versions"


def migration(revision: str, parent: str | None, title: str = "change") -> str:
    """A revision file as alembic writes it (double quotes, annotated)."""
    down = f'"{parent}"' if parent else "None"
    return f'''"""{title}

Revision ID: {revision}
Revises: {parent or ""}
Create Date: 2024-01-01 12:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "{revision}"
down_revision: Union[str, None] = {down}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("t", sa.Column("{revision}", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("t", "{revision}")
'''


def module(name: str, version: int = 0) -> str:
    return f"# {name} v{version}\n\n\ndef {name}() -> int:\n    return {version}\n"


BINARY = bytes(range(256)) * 4
README = "# Readme\n\nline\n" + "".join(f"filler {n}\n" for n in range(6)) + "end\n"


def feature_repo(repo: GitRepo) -> dict[str, str]:
    """main with a migration chain; ``feature`` (checked out) changes every kind of file.

    Returns the commits by name.
    """
    shas: dict[str, str] = {}
    shas["base"] = repo.commit(
        "base",
        {
            "app/a.py": module("a"),
            "app/b.py": module("b"),
            "docs/readme.md": README,
            "bin/tool": "#!/bin/sh\necho tool\n",
            "data/blob.bin": BINARY,
            "old.txt": "renamed later\n" * 20,
            "crlf.txt": "one\r\ntwo\r\n",
            f"{VERSIONS}/0001_base.py": migration("base1", None, "base one"),
            f"{VERSIONS}/0002_base.py": migration("base2", "base1", "base two"),
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    shas["widget"] = repo.commit(
        "Add the widget table\n\nWith its model.",
        {
            f"{VERSIONS}/0003_widget.py": migration("w1", "base2", "widget"),
            "app/models.py": module("models"),
        },
    )
    shas["service"] = repo.commit(
        "Widget service", {"app/a.py": module("a", 1), "app/new.py": module("new")}
    )
    repo.git("mv", "old.txt", "docs/old.txt")
    repo.remove("bin/tool")
    shas["docs"] = repo.commit(
        "Docs, a rename, a binary file",
        {
            "docs/readme.md": README.replace("line\n", "line\nmore\n", 1),
            "data/blob.bin": BINARY[::-1],
            "crlf.txt": "one\r\ntwo\r\nthree",
        },
    )
    # (nothing like bin/tool, which git would otherwise pair with it as a rename)
    (repo.path / "app" / "run.sh").write_text(
        '#!/usr/bin/env bash\nset -euo pipefail\nexec python -m app.run "$@"\n'
    )
    (repo.path / "app" / "run.sh").chmod(0o755)
    shas["backfill"] = repo.commit(
        "Backfill widgets", {f"{VERSIONS}/0004_backfill.py": migration("w2", "w1", "backfill")}
    )
    return shas


def make_dirty(repo: GitRepo) -> None:
    """A stash, a staged change, an unstaged change and an untracked file."""
    repo.write("app/b.py", module("b", 9))
    repo.git("stash", "-q")
    repo.write("docs/readme.md", "staged\n")
    repo.git("add", "docs/readme.md")
    repo.write("app/a.py", "unstaged\n")
    repo.write("untracked.txt", "mine\n")


@dataclass(frozen=True)
class Checkout:
    """Everything of the user's checkout stager must never touch, byte for byte."""

    files: Mapping[str, tuple[bytes, int]]
    git_files: Mapping[str, bytes]
    refs: str

    @classmethod
    def of(cls, repo: GitRepo, *, bare: bool = False) -> Checkout:
        git_dir = repo.path if bare else repo.path / ".git"
        files: dict[str, tuple[bytes, int]] = {}
        if not bare:
            for folder, dirs, names in os.walk(repo.path):
                dirs[:] = [d for d in dirs if d != ".git"]
                for name in names:
                    path = Path(folder) / name
                    mode = stat.S_IMODE(path.lstat().st_mode)
                    files[str(path.relative_to(repo.path))] = (path.read_bytes(), mode)
        git_files = {
            name: (git_dir / name).read_bytes()
            for name in ("HEAD", "index", "config", "ORIG_HEAD", "MERGE_HEAD")
            if (git_dir / name).is_file()
        }
        refs = "\n".join(
            line
            for line in repo.git("for-each-ref", "--format=%(objectname) %(refname)").splitlines()
            if "refs/heads/stage/" not in line and "refs/stager/" not in line
        )
        stash = repo.git("stash", "list") if not bare else ""
        return cls(files, git_files, refs + "\n" + stash)


def rechained(
    analysis: Analysis, phase_of: Mapping[RepoPath, int]
) -> dict[RepoPath, tuple[Revision, ...]]:
    """Linear re-chaining in phase order, then upgrade order, from the base's head."""
    added = [m for m in analysis.migrations.added if m.revision is not None]
    order = {m.path: index for index, m in enumerate(added)}
    ordered = sorted(added, key=lambda m: (phase_of[m.path], order[m.path]))
    parents: dict[RepoPath, tuple[Revision, ...]] = {}
    previous = tuple(analysis.migrations.base.heads())
    for migration_file in ordered:
        parents[migration_file.path] = previous
        assert migration_file.revision is not None
        previous = (migration_file.revision,)
    return parents


def make_phases(
    analysis: Analysis,
    phase_of: Mapping[str, int],
    *,
    names: Mapping[int, str] | None = None,
    independent: bool = False,
    chain: bool = True,
) -> tuple[Phase, ...]:
    """Phases from ``path → number`` (a rename by its new path); migrations re-chained."""
    numbers: dict[RepoPath, int] = {}
    for changed in analysis.files:
        number = phase_of[changed.path]
        numbers[changed.path] = number
    parents = rechained(analysis, numbers) if chain else {}
    by_path = {m.path: m for m in analysis.migrations.added}
    phases: list[Phase] = []
    for number in sorted(set(numbers.values())):
        files = [changed for changed in analysis.files if numbers[changed.path] == number]
        migrations = []
        for migration_file in analysis.migrations.added:
            if numbers.get(migration_file.path) == number and migration_file.revision:
                migrations.append(
                    PlannedMigration(
                        revision=migration_file.revision,
                        down_revision=parents.get(
                            migration_file.path, migration_file.down_revisions
                        ),
                        original_down_revision=migration_file.down_revisions,
                        path=migration_file.path,
                        title=by_path[migration_file.path].title,
                    )
                )
        phases.append(
            Phase(
                number=number,
                name=(names or {}).get(number, f"part{number}"),
                title=f"Part {number}",
                files=tuple(
                    PlannedFile(changed.path, "test", old_path=changed.old_path)
                    for changed in files
                ),
                migrations=tuple(migrations),
                depends_on=() if independent else tuple(p.number for p in phases),
                risk=Risk.LOW,
                maintenance_window=False,
            )
        )
    return tuple(phases)


def analyze(repo: GitRepo, base: str = "main", head: str = "feature") -> Analysis:
    return analyze_branch(Repository(repo.path), base, head, None)


def with_phases(analysis: Analysis, phases: Sequence[Phase]) -> Analysis:
    return dataclasses.replace(
        analysis, plan=dataclasses.replace(analysis.plan, phases=tuple(phases))
    )


FEATURE_PHASES = {
    f"{VERSIONS}/0003_widget.py": 1,
    "app/models.py": 1,
    "app/a.py": 2,
    "app/new.py": 2,
    "app/run.sh": 2,
    "docs/readme.md": 3,
    "docs/old.txt": 3,
    "data/blob.bin": 3,
    "bin/tool": 3,
    "crlf.txt": 3,
    f"{VERSIONS}/0004_backfill.py": 3,
}
"""The feature branch in three phases, migrations in their original order (no re-chaining)."""
