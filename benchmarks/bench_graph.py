"""Benchmark: stager's revision parse + graph build vs alembic's own ScriptDirectory.

Generates 1,000 realistic revision files (SQLAlchemy imports, create_table,
add_column, indexes, batch blocks, literal and f-string SQL, a few branches,
merge revisions, branch labels and depends_on) in a temporary folder, then
times, in this one process, the median of several runs (taken in turn, ABCD
ABCD ..., stager's in-process SQL cache emptied before each) of:

* stager, from bytes already in memory (what ``analyze`` does: blobs come from
  one ``git cat-file --batch``): parse every file with ``ast`` (identifiers,
  operations, SQL kinds through pglast) + build the networkx graph + heads +
  upgrade order;
* stager, the same but reading every file from disk first;
* alembic: ``ScriptDirectory.from_config`` (imports every file) +
  ``get_heads()`` + ``walk_revisions()``. Alembic's bytecode cache
  (``__pycache__``) is warm after the first run, which is alembic's best case.

Run: ``python benchmarks/bench_graph.py [--files N] [--runs N]``; target ratio ≤ 1.0.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stager.git.repository import TreeEntry  # noqa: E402
from stager.migrations.compare import analyze_migrations  # noqa: E402
from stager.migrations.graph import RevisionGraph  # noqa: E402
from stager.migrations.parse import parse_migration  # noqa: E402
from stager.migrations.sql import parse_statements  # noqa: E402
from stager.types import RepoPath, Sha  # noqa: E402

INI = """[alembic]
script_location = %(here)s/migrations
path_separator = os
"""

HEADER = '''"""{title}

Revision ID: {revision}
Revises: {revises}
Create Date: 2024-{month:02d}-{day:02d} 12:{minute:02d}:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = {revision!r}
down_revision: Union[str, Sequence[str], None] = {down!r}
branch_labels: Union[str, Sequence[str], None] = {labels!r}
depends_on: Union[str, Sequence[str], None] = {depends!r}

SCHEMA = "public"
'''

BODIES = [
    (
        "create {table} table",
        """    op.create_table(
        "{table}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()")),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_{table}_name"), "{table}", ["name"], unique=False)
""",
        """    op.drop_index(op.f("ix_{table}_name"), table_name="{table}")
    op.drop_table("{table}")
""",
    ),
    (
        "add {column} to {table}",
        """    op.add_column("{table}", sa.Column("{column}", sa.String(length=50), nullable=True))
    op.create_foreign_key(None, "{table}", "organization", ["organization_id"], ["id"])
""",
        """    op.drop_column("{table}", "{column}")
""",
    ),
    (
        "backfill {column}",
        """    op.execute(
        \"\"\"
        UPDATE {table} SET {column} = 'n/a' WHERE {column} IS NULL
        \"\"\"
    )
    op.alter_column("{table}", "{column}", existing_type=sa.String(50), nullable=False)
""",
        """    op.alter_column("{table}", "{column}", existing_type=sa.String(50), nullable=True)
""",
    ),
    (
        "batch change {table}",
        """    with op.batch_alter_table("{table}", schema=None) as batch_op:
        batch_op.add_column(sa.Column("{column}", sa.Boolean(), nullable=True))
        batch_op.create_index("ix_{table}_{column}", ["{column}"])
""",
        """    with op.batch_alter_table("{table}", schema=None) as batch_op:
        batch_op.drop_index("ix_{table}_{column}")
        batch_op.drop_column("{column}")
""",
    ),
    (
        "reference data for {table}",
        """    kinds = sa.table("{table}", sa.column("id"), sa.column("name", sa.String))
    op.bulk_insert(kinds, [{{"id": 1, "name": "a"}}, {{"id": 2, "name": "b"}}])
    op.execute(f"UPDATE {{SCHEMA}}.{table} SET name = upper(name)")
""",
        """    op.execute("DELETE FROM {table} WHERE id IN (1, 2)")
""",
    ),
]


def generate(folder: Path, count: int, seed: int = 7) -> None:
    """Write alembic.ini and ``count`` revision files (with branches and merges)."""
    rng = random.Random(seed)
    versions = folder / "migrations" / "versions"
    versions.mkdir(parents=True)
    (folder / "alembic.ini").write_text(INI)
    heads: list[str] = []  # open heads of the main history, newest first
    previous_parent: str | None = None
    plugin: str | None = None  # head of a second, labelled history
    for index in range(count):
        revision = f"{rng.getrandbits(48):012x}"
        labels: tuple[str, ...] | None = None
        depends: str | None = None
        down: str | tuple[str, ...] | None
        on_plugin = False
        if index == 0:
            down = None
        elif index == 5:
            down, labels, on_plugin = None, ("plugin",), True
        elif plugin is not None and rng.random() < 0.02:
            down, on_plugin = plugin, True
        elif len(heads) >= 2 and rng.random() < 0.3:
            down = (heads[0], heads[1])  # a merge revision
        elif previous_parent is not None and rng.random() < 0.03:
            down = previous_parent  # a second child: two branches in parallel
        else:
            down = heads[0]
        if plugin is not None and not on_plugin and rng.random() < 0.03:
            depends = plugin
        if on_plugin:
            plugin = revision
        else:
            parents = (down,) if isinstance(down, str) else tuple(down or ())
            heads = [revision, *(head for head in heads if head not in parents)]
            previous_parent = parents[0] if parents else None
        title, up, downgrade = rng.choice(BODIES)
        words = {"table": f"table_{index % 90}", "column": f"col_{index}"}
        revises = ", ".join((down,) if isinstance(down, str) else down or ())
        text = HEADER.format(
            title=title.format(**words),
            revision=revision,
            revises=revises,
            down=down,
            labels=labels,
            depends=depends,
            month=1 + index % 12,
            day=1 + index % 28,
            minute=index % 60,
        )
        text += "\n\ndef upgrade() -> None:\n" + up.format(**words)
        text += "\n\ndef downgrade() -> None:\n" + downgrade.format(**words)
        (versions / f"{revision}_{title.format(**words).replace(' ', '_')}.py").write_text(text)


def stager_from_memory(sources: list[tuple[RepoPath, Sha, bytes]]) -> RevisionGraph:
    graph = RevisionGraph.build(parse_migration(path, blob, data) for path, blob, data in sources)
    graph.heads()
    graph.upgrade_order()
    return graph


def stager_from_disk(paths: list[Path]) -> RevisionGraph:
    sources = [
        (RepoPath(path.name), Sha(f"{index:040x}"), path.read_bytes())
        for index, path in enumerate(paths)
    ]
    return stager_from_memory(sources)


class _Blobs:
    def __init__(self, store: dict[Sha, bytes]) -> None:
        self.store = store

    def read_blobs(self, blobs: Iterable[Sha]) -> Mapping[Sha, bytes]:
        return {sha: self.store[sha] for sha in blobs if sha in self.store}


def analyze_in_memory(folder: Path, paths: list[Path]) -> object:
    """The whole migration side of ``analyze``: base = head without its last 20 revisions."""
    store: dict[Sha, bytes] = {}
    head: dict[RepoPath, TreeEntry] = {}
    for path in [folder / "alembic.ini", *paths]:
        data = path.read_bytes()
        sha = Sha(hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest())
        store[sha] = data
        relative = RepoPath(path.relative_to(folder).as_posix())
        head[relative] = TreeEntry(relative, "100644", sha)
    base = dict(list(head.items())[:-20])
    return analyze_migrations(base, head, None, _Blobs(store))


def alembic_load(ini: Path) -> list[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        script = ScriptDirectory.from_config(Config(str(ini)))
        heads = script.get_heads()
        order = [s.revision for s in script.walk_revisions()]
    return [*heads, *order]


def alternating_medians(functions: list[Callable[[], object]], runs: int) -> list[float]:
    """Each function's median time, the runs taken in turn (ABCD ABCD ...).

    Every run starts with stager's SQL cache empty (it lives as long as the
    process: without clearing, every run after the first would reuse the
    parses of the one before, which no command does). One untimed round first
    warms imports, pglast and alembic's bytecode cache.
    """
    timings: list[list[float]] = [[] for _ in functions]
    for round_ in range(runs + 1):
        for function, times in zip(functions, timings, strict=True):
            parse_statements.cache_clear()
            start = time.perf_counter()
            function()
            if round_:
                times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in timings]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="stager-bench-graph-") as tmp:
        folder = Path(tmp)
        generate(folder, args.files)
        ini = folder / "alembic.ini"
        paths = sorted((folder / "migrations" / "versions").glob("*.py"))
        sources = [
            (RepoPath(f"migrations/versions/{path.name}"), Sha(f"{index:040x}"), path.read_bytes())
            for index, path in enumerate(paths)
        ]

        graph = stager_from_memory(sources)
        theirs = alembic_load(ini)
        heads = len(graph.heads())
        order = list(reversed(graph.upgrade_order()))
        assert theirs == [*graph.heads(), *order], "stager and alembic disagree on this history"

        memory, disk, alembic, analyze = alternating_medians(
            [
                lambda: stager_from_memory(sources),
                lambda: stager_from_disk(paths),
                lambda: alembic_load(ini),
                lambda: analyze_in_memory(folder, paths),
            ],
            args.runs,
        )

    print(
        f"{len(paths)} revision files, {heads} heads (as alembic), median of {args.runs} "
        "alternating runs, stager's SQL cache empty at each"
    )
    print(f"stager parse+graph, bytes in memory  : {memory * 1000:8.1f} ms")
    print(f"stager parse+graph, reading disk     : {disk * 1000:8.1f} ms")
    print(f"stager analyze_migrations, 2 trees   : {analyze * 1000:8.1f} ms  (info)")
    print(f"alembic ScriptDirectory + walk       : {alembic * 1000:8.1f} ms")
    print(
        f"ratio = stager/alembic = {memory / alembic:.2f} (memory), "
        f"{disk / alembic:.2f} (disk); target <= 1.0"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
