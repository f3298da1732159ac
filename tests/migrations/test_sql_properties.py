"""Properties of stager's SQL reader: random text never crashes it, and SQL made
from a small grammar of migration statements is read for what it does.

The grammar writes CREATE TABLE, ALTER TABLE ADD/DROP COLUMN (with or without
NOT NULL and DEFAULT), CREATE [UNIQUE] INDEX [CONCURRENTLY], DROP INDEX,
UPDATE/DELETE with and without WHERE, INSERT, ALTER TYPE … ADD VALUE and the
renames, in either letter case, with plain, quoted and schema-qualified names.
pglast (PostgreSQL's own parser) must accept each script; stager's statements
and lint actions must name the generated operation, table, columns and flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from pglast.parser import parse_sql

from stager.migrations import actions
from stager.migrations.actions import migration_actions
from stager.migrations.lint.engine import file_findings
from stager.migrations.lint.envpy import EnvSettings
from stager.migrations.sql import parse_statements
from stager.rules.catalogue import RULES
from tests.examples import examples
from tests.migrations.lint.revisions import revision, revision_source


@settings(max_examples=examples(200), deadline=None)
@given(st.text(max_size=200))
def test_any_sql_text_is_read_or_opaque_never_a_crash(sql: str) -> None:
    source = revision_source(f"op.execute({sql!r})")
    migration = revision(source)
    found = file_findings(migration, source, EnvSettings(), 14)
    assert all(f.rule in RULES for f in found)
    for statement in parse_statements(sql):
        assert statement.kind


@dataclass(frozen=True)
class Generated:
    """One generated statement and what stager must read in it."""

    sql: str
    kind: str  # Statement.kind
    verb: str  # Action.verb
    table: str | None = None
    columns: tuple[str, ...] = ()
    name: str | None = None
    value: str | None = None
    flags: frozenset[str] = field(default_factory=frozenset)


_WORDS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_QUOTED = st.text(st.sampled_from("ABCxyz 019_é-"), min_size=1, max_size=10)


@st.composite
def names(draw: st.DrawFn, prefix: str) -> tuple[str, str]:
    """(how the SQL writes it, the name PostgreSQL reads): ``t_ab``, ``"Odd Name"``."""
    if draw(st.integers(0, 4)) == 0:
        name = draw(_QUOTED)
        return f'"{name}"', name
    name = prefix + draw(_WORDS)  # the prefix keeps it from being a keyword
    return name, name


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, str]:
    written, name = draw(names("t_"))
    return (draw(st.sampled_from(["", "public."])) + written), name


TYPES = st.sampled_from(["integer", "text", "varchar(20)", "boolean", "timestamptz", "jsonb"])
LITERALS = st.sampled_from(["0", "42", "'x'", "'it''s'", "true", "now()"])


@st.composite
def statements(draw: st.DrawFn) -> Generated:
    key = str.upper if draw(st.booleans()) else str.lower  # keywords' letter case

    def k(words: str) -> str:
        return key(words)

    table_sql, table = draw(tables())
    column_sql, column = draw(names("c_"))
    operation = draw(
        st.sampled_from(
            [
                "create_table",
                "add_column",
                "drop_column",
                "create_index",
                "drop_index",
                "update",
                "delete",
                "insert",
                "add_value",
                "rename_table",
                "rename_column",
            ]
        )
    )
    if operation == "create_table":
        not_null = k(" NOT NULL") if draw(st.booleans()) else ""
        sql = f"{k('CREATE TABLE')} {table_sql} ({column_sql} {draw(TYPES)}{not_null})"
        return Generated(sql, "CREATE TABLE", actions.CREATE_TABLE, table)
    if operation == "add_column":
        flags = set()
        clauses = ""
        if draw(st.booleans()):
            flags.add("not_null")
            clauses += k(" NOT NULL")
        if draw(st.booleans()):
            flags.add("default")
            clauses += f" {k('DEFAULT')} {draw(LITERALS)}"
        column_word = k(" COLUMN") if draw(st.booleans()) else ""
        sql = (
            f"{k('ALTER TABLE')} {table_sql} {k('ADD')}{column_word} "
            f"{column_sql} {draw(TYPES)}{clauses}"
        )
        return Generated(
            sql,
            "ALTER TABLE ADD COLUMN",
            actions.ADD_COLUMN,
            table,
            (column,),
            flags=frozenset(flags),
        )
    if operation == "drop_column":
        if_exists = k(" IF EXISTS") if draw(st.booleans()) else ""
        sql = f"{k('ALTER TABLE')} {table_sql} {k('DROP COLUMN')}{if_exists} {column_sql}"
        return Generated(sql, "ALTER TABLE DROP COLUMN", actions.DROP_COLUMN, table, (column,))
    index_sql, index = draw(names("ix_"))
    if operation == "create_index":
        unique = draw(st.booleans())
        concurrently = draw(st.booleans())
        flags = {"unique"} if unique else set()
        words = "CREATE UNIQUE INDEX" if unique else "CREATE INDEX"
        if concurrently:
            flags.add("concurrently")
            words += " CONCURRENTLY"
        sql = f"{k(words)} {index_sql} {k('ON')} {table_sql} ({column_sql})"
        kind = "CREATE UNIQUE INDEX" if unique else "CREATE INDEX"
        return Generated(
            sql, kind, actions.CREATE_INDEX, table, (column,), index, flags=frozenset(flags)
        )
    if operation == "drop_index":
        flags = set()
        words = "DROP INDEX"
        if draw(st.booleans()):
            flags.add("concurrently")
            words += " CONCURRENTLY"
        if draw(st.booleans()):
            flags.add("if_exists")
            words += " IF EXISTS"
        schema = draw(st.sampled_from(["", "public."]))
        sql = f"{k(words)} {schema}{index_sql}"
        return Generated(sql, "DROP INDEX", actions.DROP_INDEX, name=index, flags=frozenset(flags))
    if operation in {"update", "delete"}:
        where = draw(st.booleans())
        condition = f" {k('WHERE')} {column_sql} = {draw(LITERALS)}" if where else ""
        if operation == "update":
            sql = f"{k('UPDATE')} {table_sql} {k('SET')} {column_sql} = {draw(LITERALS)}"
            kind, verb = "UPDATE", actions.UPDATE
        else:
            sql = f"{k('DELETE FROM')} {table_sql}"
            kind, verb = "DELETE", actions.DELETE
        where_flag = frozenset({"where"} if where else ())
        return Generated(sql + condition, kind, verb, table, flags=where_flag)
    if operation == "insert":
        sql = f"{k('INSERT INTO')} {table_sql} ({column_sql}) {k('VALUES')} ({draw(LITERALS)})"
        return Generated(sql, "INSERT", actions.INSERT, table)
    if operation == "add_value":
        type_sql, type_name = draw(names("ty_"))
        value = draw(st.text(st.sampled_from("ABC_ é'"), min_size=1, max_size=8))
        if_not_exists = k(" IF NOT EXISTS") if draw(st.booleans()) else ""
        quoted = value.replace("'", "''")
        sql = f"{k('ALTER TYPE')} {type_sql} {k('ADD VALUE')}{if_not_exists} '{quoted}'"
        return Generated(
            sql, "ALTER TYPE ADD VALUE", actions.ENUM_ADD_VALUE, name=type_name, value=value
        )
    new_sql, new = draw(names("n_"))
    if operation == "rename_table":
        sql = f"{k('ALTER TABLE')} {table_sql} {k('RENAME TO')} {new_sql}"
        return Generated(sql, "RENAME TABLE", actions.RENAME_TABLE, table, value=new)
    sql = f"{k('ALTER TABLE')} {table_sql} {k('RENAME COLUMN')} {column_sql} {k('TO')} {new_sql}"
    return Generated(sql, "RENAME COLUMN", actions.RENAME_COLUMN, table, (column,), value=new)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(statements(), min_size=1, max_size=3), st.sampled_from([";", ";\n", " ;  "]))
def test_generated_sql_is_read_for_what_it_does(generated: list[Generated], separator: str) -> None:
    sql = separator.join(g.sql for g in generated)
    assert len(parse_sql(sql)) == len(generated), "PostgreSQL's parser reads each statement"

    read = parse_statements(sql)
    assert [s.kind for s in read] == [g.kind for g in generated], sql
    for statement, expected in zip(read, generated, strict=True):
        assert statement.table == expected.table, sql
        assert statement.flags >= expected.flags, sql
        if expected.columns:
            assert statement.columns == expected.columns, sql
        if expected.name is not None:
            assert statement.name == expected.name, sql
        if expected.value is not None:
            assert statement.value == expected.value, sql

    migration = revision(revision_source(f"op.execute({sql!r})"))
    done = [a for a in migration_actions(migration) if a.function == "upgrade"]
    assert [a.verb for a in done] == [g.verb for g in generated], sql
    for action, expected in zip(done, generated, strict=True):
        assert action.table == expected.table, sql
        assert action.flags >= expected.flags, sql
        if expected.columns:
            assert action.columns == expected.columns, sql
        if expected.name is not None:
            assert action.name == expected.name, sql
