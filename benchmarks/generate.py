"""Generate the large benchmark repository with one `git fast-import` stream.

Base: FILES files (Python modules, frontend files, docs) and an Alembic chain;
the branch changes CHANGED files over several commits (modifications, adds,
deletions, renames) and adds a share of the revisions. Deterministic.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
VERSIONS = "backend/migrations/versions"


def revision_id(number: int) -> str:
    return f"{number * 2654435761 % 16**12:012x}"


def migration_source(number: int) -> bytes:
    parent = repr(revision_id(number - 1)) if number > 0 else "None"
    table = f"table_{number % 97}"
    return f'''"""add column {number} to {table}

Revision ID: {revision_id(number)}
Revises: {revision_id(number - 1) if number > 0 else ""}
Create Date: 2024-01-01 00:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = {revision_id(number)!r}
down_revision = {parent}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("{table}", sa.Column("col_{number}", sa.String(64), nullable=True))
    op.create_index("ix_{table}_col_{number}", "{table}", ["col_{number}"])


def downgrade() -> None:
    op.drop_index("ix_{table}_col_{number}", table_name="{table}")
    op.drop_column("{table}", "col_{number}")
'''.encode()


def module_source(index: int, version: int) -> bytes:
    lines = [f"# module {index} version {version}", "from __future__ import annotations", ""]
    lines += [
        f"def function_{n}(value: int) -> int:\n    return value * {n + version}\n"
        for n in range(12)
    ]
    return "\n".join(lines).encode()


def file_path(index: int) -> str:
    area = (
        "backend/app/services",
        "backend/app/api",
        "frontend/src/components",
        "docs/guide",
        "etl/jobs",
    )[index % 5]
    suffix = {"frontend/src/components": ".jsx", "docs/guide": ".md"}.get(area, ".py")
    return f"{area}/pkg_{index % 200:03d}/file_{index:05d}{suffix}"


class Stream:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.mark = 0
        self.time = 1_700_000_000

    def blob(self, data: bytes) -> int:
        self.mark += 1
        self.parts.append(b"blob\nmark :%d\ndata %d\n%s\n" % (self.mark, len(data), data))
        return self.mark

    def commit(self, ref: str, message: str, ops: list[bytes], parent: int | None = None) -> int:
        self.mark += 1
        self.time += 60
        header = (
            f"commit {ref}\nmark :{self.mark}\n"
            f"author Bench <bench@example.com> {self.time} +0000\n"
            f"committer Bench <bench@example.com> {self.time} +0000\n"
            f"data {len(message.encode())}\n{message}\n"
        ).encode()
        if parent is not None:
            header += b"from :%d\n" % parent
        self.parts.append(header + b"".join(ops) + b"\n")
        return self.mark


def modify(path: str, mark: int) -> bytes:
    return f"M 100644 :{mark} {path}\n".encode()


def generate(
    target: Path,
    files: int = 20_000,
    changed: int = 2_000,
    revisions: int = 500,
    commits: int = 20,
) -> None:
    """Write the repository at ``target``: branches ``main`` and ``feature`` (HEAD)."""
    target.mkdir(parents=True, exist_ok=False)
    env = {**os.environ, **ENV}
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True, env=env)
    stream = Stream()
    base_revisions = revisions - revisions // 10
    ops = [
        modify(file_path(i), stream.blob(module_source(i, 0)))
        for i in range(files - base_revisions)
    ]
    ops += [
        modify(f"{VERSIONS}/{n:04d}_{revision_id(n)}.py", stream.blob(migration_source(n)))
        for n in range(base_revisions)
    ]
    ini = b"[alembic]\nscript_location = %(here)s/migrations\n"
    ops.append(modify("backend/alembic.ini", stream.blob(ini)))
    base = stream.commit("refs/heads/main", "base", ops)

    # The branch: modifications, additions, deletions, renames, new revisions.
    added_revisions = revisions - base_revisions
    plan = []
    for k in range(changed - added_revisions):
        kind = ("M", "M", "M", "M", "M", "M", "A", "D", "R", "M")[k % 10]
        plan.append((kind, k * 7 % (files - base_revisions)))
    parent = base
    per_commit = (len(plan) + commits - 1) // commits
    for c in range(commits):
        ops = []
        for kind, index in plan[c * per_commit : (c + 1) * per_commit]:
            path = file_path(index)
            if kind == "M":
                ops.append(modify(path, stream.blob(module_source(index, 1))))
            elif kind == "A":
                ops.append(
                    modify(path.replace("file_", "new_"), stream.blob(module_source(index, 2)))
                )
            elif kind == "D":
                ops.append(f"D {path}\n".encode())
            else:
                ops.append(f"R {path} {path.replace('file_', 'moved_')}\n".encode())
        for n in range(
            base_revisions + c * added_revisions // commits,
            base_revisions + (c + 1) * added_revisions // commits,
        ):
            ops.append(
                modify(f"{VERSIONS}/{n:04d}_{revision_id(n)}.py", stream.blob(migration_source(n)))
            )
        parent = stream.commit("refs/heads/feature", f"feature step {c}", ops, parent)
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        input=b"".join(stream.parts),
        cwd=target,
        check=True,
        env=env,
    )
    subprocess.run(
        ["git", "symbolic-ref", "HEAD", "refs/heads/feature"], cwd=target, check=True, env=env
    )


def benchmark_repository(description: str | None, runs: int) -> tuple[Path, int, bool]:
    """``--runs N`` and ``--keep DIR`` of a benchmark; the repository, generated when missing.

    Returns (folder, runs, kept): a folder not kept is a temporary one to remove.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="stager-bench-")) / "repo"
    if not folder.exists():
        start = time.perf_counter()
        generate(folder)
        print(f"generated {folder} in {time.perf_counter() - start:.1f}s")
    return folder, args.runs, args.keep is not None


if __name__ == "__main__":
    generate(Path(sys.argv[1]))
