"""Benchmark: `stager lint` over 1,000 generated revision files; median ms per file.

Generates an Alembic project (alembic.ini, env.py, 1,000 chained revision
files) whose revisions mix every kind of change the rules look at: tables,
columns, indexes, constraints, renames, type changes, enum values (some used
later in the same upgrade), literal SQL of every kind, SQL built at run time,
bulk_insert, autocommit blocks, batch blocks and inline ignores. Then times,
in this one process, the median of several runs of:

* the whole of ``stager lint`` on the folder: discovery, reading, parsing
  (``ast`` + pglast), every rule, the upgrade-path check (SM017), sorting;
* parsing alone (``parse_migration``: identifiers and operations);
* the rules alone, on files already parsed.

Then, against squawk (``against_squawk.py``): one ``stager lint`` process and
one ``squawk`` process over the same generated folder of 320 plain SQL
migrations (``sql_corpus.py``), wall and CPU time, ms per file for both (goal:
stager under 0.6 s), and the catch table of both tools on the SQL form of the
project's own cases (tests/migrations/lint/cases). Without squawk installed
(``pip install squawk-cli``, in the dev extra) stager is timed alone.

Run: ``python benchmarks/bench_lint.py [--files N] [--sql-files N] [--runs N]
[--only revisions|sql]``; target ≤ 2 ms per revision file.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stager.migrations.lint.engine import group_by_env, lint_migrations  # noqa: E402
from stager.migrations.lint.envpy import read_env  # noqa: E402
from stager.migrations.lint.files import lint_paths  # noqa: E402
from stager.migrations.parse import parse_migration  # noqa: E402
from stager.rules.settings import default_rules  # noqa: E402
from stager.types import RepoPath, Sha  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import against_squawk  # noqa: E402
import sql_corpus  # noqa: E402

INI = "[alembic]\nscript_location = %(here)s/migrations\n"
ENV_PY = """from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def run_migrations_online():
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
"""

HEADER = '''"""{title}

Revision ID: {revision}
Revises: {down}
Create Date: 2024-01-01 00:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = {revision!r}
down_revision = {down_literal}
branch_labels = None
depends_on = None
'''

# (title, upgrade body, downgrade body); {t} table, {c} column, {v} enum value
BODIES = [
    (
        "create {t}",
        """    op.create_table(
        "{t}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.Enum("a", "b", name="{t}_kind"), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_{t}_name"), "{t}", ["name"], unique=False)
""",
        """    op.drop_index(op.f("ix_{t}_name"), table_name="{t}")
    op.drop_table("{t}")
""",
    ),
    (
        "add {c} to {t}",
        """    op.add_column("{t}", sa.Column("{c}", sa.String(length=50), nullable=True))
    op.create_foreign_key("fk_{t}_{c}", "{t}", "organization", ["{c}"], ["id"])
    op.create_index("ix_{t}_{c}", "{t}", ["{c}"])
""",
        """    op.drop_index("ix_{t}_{c}", table_name="{t}")
    op.drop_column("{t}", "{c}")
""",
    ),
    (
        "backfill {c}",
        """    op.execute(
        \"\"\"
        UPDATE {t} SET {c} = 'n/a' WHERE {c} IS NULL
        \"\"\"
    )
    op.alter_column("{t}", "{c}", existing_type=sa.String(50), nullable=False)
""",
        """    op.alter_column("{t}", "{c}", existing_type=sa.String(50), nullable=True)
""",
    ),
    (
        "concurrent index on {t}",
        """    op.execute("SET lock_timeout = '5s'")
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_{t}_{c}_c", "{t}", ["{c}"], postgresql_concurrently=True, if_not_exists=True
        )
""",
        """    with op.get_context().autocommit_block():
        op.drop_index("ix_{t}_{c}_c", table_name="{t}", postgresql_concurrently=True)
""",
    ),
    (
        "add value {v}",
        """    op.execute("ALTER TYPE user_role ADD VALUE IF NOT EXISTS '{v}'")
""",
        """    pass
""",
    ),
    (
        "use value {v}",
        """    op.execute("UPDATE account SET role = '{v}' WHERE id IN (SELECT id FROM beta)")
""",
        """    op.execute("UPDATE account SET role = 'ANALYST' WHERE role = '{v}'")
""",
    ),
    (
        "reference data for {t}",
        """    kinds = sa.table("{t}", sa.column("id"), sa.column("name", sa.String))
    op.bulk_insert(kinds, [{{"id": 1, "name": "a"}}, {{"id": 2, "name": "b"}}])
    op.execute(f"UPDATE {{SCHEMA}}.{t} SET name = upper(name)")
""",
        """    op.execute("DELETE FROM {t} WHERE id IN (1, 2)")
""",
    ),
    (
        "contract {t}",
        """    op.drop_column("{t}", "legacy_{c}")  # stager: ignore[SM002]
    op.alter_column("{t}", "{c}", new_column_name="{c}_v2")
    op.alter_column("{t}", "amount", type_=sa.BigInteger(), existing_type=sa.Integer())
    op.execute("ALTER TABLE {t} ADD CONSTRAINT ck_{c} CHECK (amount > 0) NOT VALID")
""",
        """    op.alter_column("{t}", "{c}_v2", new_column_name="{c}")
    op.add_column("{t}", sa.Column("legacy_{c}", sa.Text(), nullable=True))
""",
    ),
    (
        "batch change {t}",
        """    with op.batch_alter_table("{t}", schema=None) as batch_op:
        batch_op.add_column(sa.Column("{c}", sa.Boolean(), nullable=False))
        batch_op.create_unique_constraint("uq_{t}_{c}", ["{c}"])
""",
        """    with op.batch_alter_table("{t}", schema=None) as batch_op:
        batch_op.drop_constraint("uq_{t}_{c}", type_="unique")
        batch_op.drop_column("{c}")
""",
    ),
]


def generate(folder: Path, count: int, seed: int = 11) -> Path:
    """Write alembic.ini, env.py and ``count`` chained revision files; returns versions/."""
    rng = random.Random(seed)
    versions = folder / "migrations" / "versions"
    versions.mkdir(parents=True)
    (folder / "alembic.ini").write_text(INI)
    (folder / "migrations" / "env.py").write_text(ENV_PY)
    previous: str | None = None
    for index in range(count):
        revision = f"{rng.getrandbits(48):012x}"
        title, upgrade, downgrade = BODIES[index % len(BODIES)]
        words = {"t": f"table_{index % 90}", "c": f"col_{index}", "v": f"VALUE_{index // 9}"}
        text = HEADER.format(
            title=title.format(**words),
            revision=revision,
            down=previous or "",
            down_literal=repr(previous),
        )
        text += '\nSCHEMA = "public"\n'
        text += "\n\ndef upgrade() -> None:\n" + upgrade.format(**words)
        text += "\n\ndef downgrade() -> None:\n" + downgrade.format(**words)
        name = f"{index:04d}_{revision}_{title.format(**words).replace(' ', '_')}.py"
        (versions / name).write_text(text)
        previous = revision
    return versions


def median_seconds(function: Callable[[], object], runs: int) -> float:
    function()  # warm-up: imports, pglast
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sql-files", type=int, default=320)
    parser.add_argument("--only", choices=("revisions", "sql"))
    args = parser.parse_args()
    if args.only != "sql":
        revisions(args.files, args.runs)
    if args.only != "revisions":
        with tempfile.TemporaryDirectory(prefix="stager-bench-sql-") as tmp:
            sql_corpus.generate(Path(tmp), args.sql_files)
            against_squawk.time_side_by_side(Path(tmp), args.sql_files, args.runs)
        against_squawk.catch_table()
    return 0


def revisions(files: int, runs: int) -> None:
    """The revision-file benchmark: ``files`` generated revisions, median of ``runs``."""
    rules = default_rules()

    with tempfile.TemporaryDirectory(prefix="stager-bench-lint-") as tmp:
        folder = Path(tmp)
        versions = generate(folder, files)
        report = lint_paths([versions], folder, rules)
        assert len(report.files) == files, len(report.files)
        by_rule: dict[str, int] = {}
        for finding in report.findings:
            by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1

        sources = [
            (RepoPath(f"migrations/versions/{path.name}"), path.read_bytes())
            for path in sorted(versions.glob("*.py"))
        ]
        env = read_env(ENV_PY.encode(), "migrations/env.py")

        def parse_all() -> list[object]:
            from stager.migrations.sql import parse_statements

            parse_statements.cache_clear()  # each run pays for its SQL, as a real run would
            return [
                parse_migration(path, Sha(f"{index:040x}"), data)
                for index, (path, data) in enumerate(sources)
            ]

        parsed = [
            parse_migration(path, Sha(f"{index:040x}"), data)
            for index, (path, data) in enumerate(sources)
        ]
        by_path = dict(sources)

        def rules_only() -> object:
            groups = group_by_env(parsed, lambda _: env)
            return lint_migrations(groups, by_path, rules.postgres_version)

        def whole_lint() -> object:
            from stager.migrations.sql import parse_statements

            parse_statements.cache_clear()
            return lint_paths([versions], folder, rules)

        whole = median_seconds(whole_lint, runs)
        parse = median_seconds(parse_all, runs)
        checks = median_seconds(rules_only, runs)

    print(f"{files} revision files, {len(report.findings)} findings, median of {runs} runs")
    print("findings by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(by_rule.items())))
    print(f"stager lint, whole folder      : {whole * 1000:8.1f} ms")
    print(f"  parse (ast + ops + pglast)   : {parse * 1000:8.1f} ms")
    print(f"  rules on parsed files        : {checks * 1000:8.1f} ms")
    print(
        f"median ms per file = {whole * 1000 / files:.3f} (target <= 2.0); "
        f"parse {parse * 1000 / files:.3f}, rules {checks * 1000 / files:.3f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
