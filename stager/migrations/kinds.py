"""The coarse kind of a migration (additive, data, destructive …) from its operations."""

from __future__ import annotations

from collections.abc import Iterable

from stager.migrations.revision_files import Operation
from stager.migrations.sql import UNPARSABLE, statement_kinds
from stager.types import MigrationKind

# Kind ranks: a migration is as risky as its riskiest operation.
_RANK = {
    MigrationKind.EMPTY: 0,
    MigrationKind.ADDITIVE: 1,
    MigrationKind.REFERENCE_DATA: 2,
    MigrationKind.DATA: 3,
    MigrationKind.DESTRUCTIVE: 4,
}
_DESTRUCTIVE_OPS = frozenset({"drop_table", "drop_column", "rename_table"})
_CONTAINERS = frozenset({"batch_alter_table", "autocommit_block"})
# A rename breaks the code still running (it reads the old name) as a drop does.
_DESTRUCTIVE_SQL = frozenset(
    {"DROP TABLE", "ALTER TABLE DROP COLUMN", "RENAME TABLE", "RENAME COLUMN"}
)
_DATA_SQL = frozenset(
    {"UPDATE", "DELETE", "TRUNCATE", "MERGE", "COPY", "DO", "CALL", "SELECT", UNPARSABLE}
)


def sql_kind(statements: Iterable[str]) -> MigrationKind:
    """Kind of a list of statement kinds (see :func:`statement_kinds`)."""
    kind = MigrationKind.EMPTY
    for statement in statements:
        if statement in _DESTRUCTIVE_SQL:
            return MigrationKind.DESTRUCTIVE
        if statement in _DATA_SQL:
            current = MigrationKind.DATA
        elif statement == "INSERT":
            current = MigrationKind.REFERENCE_DATA
        else:
            current = MigrationKind.ADDITIVE
        kind = max(kind, current, key=_RANK.__getitem__)
    return kind


def operation_kind(operation: Operation) -> MigrationKind:
    """What one operation does to the data; opaque SQL counts as a data change."""
    if operation.name in _DESTRUCTIVE_OPS:
        return MigrationKind.DESTRUCTIVE
    renamed = operation.details.get("new_column_name", "None") != "None"
    if operation.name == "alter_column" and renamed:
        return MigrationKind.DESTRUCTIVE  # a rename: running code still uses the old name
    if operation.name == "bulk_insert":
        return MigrationKind.REFERENCE_DATA
    if operation.name in {"orm", "call"}:
        # a session write, or an imported helper stager cannot read: a data change
        return MigrationKind.DATA
    if operation.name in {"execute", "exec_driver_sql"}:
        statements = operation.details.get("statements")
        if statements is None and operation.sql is not None:
            statements = ",".join(statement_kinds(operation.sql))
        if not statements:
            # No literal SQL and no recognisable builder: stager cannot see
            # what runs, so assume the worst a data change can do.
            return MigrationKind.DATA if statements is None else MigrationKind.EMPTY
        return sql_kind(statements.split(","))
    if operation.name in _CONTAINERS:
        return MigrationKind.EMPTY
    # create/add/alter/index/constraint: schema changes that keep every row and
    # column under its name; the per-operation rules (locks) judge them further.
    return MigrationKind.ADDITIVE


def classify_kind(operations: Iterable[Operation]) -> MigrationKind:
    """The coarse kind of a migration, from its ``upgrade()`` operations only."""
    kind = MigrationKind.EMPTY
    for operation in operations:
        if operation.function != "upgrade":
            continue
        kind = max(kind, operation_kind(operation), key=_RANK.__getitem__)
        if kind is MigrationKind.DESTRUCTIVE:
            break
    return kind
