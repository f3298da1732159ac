"""What pglast says each statement does: tables, columns, flags, literals."""

from __future__ import annotations

import pytest

from stager.migrations.sql import UNPARSABLE, Statement, parse_statements, statement_kinds


def one(sql: str) -> Statement:
    [statement] = parse_statements(sql)
    return statement


def test_alter_table_actions_are_split() -> None:
    found = parse_statements(
        "ALTER TABLE ONLY public.orders ADD COLUMN n int NOT NULL DEFAULT 0, "
        "DROP COLUMN old, ALTER COLUMN x TYPE text, ALTER COLUMN y SET NOT NULL, "
        "ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customer (id) NOT VALID, "
        "ADD CONSTRAINT uq UNIQUE USING INDEX ix_uq"
    )
    assert [(s.kind, s.table, s.columns) for s in found] == [
        ("ALTER TABLE ADD COLUMN", "orders", ("n",)),
        ("ALTER TABLE DROP COLUMN", "orders", ("old",)),
        ("ALTER TABLE ALTER COLUMN TYPE", "orders", ("x",)),
        ("ALTER TABLE SET NOT NULL", "orders", ("y",)),
        ("ALTER TABLE ADD CONSTRAINT", "orders", ("c",)),
        ("ALTER TABLE ADD CONSTRAINT", "orders", ()),
    ]
    assert found[0].flags == {"not_null", "default"}
    assert found[4].flags == {"foreign_key", "not_valid"}
    assert found[4].name == "fk"
    assert found[5].flags == {"unique", "using_index"}


@pytest.mark.parametrize(
    ("column", "volatile"),
    [
        ("u uuid DEFAULT gen_random_uuid()", True),
        ("t timestamptz DEFAULT clock_timestamp()", True),
        ("n bigserial", True),
        ("g int GENERATED ALWAYS AS IDENTITY", True),
        ("t timestamptz DEFAULT now()", False),
        ("t timestamptz DEFAULT CURRENT_TIMESTAMP", False),
        ("s text DEFAULT 'a'::text", False),
    ],
)
def test_volatile_defaults(column: str, volatile: bool) -> None:
    statement = one(f"ALTER TABLE t ADD COLUMN {column}")
    assert ("volatile_default" in statement.flags) is volatile
    assert "default" in statement.flags


def test_indexes_drops_renames_enums() -> None:
    index = one("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix ON s.t (a, lower(b))")
    assert (index.kind, index.table, index.columns, index.name) == (
        "CREATE UNIQUE INDEX",
        "t",
        ("a",),
        "ix",
    )
    assert index.flags == {"unique", "concurrently"}
    drops = parse_statements("DROP INDEX CONCURRENTLY ix; DROP TABLE a, b; DROP TRIGGER tr ON t")
    assert [(s.kind, s.table, s.name) for s in drops] == [
        ("DROP INDEX", None, "ix"),
        ("DROP TABLE", "a", "a"),
        ("DROP TABLE", "b", "b"),
        ("DROP TRIGGER", "t", "tr"),
    ]
    assert drops[0].flags == {"concurrently"}
    rename = one("ALTER TABLE t RENAME COLUMN a TO b")
    assert (rename.kind, rename.table, rename.columns, rename.value) == (
        "RENAME COLUMN",
        "t",
        ("a",),
        "b",
    )
    add = one("ALTER TYPE public.role ADD VALUE IF NOT EXISTS 'BETA' BEFORE 'X'")
    assert (add.kind, add.name, add.value) == ("ALTER TYPE ADD VALUE", "public.role", "BETA")
    renamed = one("ALTER TYPE role RENAME VALUE 'A' TO 'B'")
    assert (renamed.old_value, renamed.value) == ("A", "B")
    created = one("CREATE TYPE role AS ENUM ('A', 'B')")
    assert created.flags == {"enum"} and created.literals == {"A", "B"}


def test_dml_where_and_literals() -> None:
    update, delete, insert = parse_statements(
        "UPDATE t SET a = 'X' WHERE b = 'Y'; DELETE FROM t; INSERT INTO t (a) VALUES ('Z')"
    )
    assert update.flags == {"where"} and update.literals == {"X", "Y"}
    assert delete.flags == frozenset() and delete.table == "t"
    assert insert.literals == {"Z"}
    assert update.text == "UPDATE t SET a = 'X' WHERE b = 'Y'"


def test_set_commit_and_unparsable() -> None:
    set_stmt, commit = parse_statements("SET LOCAL lock_timeout = '5s'; COMMIT")
    assert (set_stmt.kind, set_stmt.name, set_stmt.flags) == (
        "SET",
        "lock_timeout",
        frozenset({"local"}),
    )
    assert commit.kind == "COMMIT"
    assert parse_statements("UPDATE t SET")[0].kind == UNPARSABLE
    assert parse_statements("") == ()
    assert statement_kinds("{{ jinja }}") == [UNPARSABLE]


def test_results_are_cached() -> None:
    sql = "ALTER TABLE cached DROP COLUMN c"
    assert parse_statements(sql) is parse_statements(sql)


def test_bind_parameters_are_not_opaque() -> None:
    [update] = parse_statements("UPDATE a SET r = :r, t = 'x:y'::text WHERE id = %(id)s AND z = %s")
    assert (update.kind, update.table, update.flags) == ("UPDATE", "a", frozenset({"where"}))
    assert update.literals == {"x:y"}  # quoted text is left alone
    assert statement_kinds("DELETE FROM a WHERE b = :b") == ["DELETE"]
