"""What a migration operation does: ``op.*`` calls and literal SQL in one vocabulary.

``op.drop_column("t", "c")`` and ``op.execute("ALTER TABLE t DROP COLUMN c")``
both become ``Action(DROP_COLUMN, table="t", columns=("c",))``, whose
:attr:`~Action.effect` is :attr:`Effect.DROP`. Everything that asks what an
operation does reads it here, so the same change gets the same answer however
it is written: the lint rules (by verb), the migration's kind
(:mod:`~stager.migrations.kinds`, by effect), the schema objects a migration
creates and drops (``plan/schema_objects.py``) and the phase assessment.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from stager.migrations.revision_files import MigrationFile, Operation
from stager.migrations.sql import UNPARSABLE, VOLATILE_FUNCTIONS, Statement, parse_statements

# Verbs. Schema:
CREATE_TABLE = "create_table"
DROP_TABLE = "drop_table"
RENAME_TABLE = "rename_table"
ADD_COLUMN = "add_column"
DROP_COLUMN = "drop_column"
RENAME_COLUMN = "rename_column"
ALTER_TYPE = "alter_type"
SET_NOT_NULL = "set_not_null"
DROP_NOT_NULL = "drop_not_null"
SET_DEFAULT = "set_default"
ALTER_OTHER = "alter_table"  # any other ALTER TABLE: still an ACCESS EXCLUSIVE lock
CREATE_INDEX = "create_index"
DROP_INDEX = "drop_index"
ADD_FOREIGN_KEY = "add_foreign_key"
ADD_CHECK = "add_check"
ADD_UNIQUE = "add_unique"
ADD_PRIMARY_KEY = "add_primary_key"
DROP_CONSTRAINT = "drop_constraint"
VALIDATE_CONSTRAINT = "validate_constraint"
CREATE_ENUM = "create_enum"
ENUM_ADD_VALUE = "enum_add_value"
ENUM_RENAME_VALUE = "enum_rename_value"
DROP_TYPE = "drop_type"
DROP_OTHER = "drop_other"  # view, function, trigger, sequence, schema…
CREATE_TRIGGER = "create_trigger"  # SHARE ROW EXCLUSIVE on its table: blocks writes
# Data:
INSERT = "insert"
UPDATE = "update"
DELETE = "delete"
TRUNCATE = "truncate"
COPY = "copy"
SELECT = "select"  # may call functions that write (setval, set_config …)
OPAQUE = "opaque"
CALL = "call"  # a function imported from the project: stager cannot read it
# Transactions and settings:
AUTOCOMMIT_BLOCK = "autocommit_block"
COMMIT = "commit"
SET_LOCK_TIMEOUT = "set_lock_timeout"
VACUUM = (
    "vacuum"  # FULL rewrites the table under ACCESS EXCLUSIVE; any VACUUM refuses a transaction
)
CLUSTER = "cluster"  # rewrites the table under ACCESS EXCLUSIVE
REINDEX = "reindex"
LOCK_TABLE = "lock_table"  # an explicit LOCK TABLE
REFRESH_VIEW = "refresh_materialized_view"
SET_PERSISTENCE = "set_persistence"  # SET LOGGED / UNLOGGED / TABLESPACE: a rewrite
TOGGLE_TRIGGER = "toggle_trigger"  # ALTER TABLE ENABLE/DISABLE TRIGGER: SHARE ROW EXCLUSIVE
# ACCESS EXCLUSIVE on the partitioned table, SHARE UPDATE EXCLUSIVE with CONCURRENTLY (14+)
DETACH_PARTITION = "detach_partition"
REFERENCE = "reference"  # a new table's foreign key: SHARE ROW EXCLUSIVE on the table it names
OTHER = "other"

# ALTER TABLE forms and friends: each takes a lock that blocks the table's
# readers or writers, and waits behind every running query to get it.
LOCKING = frozenset(
    {
        DROP_TABLE,
        RENAME_TABLE,
        ADD_COLUMN,
        DROP_COLUMN,
        RENAME_COLUMN,
        ALTER_TYPE,
        SET_NOT_NULL,
        DROP_NOT_NULL,
        SET_DEFAULT,
        ALTER_OTHER,
        ADD_FOREIGN_KEY,
        ADD_CHECK,
        ADD_UNIQUE,
        ADD_PRIMARY_KEY,
        DROP_CONSTRAINT,
        TRUNCATE,
        REFERENCE,
        CREATE_TRIGGER,
        TOGGLE_TRIGGER,
        CLUSTER,
        LOCK_TABLE,
        SET_PERSISTENCE,
    }
)


class Effect(enum.StrEnum):
    """What an action does to the data a running application sees, mildest first."""

    NONE = "none"  # a container (autocommit_block): its operations count on their own
    # Create, add, alter, index, constraint, type: every row and column keeps its name.
    ADDITIVE = "additive"
    REFERENCE_DATA = "reference-data"  # inserts rows
    DATA = "data"  # changes or deletes rows, or runs what stager cannot read
    RENAME = "rename"  # code still running reads the old name; no row is lost
    DROP = "drop"  # a table or column is gone: a downgrade cannot bring its data back


_EFFECT_ORDER = tuple(Effect)

DESTRUCTIVE = frozenset({Effect.RENAME, Effect.DROP})
"""Effects that break the code still running on the old schema (the contract step)."""

_EFFECTS = {
    AUTOCOMMIT_BLOCK: Effect.NONE,
    INSERT: Effect.REFERENCE_DATA,
    UPDATE: Effect.DATA,
    DELETE: Effect.DATA,
    TRUNCATE: Effect.DATA,
    COPY: Effect.DATA,
    SELECT: Effect.DATA,
    OPAQUE: Effect.DATA,
    CALL: Effect.DATA,
    RENAME_TABLE: Effect.RENAME,
    RENAME_COLUMN: Effect.RENAME,
    DROP_TABLE: Effect.DROP,
    DROP_COLUMN: Effect.DROP,
}

_VOLATILE_CALL = re.compile(
    r"\b(" + "|".join(sorted(VOLATILE_FUNCTIONS)) + r")\s*\(|\b(?:big|small)?serial\b",
    re.IGNORECASE,
)
_SQL_LITERAL = re.compile(r"'((?:[^']|'')*)'")


class Action(NamedTuple):
    """One change a migration makes, whichever way it is written.

    ``flags`` (from :class:`~stager.migrations.sql.Statement` and ``op.*``
    keywords): ``autocommit`` (inside ``autocommit_block``), ``concurrently``,
    ``unique``, ``not_valid``, ``using_index``, ``not_null``, ``default``,
    ``volatile_default``, ``primary_key``, ``where``, ``exclude``,
    ``unparsable``, ``procedural``, ``built`` (SQL built at run time), ``cluster``
    (a statement on roles, tablespaces, other databases or ``ALTER SYSTEM``).
    A NamedTuple (like :class:`~stager.migrations.sql.Statement`): cheap to
    make and to copy with ``_replace``.
    """

    verb: str
    function: str  # "upgrade" or "downgrade"
    line: int
    table: str | None = None
    columns: tuple[str, ...] = ()
    name: str | None = None  # index / constraint / type / dropped object
    value: str | None = None  # enum value, new name
    old_value: str | None = None
    flags: frozenset[str] = frozenset()
    literals: frozenset[str] = frozenset()
    written: str = ""  # how the migration writes it, for messages
    end_line: int = 0  # last line of the call (0: ``line``)
    reads: frozenset[str] = frozenset()  # columns the SQL reads (an UPDATE ... SET x = old)

    @property
    def autocommit(self) -> bool:
        return "autocommit" in self.flags

    @property
    def effect(self) -> Effect:
        """What the action does to the data; every verb not listed changes the schema only."""
        return _EFFECTS.get(self.verb, Effect.ADDITIVE)


def _default_literals(text: str | None) -> frozenset[str]:
    """``'BETA'`` in ``server_default="BETA"`` or ``sa.text("'BETA'")``."""
    if not text:
        return frozenset()
    quoted = _SQL_LITERAL.findall(text)
    return frozenset(value.replace("''", "'") for value in quoted) or frozenset({text})


def _op_written(operation: Operation) -> str:
    parts = [repr(part) for part in (operation.table, *operation.columns) if part]
    name = operation.details.name
    if name and operation.name in {"create_index", "drop_index", "drop_constraint"}:
        parts.insert(0, repr(name))
    return f"op.{operation.name}({', '.join(parts)})"


def _add_column(operation: Operation, base: Action) -> Iterator[Action]:
    details = operation.details
    flags = set(base.flags)
    default = details.server_default
    primary = details.primary_key is True
    if default is not None:
        flags.add("default")
        if _VOLATILE_CALL.search(default):
            flags.add("volatile_default")
    if details.identity is not None or details.computed is not None:
        flags.update({"default", "volatile_default", "generated"})
    elif _VOLATILE_CALL.search(details.type_ or ""):
        flags.update({"default", "volatile_default"})
    if details.nullable is False or primary:
        flags.add("not_null")
    if primary:
        flags.add("primary_key")
    yield base._replace(
        verb=ADD_COLUMN, flags=frozenset(flags), literals=_default_literals(default)
    )
    for enum_type in details.enums:
        yield base._replace(verb=CREATE_ENUM, name=enum_type)
    if details.foreign_key:
        yield base._replace(verb=ADD_FOREIGN_KEY)
    if details.unique is True:
        yield base._replace(verb=ADD_UNIQUE)
    if primary:
        yield base._replace(verb=ADD_PRIMARY_KEY)


_VARCHAR = re.compile(
    r"(?:\w+\.)*(?:String|VARCHAR|Unicode|NVARCHAR)\(\s*(?:length\s*=\s*)?(\d*)", re.IGNORECASE
)
_TEXT = re.compile(r"(?:\w+\.)*(?:Text|UnicodeText)\(", re.IGNORECASE)


def _text_length(type_: str | None) -> int | None:
    """``String(255)`` → 255; ``Text()``/``String()`` → 0 (no limit); None for other types."""
    if not type_:
        return None
    match = _VARCHAR.match(type_.strip())
    if match:
        return int(match.group(1)) if match.group(1) else 0
    return 0 if _TEXT.match(type_.strip()) else None


def _widens(old: str | None, new: str) -> bool:
    """varchar(n) → varchar(m ≥ n) or text: PostgreSQL changes only the catalog, no rewrite."""
    before, after = _text_length(old), _text_length(new)
    if before is None or after is None:
        return False
    return after == 0 or (before != 0 and after >= before)


def _alter_column(operation: Operation, base: Action) -> Iterator[Action]:
    details = operation.details
    found = False
    if details.new_column_name:
        found = True
        yield base._replace(verb=RENAME_COLUMN, value=details.new_column_name)
    if details.type_:
        found = True
        widening = _widens(details.existing_type, details.type_)
        flags = base.flags | {"no_rewrite"} if widening else base.flags
        if details.existing_type is None and _text_length(details.type_) is not None:
            flags = flags | {"to_text"}  # no rewrite if it was a shorter varchar: unseen
        yield base._replace(verb=ALTER_TYPE, value=details.type_, flags=flags)
    if details.nullable is False:
        found = True
        yield base._replace(verb=SET_NOT_NULL)
    elif details.nullable is True:
        found = True
        yield base._replace(verb=DROP_NOT_NULL)
    if details.server_default is not None or details.drops_default:
        found = True
        yield base._replace(verb=SET_DEFAULT, literals=_default_literals(details.server_default))
    if not found:
        yield base._replace(verb=ALTER_OTHER)


_SIMPLE_OPS = {
    "drop_table": DROP_TABLE,
    "drop_column": DROP_COLUMN,
    "drop_constraint": DROP_CONSTRAINT,
    "create_unique_constraint": ADD_UNIQUE,
    "create_primary_key": ADD_PRIMARY_KEY,
    "orm": UPDATE,
    "call": CALL,
    "autocommit_block": AUTOCOMMIT_BLOCK,
}


def operation_actions(operation: Operation) -> Iterator[Action]:
    """The actions of one operation: one or more per ``op.*`` call, one per SQL statement."""
    details = operation.details
    flags = {"autocommit"} if details.autocommit else set()
    name = operation.name
    base = Action(
        OTHER,
        operation.function,
        operation.line,
        table=operation.table,
        columns=operation.columns,
        name=details.name,
        flags=frozenset(flags),
        literals=operation.literals,
        written=_op_written(operation),
        end_line=operation.end_line,
    )
    if name in {"execute", "exec_driver_sql"}:
        yield from _execute_actions(operation, base)
    elif name in _SIMPLE_OPS:
        verb = _SIMPLE_OPS[name]
        if name == "orm":
            base = base._replace(flags=base.flags | {"where"}, written="session writes (ORM)")
        yield base._replace(verb=verb)
    elif name == "create_table":
        yield base._replace(verb=CREATE_TABLE)
        for enum_type in details.enums:
            yield base._replace(verb=CREATE_ENUM, name=enum_type)
        for referenced in details.references:
            yield base._replace(verb=REFERENCE, table=referenced, columns=())
    elif name == "rename_table":
        yield base._replace(verb=RENAME_TABLE, value=details.new_table_name)
    elif name == "add_column":
        yield from _add_column(operation, base)
    elif name == "alter_column":
        yield from _alter_column(operation, base)
    elif name in {"create_index", "drop_index"}:
        if details.postgresql_concurrently:
            flags.add("concurrently")
        if details.unique:
            flags.add("unique")
        verb = CREATE_INDEX if name == "create_index" else DROP_INDEX
        yield base._replace(verb=verb, flags=frozenset(flags))
    elif name in {"create_foreign_key", "create_check_constraint", "create_exclude_constraint"}:
        if details.postgresql_not_valid:
            flags.add("not_valid")
        verb = {"create_foreign_key": ADD_FOREIGN_KEY, "create_check_constraint": ADD_CHECK}.get(
            name, ADD_UNIQUE
        )
        if name == "create_exclude_constraint":
            flags.add("exclude")
        yield base._replace(verb=verb, flags=frozenset(flags))
    elif name == "bulk_insert":
        yield base._replace(verb=INSERT, written=f"op.bulk_insert({operation.table!r}, ...)")
    elif name == "create_enum":
        yield base._replace(verb=CREATE_ENUM)
    elif name == "drop_enum":
        yield base._replace(verb=DROP_TYPE, flags=base.flags | {"enum"})
    elif name != "batch_alter_table":
        yield base


def _sql_first_line(operation: Operation, sql: str) -> int:
    """The source line where the SQL text starts: the call's, or the next one.

    A literal opened on the call's line starts there; a call written
    ``op.execute(`` with the literal on the lines below starts one line below.
    """
    span = max(operation.line, operation.end_line) - operation.line
    return operation.line + (1 if span > sql.count("\n") else 0)


_BUILDERS = {"INSERT": INSERT, "UPDATE": UPDATE, "DELETE": DELETE}


def _execute_actions(operation: Operation, base: Action) -> Iterator[Action]:
    if operation.sql is not None:
        first = _sql_first_line(operation, operation.sql)
        for statement in parse_statements(operation.sql):
            line = min(first + statement.line, max(base.line, base.end_line))
            yield from statement_actions(statement, base._replace(line=line))
        return
    built = operation.details.statements or ()
    if len(built) == 1 and built[0] in _BUILDERS:
        flags = set(base.flags)
        if operation.details.where is not False:
            flags.add("where")
        yield base._replace(
            verb=_BUILDERS[built[0]],
            flags=frozenset(flags),
            written=f"{built[0]} built with SQLAlchemy",
        )
        return
    yield base._replace(verb=OPAQUE, flags=base.flags | {"built"}, written="SQL built at run time")


_ALTER_TABLE = {
    "ALTER TABLE ADD COLUMN": ADD_COLUMN,
    "ALTER TABLE DROP COLUMN": DROP_COLUMN,
    "ALTER TABLE ALTER COLUMN TYPE": ALTER_TYPE,
    "ALTER TABLE SET NOT NULL": SET_NOT_NULL,
    "ALTER TABLE DROP NOT NULL": DROP_NOT_NULL,
    "ALTER TABLE COLUMN DEFAULT": SET_DEFAULT,
    "ALTER TABLE DROP CONSTRAINT": DROP_CONSTRAINT,
    "ALTER TABLE VALIDATE CONSTRAINT": VALIDATE_CONSTRAINT,
}
_CONSTRAINTS = (
    ("foreign_key", ADD_FOREIGN_KEY),
    ("check", ADD_CHECK),
    ("unique", ADD_UNIQUE),
    ("exclude", ADD_UNIQUE),
    ("primary_key", ADD_PRIMARY_KEY),
    ("not_null", SET_NOT_NULL),
)
_STATEMENTS = {
    "CREATE TABLE": CREATE_TABLE,
    "DROP TABLE": DROP_TABLE,
    "DROP INDEX": DROP_INDEX,
    "DROP TYPE": DROP_TYPE,
    "RENAME COLUMN": RENAME_COLUMN,
    "RENAME TABLE": RENAME_TABLE,
    "CREATE INDEX": CREATE_INDEX,
    "CREATE UNIQUE INDEX": CREATE_INDEX,
    "CREATE TRIGGER": CREATE_TRIGGER,
    "ALTER TYPE ADD VALUE": ENUM_ADD_VALUE,
    "ALTER TYPE RENAME VALUE": ENUM_RENAME_VALUE,
    "INSERT": INSERT,
    "UPDATE": UPDATE,
    "DELETE": DELETE,
    "MERGE": UPDATE,
    "COPY": COPY,
    "SELECT": SELECT,
    "TRUNCATE": TRUNCATE,
    "DO": OPAQUE,
    "CALL": OPAQUE,
    UNPARSABLE: OPAQUE,
    "COMMIT": COMMIT,
    "ROLLBACK": COMMIT,
    "VACUUM": VACUUM,
    "CLUSTER": CLUSTER,
    "REINDEX": REINDEX,
    "LOCK": LOCK_TABLE,
    "REFRESH MAT VIEW": REFRESH_VIEW,
    "ALTER TABLE SET LOGGED": SET_PERSISTENCE,
    "ALTER TABLE SET UN LOGGED": SET_PERSISTENCE,
    "ALTER TABLE SET TABLE SPACE": SET_PERSISTENCE,
    "ALTER TABLE DETACH PARTITION": DETACH_PARTITION,
}
# ENABLE [ALWAYS | REPLICA] TRIGGER name, DISABLE TRIGGER ALL … as pglast's subtypes spell them
_TOGGLE_TRIGGER = re.compile(r"ALTER TABLE (EN|DIS)ABLE\b.*\bTRIG\b")
# Statements that change the whole cluster, not one database: roles, their
# memberships, server settings, tablespaces and other databases. Flagged ``cluster``,
# as is a GRANT of rights to a named role (not PUBLIC or the current user): roles are
# the cluster's, and a shared server's role is not stager's to give rights to.
CLUSTER_WIDE_KINDS = frozenset(
    {
        "CREATE ROLE",  # and CREATE USER / GROUP
        "ALTER ROLE",
        "ALTER ROLE SET",
        "DROP ROLE",
        "RENAME ROLE",
        "GRANT ROLE",  # GRANT / REVOKE a role's membership
        "ALTER SYSTEM",
        "CREATE TABLESPACE",
        "ALTER TABLESPACE",
        "DROP TABLESPACE",
        "RENAME TABLESPACE",
        "CREATE DATABASE",
        "ALTER DATABASE",
        "ALTER DATABASE SET",
        "DROP DATABASE",
        "RENAME DATABASE",
    }
)
# Dropped objects that are neither tables, indexes nor types (those have rules of their own).
_DROP_KEPT = frozenset({"DROP CONSTRAINT"})


def statement_actions(statement: Statement, base: Action) -> Iterator[Action]:
    """The actions of one SQL statement; ``base`` carries the line, function and flags."""
    kind = statement.kind
    flags = set(base.flags) | statement.flags
    verb = _STATEMENTS.get(kind) or _ALTER_TABLE.get(kind)
    if kind == "ALTER TABLE ADD CONSTRAINT":
        verb = next((v for flag, v in _CONSTRAINTS if flag in statement.flags), ALTER_OTHER)
    elif verb is None and _TOGGLE_TRIGGER.match(kind):
        verb = TOGGLE_TRIGGER
    elif verb is None and kind.startswith("ALTER TABLE "):
        verb = ALTER_OTHER
    elif verb is None and kind.startswith("DROP ") and kind not in _DROP_KEPT:
        verb = DROP_OTHER
    elif kind == "CREATE TYPE" and "enum" in statement.flags:
        verb = CREATE_ENUM
    elif kind == "SET" and statement.name == "lock_timeout":
        verb = SET_LOCK_TIMEOUT
    if kind == UNPARSABLE:
        flags.add("unparsable")
    elif kind in {"DO", "CALL"}:
        flags.add("procedural")
    elif kind in CLUSTER_WIDE_KINDS or (kind == "GRANT" and "to_role" in statement.flags):
        flags.add("cluster")
    if kind == "MERGE":
        flags.add("where")  # MERGE always joins on a condition
    action = base._replace(
        verb=verb or OTHER,
        table=statement.table,
        columns=statement.columns,
        name=statement.name,
        value=kind.removeprefix("DROP ").lower()
        if verb == DROP_OTHER
        # CREATE VIEW/FUNCTION/TRIGGER …: what it makes, to tell a redefinition from a drop
        else kind.removeprefix("CREATE ").lower()
        if verb in (None, CREATE_TRIGGER) and kind.startswith("CREATE ") and statement.name
        else statement.value,
        old_value=statement.old_value,
        flags=frozenset(flags),
        # Bind parameters (``.bindparams(s=...)``, ``execute(text, {"s": ...})``) are
        # values the statement writes too.
        literals=statement.literals | base.literals,
        written=statement.text or kind,
        reads=statement.reads,
    )
    yield action
    if verb == ADD_COLUMN:
        # Constraints declared with the new column are built like separate ones.
        for flag, extra in _CONSTRAINTS[:-1]:
            if flag in statement.flags:
                yield action._replace(verb=extra)


def migration_actions(migration: MigrationFile) -> tuple[Action, ...]:
    """Every action of ``upgrade()`` then ``downgrade()``, in source order."""
    return tuple(
        action for operation in migration.operations for action in operation_actions(operation)
    )


def strongest(effects: Iterable[Effect]) -> Effect:
    """The strongest of ``effects`` (NONE when there is none)."""
    return max(effects, key=_EFFECT_ORDER.index, default=Effect.NONE)


# Operations whose actions' effect depends on their arguments or SQL; every other
# operation's effect follows from its name alone (the parser asks for each one).
_ARGUMENT_EFFECTS = frozenset({"execute", "exec_driver_sql", "add_column", "alter_column"})
_NAME_EFFECTS = {
    **{name: _EFFECTS.get(verb, Effect.ADDITIVE) for name, verb in _SIMPLE_OPS.items()},
    "rename_table": Effect.RENAME,
    "bulk_insert": Effect.REFERENCE_DATA,
    "batch_alter_table": Effect.NONE,
}


def operation_effect(operation: Operation) -> Effect:
    """What one operation (an ``op.*`` call, or the SQL an ``execute`` runs) does to the data."""
    if operation.name not in _ARGUMENT_EFFECTS:
        return _NAME_EFFECTS.get(operation.name, Effect.ADDITIVE)
    return strongest(action.effect for action in operation_actions(operation))
