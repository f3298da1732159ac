"""Schema objects of migrations, from op.* calls and literal SQL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import MigrationFile
from stager.plan import schema_objects
from stager.plan.schema_objects import (
    SchemaIndex,
    SchemaUse,
    _edge,
    build_index,
    schema_dependencies,
    schema_use,
)
from stager.types import RepoPath, Sha
from tests.examples import examples
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


_STATEMENTS = (
    'op.create_table("{t}", sa.Column("{c}", sa.Integer()))',
    'op.add_column("{t}", sa.Column("{c}", sa.Integer()))',
    'op.drop_column("{t}", "{c}")',
    'op.alter_column("{t}", "{c}", new_column_name="{c}_new")',
    'op.drop_table("{t}")',
    'op.create_index("ix_{t}", "{t}", ["{c}"])',
    'op.execute("UPDATE {t} SET {c} = 1")',
    'op.execute("DELETE FROM {t}")',
    "op.execute(\"ALTER TYPE level ADD VALUE '{c}'\")",
    'op.execute("SELECT {c} FROM {t}")',
)


def _all_pairs(index: SchemaIndex) -> list[tuple[RepoPath, RepoPath, str, int | None]]:
    """What schema_dependencies said when it compared every pair: the reference."""
    found = []
    for position, later in enumerate(index.migrations):
        for earlier in index.migrations[:position]:
            edge = _edge(index.uses[later.path], earlier, index.uses[earlier.path])
            if edge is not None:
                found.append((later.path, earlier.path, *edge))
    return found


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.integers(0, len(_STATEMENTS) - 1),
                st.sampled_from(["users", "orders", "level"]),
                st.sampled_from(["id", "name", "users", "a"]),
            ),
            min_size=1,
            max_size=3,
        ),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.sampled_from(["users", "orders", "id", "name", "ix_users", "a"]), max_size=3),
)
def test_comparing_only_pairs_that_share_a_name_finds_every_edge(
    bodies: list[list[tuple[int, str, str]]], strings: list[str]
) -> None:
    migrations = [
        parsed(
            f"r{n}",
            f"r{n - 1}" if n else None,
            "\n".join(_STATEMENTS[s].format(t=t, c=c) for s, t, c in body),
        )
        for n, body in enumerate(bodies)
    ]
    index = build_index(migrations, lambda path: strings if path.endswith("1.py") else ())
    edges = [(e.dependent, e.dependency, e.reason, e.line) for e in schema_dependencies(index)]
    assert edges == _all_pairs(index)


def test_migrations_on_tables_of_their_own_are_never_compared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1,000 revisions each on its own table: no pair to compare, not 499,500."""
    compared: list[str] = []

    def counting(use: SchemaUse, earlier: MigrationFile, before: SchemaUse) -> object:
        compared.append(earlier.path)
        return _edge(use, earlier, before)

    migrations = [
        parsed(f"r{n}", None, f'op.add_column("t{n}", sa.Column("c", sa.Integer()))')
        for n in range(1000)
    ]
    monkeypatch.setattr(schema_objects, "_edge", counting)
    assert schema_dependencies(build_index(migrations)) == []
    assert compared == []
