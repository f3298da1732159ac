"""Schema objects of migrations, from op.* calls and literal SQL."""

from __future__ import annotations

from stager.migrations.parse import parse_migration
from stager.plan.schema_objects import build_index, schema_dependencies, schema_use
from stager.types import RepoPath, Sha
from tests.migrations.builders import migration


def parsed(revision: str, down: str | None, upgrade: str):  # type: ignore[no-untyped-def]
    text = migration(revision, down, upgrade=upgrade)
    return parse_migration(RepoPath(f"v/{revision}.py"), Sha("0" * 40), text.encode())


def test_sql_statements_create_and_drop_objects() -> None:
    use = schema_use(
        parsed(
            "a1",
            None,
            'op.execute("CREATE TABLE IF NOT EXISTS public.penalty (id int)")\n'
            'op.execute("ALTER TABLE summary ADD COLUMN IF NOT EXISTS snapshot jsonb, '
            'DROP COLUMN legacy")\n'
            "op.execute(\"ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'BETA'\")\n"
            'op.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_p ON penalty (id)")\n'
            'op.execute("DROP TABLE old_stuff")',
        )
    )
    assert set(use.creates) == {
        ("table", "penalty"),
        ("column", "summary", "snapshot"),
        ("enum_value", "BETA"),
        ("index", "ix_p"),
    }
    assert set(use.drops) == {("column", "summary", "legacy"), ("table", "old_stuff")}


def test_operations_make_edges_in_upgrade_order_only() -> None:
    creates = parsed("a1", None, 'op.create_table("penalty", sa.Column("id", sa.Integer()))')
    fills = parsed("a2", "a1", 'op.execute("INSERT INTO penalty (id) VALUES (1)")')
    unrelated = parsed("a3", "a2", 'op.create_table("other")')
    renames = parsed("a4", "a3", 'op.alter_column("penalty", "id", new_column_name="pid")')
    edges = schema_dependencies(build_index([creates, fills, unrelated, renames]))
    pairs: dict[tuple[str, str], str] = {
        (edge.dependent, edge.dependency): edge.reason for edge in edges
    }
    assert set(pairs) == {("v/a2.py", "v/a1.py"), ("v/a4.py", "v/a1.py"), ("v/a4.py", "v/a2.py")}
    assert pairs[("v/a2.py", "v/a1.py")] == "uses the table penalty, which migration a1 creates"
    assert "still uses" in pairs[("v/a4.py", "v/a2.py")]


def test_op_calls_and_sql_name_the_same_objects() -> None:
    """Both read through the one vocabulary of actions, so neither knows more than the other."""
    as_sql = schema_use(
        parsed(
            "a1",
            None,
            'op.execute("ALTER TABLE summary RENAME COLUMN old TO new")\n'
            "op.execute(\"CREATE TYPE level AS ENUM ('a')\")\n"
            "op.execute(\"UPDATE account SET level = 'a'\")",
        )
    )
    as_calls = schema_use(
        parsed(
            "a2",
            None,
            'op.alter_column("summary", "old", new_column_name="new")\n'
            'sa.Enum("a", name="level").create(op.get_bind())\n'
            'account = sa.table("account", sa.column("level"))\n'
            'op.execute(account.update().values(level="a"))',
        )
    )
    for use in (as_sql, as_calls):
        assert set(use.creates) == {("column", "summary", "new"), ("enum", "level")}
        assert set(use.drops) == {("column", "summary", "old")}
        assert set(use.writes) == {("table", "account")}
