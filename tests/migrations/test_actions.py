"""One vocabulary of what an operation does: the same change, written either way, same effect."""

from __future__ import annotations

import ast
import textwrap

import pytest

from stager.migrations import actions as a
from stager.migrations.actions import DESTRUCTIVE, Effect, operation_actions, operation_effect
from stager.migrations.kinds import classify_kind
from stager.migrations.op_arguments import SPECS
from stager.migrations.operations import extract_operations
from stager.migrations.revision_files import Operation, OperationDetails
from stager.types import MigrationKind
from tests.migrations.lint.revisions import rule_ids


def upgrade_ops(body: str) -> list[Operation]:
    source = (
        "from alembic import op\nimport sqlalchemy as sa\nfrom app import helpers\n"
        "t = sa.table('t', sa.column('c'))\n\ndef upgrade():\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
    )
    return list(extract_operations(ast.parse(source)))


def effect(body: str) -> Effect:
    [operation] = [op for op in upgrade_ops(body) if op.name != "autocommit_block"]
    return operation_effect(operation)


@pytest.mark.parametrize(
    ("python", "sql", "expected"),
    [
        ("op.drop_table('t')", "DROP TABLE t", Effect.DROP),
        ("op.drop_column('t', 'c')", "ALTER TABLE t DROP COLUMN c", Effect.DROP),
        ("op.rename_table('t', 'u')", "ALTER TABLE t RENAME TO u", Effect.RENAME),
        (
            "op.alter_column('t', 'c', new_column_name='d')",
            "ALTER TABLE t RENAME COLUMN c TO d",
            Effect.RENAME,
        ),
        ("op.bulk_insert(t, [{'c': 'x'}])", "INSERT INTO t VALUES ('x')", Effect.REFERENCE_DATA),
        ("op.execute(t.update().values(c='x'))", "UPDATE t SET c = 'x'", Effect.DATA),
        ("op.execute(t.delete())", "DELETE FROM t", Effect.DATA),
        (
            "op.add_column('t', sa.Column('c', sa.Integer()))",
            "ALTER TABLE t ADD COLUMN c integer",
            Effect.ADDITIVE,
        ),
        ("op.create_index('ix', 't', ['c'])", "CREATE INDEX ix ON t (c)", Effect.ADDITIVE),
        (
            "op.alter_column('t', 'c', nullable=False)",
            "ALTER TABLE t ALTER c SET NOT NULL",
            Effect.ADDITIVE,
        ),
    ],
)
def test_an_operation_has_one_effect_however_it_is_written(
    python: str, sql: str, expected: Effect
) -> None:
    assert effect(python) is expected
    assert effect(f"op.execute({sql!r})") is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("op.execute('COPY t FROM STDIN')", Effect.DATA),
        ("op.execute(\"SELECT setval('s', 10)\")", Effect.DATA),
        ("helpers.backfill(op.get_bind())", Effect.DATA),  # stager cannot read it
        ("op.execute(f'UPDATE {name} SET c = 1')", Effect.DATA),  # built at run time
        ("op.execute('ALTER INDEX i RENAME TO j')", Effect.ADDITIVE),  # no code reads it
        ("op.execute('')", Effect.NONE),
        ("with op.batch_alter_table('t') as batch_op:\n    pass", Effect.NONE),
    ],
)
def test_effects_of_what_is_neither_schema_nor_rows(body: str, expected: Effect) -> None:
    assert operation_effect(upgrade_ops(body)[0]) is expected


def test_destructive_is_what_breaks_running_code_and_maps_to_the_kind() -> None:
    assert {Effect.DROP, Effect.RENAME} == DESTRUCTIVE
    for body in ("op.rename_table('t', 'u')", "op.execute('ALTER TABLE t RENAME TO u')"):
        assert classify_kind(upgrade_ops(body)) is MigrationKind.DESTRUCTIVE


def test_a_literal_none_keyword_is_no_change() -> None:
    """``new_column_name=None`` renames nothing, ``server_default=None`` drops the default."""
    [operation] = upgrade_ops("op.alter_column('t', 'c', new_column_name=None, type_=None)")
    assert [action.verb for action in operation_actions(operation)] == [a.ALTER_OTHER]
    assert operation_effect(operation) is Effect.ADDITIVE
    [operation] = upgrade_ops("op.alter_column('t', 'c', server_default=None)")
    assert [action.verb for action in operation_actions(operation)] == [a.SET_DEFAULT]
    assert "SM004" not in rule_ids("op.alter_column('t', 'c', new_column_name=None)")
    assert "SM004" in rule_ids("op.alter_column('t', 'c', new_column_name='d')")


def test_a_data_change_stager_cannot_read_needs_a_downgrade_as_an_update_does() -> None:
    for body in ("op.execute('UPDATE t SET c = 1')", "helpers.backfill(op.get_bind())"):
        assert "SM024" in rule_ids(body, "pass", prelude="from app import helpers\n"), body


def test_copy_loads_rows_as_an_insert_does() -> None:
    assert "SM021" in rule_ids("op.execute('COPY roles FROM STDIN')")


@pytest.mark.parametrize(
    "name", sorted({*SPECS, "orm", "call", "autocommit_block", "batch_alter_table", "create_enum"})
)
@pytest.mark.parametrize("enums", [(), ("kind",)])
def test_the_effect_by_name_is_the_effect_of_the_actions(name: str, enums: tuple[str, ...]) -> None:
    """operation_effect skips building actions for most operations: it must agree with them."""
    operation = Operation(
        name,
        "upgrade",
        1,
        table="t",
        columns=("c",),
        details=OperationDetails(enums=enums, references=("u",), new_table_name="v"),
    )
    expected = a.strongest(action.effect for action in operation_actions(operation))
    assert operation_effect(operation) is expected


@pytest.mark.parametrize(
    ("sql", "cluster"),
    [
        ("CREATE USER app_reader PASSWORD 'x'", True),
        ("ALTER ROLE app SET search_path = app", True),
        ("DROP ROLE IF EXISTS app_reader", True),
        ("GRANT app_reader TO app", True),
        ("ALTER SYSTEM SET work_mem = '64MB'", True),
        ("CREATE TABLESPACE fast LOCATION '/ssd'", True),
        ("ALTER TABLESPACE fast SET (seq_page_cost = 1)", True),
        ("DROP DATABASE reports", True),
        ("CREATE DATABASE reports", True),
        ("ALTER DATABASE reports RENAME TO old_reports", True),
        # a role of the cluster gains rights: on a shared server, not stager's to give
        ("GRANT SELECT ON t TO app_reader", True),
        ("GRANT SELECT ON t TO PUBLIC", False),
        ("GRANT USAGE ON SCHEMA s TO CURRENT_USER", False),
        ("REVOKE SELECT ON t FROM app_reader", False),
        ("CREATE TABLE t (c int)", False),
        ("ALTER TABLE t SET TABLESPACE fast", False),
    ],
)
def test_statements_that_change_the_whole_cluster_are_flagged(sql: str, cluster: bool) -> None:
    [operation] = upgrade_ops(f"op.execute({sql!r})")
    [action] = operation_actions(operation)
    assert ("cluster" in action.flags) is cluster
    assert action.verb != a.ALTER_OTHER or not cluster  # ALTER TABLESPACE is no ALTER TABLE
