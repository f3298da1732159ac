"""Which side of an expand/contract split each operation of a migration belongs to.

Built on :mod:`~stager.migrations.actions`, the one vocabulary of what an
operation does: an ``op.*`` call and the SQL an ``op.execute`` runs get the
same answer. *Expand* is what the code still running on the old schema
survives (create, add a nullable column, widen); *contract* is what breaks it
(drop, narrow, tighten); *data* changes rows. Anything else (a rename, a type
change that is not provably widening, SQL stager cannot read) is
:attr:`Side.UNKNOWN` with the reason, and keeps the migration whole.

:func:`object_keys` names what an operation acts on, so that a ``downgrade()``
operation can be matched to the ``upgrade()`` operation it undoes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import NamedTuple

from stager.migrations import actions as a
from stager.migrations.actions import Action, operation_actions
from stager.migrations.revision_files import Operation, Receiver


class Side(enum.StrEnum):
    """Where an operation goes when a migration is split."""

    EXPAND = "expand"  # the earlier revision: old code keeps working
    CONTRACT = "contract"  # the later revision, kept under the original id
    DATA = "data"  # rows: in the contract revision, before its drops
    NEUTRAL = "neutral"  # a container or a setting: goes where its contents go
    UNKNOWN = "unknown"  # cannot be placed: the migration stays whole


class Placement(NamedTuple):
    """The side of one operation, and why it cannot be split when UNKNOWN."""

    side: Side
    reason: str = ""


ADD_COPY_DROP = (
    "write it as add-copy-drop: add the new column or table (expand), backfill it from the "
    "old one, switch the code to it, then drop the old one (contract)"
)

_EXPAND_VERBS = frozenset(
    {a.CREATE_TABLE, a.CREATE_INDEX, a.CREATE_ENUM, a.ENUM_ADD_VALUE, a.DROP_NOT_NULL, a.REFERENCE}
)
_CONTRACT_VERBS = frozenset(
    {
        a.DROP_TABLE,
        a.DROP_COLUMN,
        a.DROP_INDEX,
        a.DROP_CONSTRAINT,
        a.DROP_TYPE,
        a.DROP_OTHER,
        a.SET_NOT_NULL,  # old code may still write NULL
        a.VALIDATE_CONSTRAINT,  # the second step of an ADD ... NOT VALID
    }
)
_DATA_VERBS = frozenset({a.INSERT, a.UPDATE, a.DELETE, a.TRUNCATE, a.COPY, a.SELECT})
_CONSTRAINT_VERBS = frozenset({a.ADD_FOREIGN_KEY, a.ADD_CHECK, a.ADD_UNIQUE, a.ADD_PRIMARY_KEY})
_NEUTRAL_VERBS = frozenset({a.AUTOCOMMIT_BLOCK, a.SET_LOCK_TIMEOUT})
_RENAMES = frozenset({a.RENAME_TABLE, a.RENAME_COLUMN, a.ENUM_RENAME_VALUE})
_CONTAINERS = frozenset({"batch_alter_table", "autocommit_block"})

_INTEGER = re.compile(r"(?:\w+\.)*(?:Integer|INTEGER|INT|int4|SmallInteger|SMALLINT)\(\s*\)$")
_BIGINT = re.compile(r"(?:\w+\.)*(?:BigInteger|BIGINT|int8)\(\s*\)$")
_DROP_DEFAULT = re.compile(r"\bDROP\s+DEFAULT\b", re.IGNORECASE)


def _widening(operation: Operation, action: Action) -> bool:
    """varchar(n) → varchar(m ≥ n) or text (actions' ``no_rewrite``), int → bigint."""
    if "no_rewrite" in action.flags:
        return True
    old, new = operation.details.existing_type, operation.details.type_
    return bool(old and new and _INTEGER.match(old.strip()) and _BIGINT.match(new.strip()))


class Fresh(NamedTuple):
    """What a migration's own upgrade creates, which rows written by old code cannot violate.

    ``tables``: tables it creates (old code writes no row there); ``columns``:
    (table, column) it adds nullable and without a default (old code leaves them
    NULL, and a foreign key with a NULL column is not checked, MATCH SIMPLE).
    """

    tables: frozenset[str] = frozenset()
    columns: frozenset[tuple[str, str]] = frozenset()

    def shields(self, action: Action) -> bool:
        """True when ``action``'s constraint can only reject rows that new code writes."""
        table = action.table or ""
        if table in self.tables:
            return True
        # Only a foreign key: a UNIQUE may be NULLS NOT DISTINCT, which stager does not read.
        return action.verb == a.ADD_FOREIGN_KEY and any(
            (table, column) in self.columns for column in action.columns
        )


def fresh_objects(operations: Iterable[Operation]) -> Fresh:
    """The tables and free columns the ``upgrade()`` of ``operations`` creates."""
    tables: set[str] = set()
    columns: set[tuple[str, str]] = set()
    for operation in operations:
        if operation.function != "upgrade":
            continue
        for action in operation_actions(operation):
            if action.verb == a.CREATE_TABLE and action.table:
                tables.add(action.table)
            elif action.verb == a.ADD_COLUMN and not {"not_null", "default"} & action.flags:
                columns.update((action.table or "", column) for column in action.columns)
    return Fresh(frozenset(tables), frozenset(columns))


def _action_side(operation: Operation, action: Action, first: bool, fresh: Fresh) -> Placement:
    verb = action.verb
    if verb in _RENAMES:
        return Placement(Side.UNKNOWN, f"{action.written} renames: {ADD_COPY_DROP}")
    if verb == a.ADD_COLUMN:
        if "not_null" in action.flags and "default" not in action.flags:
            return Placement(
                Side.UNKNOWN,
                f"{action.written} adds a NOT NULL column without a server default: "
                "old code inserting rows would fail",
            )
        return Placement(Side.EXPAND)
    if verb in _CONSTRAINT_VERBS:
        # A constraint declared with a new column (add_column's ForeignKey,
        # unique=True) constrains a column old code never writes.
        if operation.name == "add_column" and not first:
            return Placement(Side.EXPAND)
        if "not_valid" in action.flags or fresh.shields(action):
            return Placement(Side.EXPAND)
        return Placement(
            Side.UNKNOWN,
            f"{action.written} adds a constraint that is not NOT VALID: old code may "
            "write rows it rejects; add it NOT VALID and validate it later",
        )
    if verb == a.ALTER_TYPE:
        if _widening(operation, action):
            return Placement(Side.EXPAND)
        return Placement(
            Side.UNKNOWN,
            f"{action.written} changes a type that is not provably widening: {ADD_COPY_DROP}",
        )
    if verb == a.SET_DEFAULT:
        dropped = operation.details.drops_default or bool(_DROP_DEFAULT.search(action.written))
        return Placement(Side.CONTRACT if dropped else Side.EXPAND)
    if verb == a.CREATE_INDEX and "unique" in action.flags and not fresh.shields(action):
        # A unique index is a unique constraint by another name: it rejects rows too.
        return Placement(
            Side.UNKNOWN,
            f"{action.written} adds a unique index on an existing table: old code may "
            "write rows it rejects; give it a migration of its own, after the code that "
            "keeps those rows unique",
        )
    if verb in _EXPAND_VERBS:
        return Placement(Side.EXPAND)
    if verb in _CONTRACT_VERBS:
        return Placement(Side.CONTRACT)
    if verb in _DATA_VERBS:
        return Placement(Side.DATA)
    if verb in _NEUTRAL_VERBS:
        return Placement(Side.NEUTRAL)
    if verb == a.OPAQUE and operation.details.receiver is Receiver.CONNECTION:
        return Placement(Side.DATA)  # get_bind().execute(...): a data step
    what = {
        a.OPAQUE: "runs SQL stager cannot read",
        a.CALL: "calls a helper stager cannot read",
        a.COMMIT: "ends the migration's transaction",
    }.get(verb, "does what stager cannot place on either side")
    return Placement(Side.UNKNOWN, f"{action.written} {what}")


NOTHING_FRESH = Fresh()


def classify(operation: Operation, fresh: Fresh = NOTHING_FRESH) -> Placement:
    """The side of one operation; several statements of one ``execute`` must agree.

    ``fresh``: what the same migration creates (:func:`fresh_objects`), which
    makes a constraint on it safe to add early.
    """
    if operation.name in _CONTAINERS:
        return Placement(Side.NEUTRAL)
    if operation.name == "bulk_insert":
        return Placement(Side.DATA)
    sides: list[Side] = []
    for index, action in enumerate(operation_actions(operation)):
        placed = _action_side(operation, action, index == 0, fresh)
        if placed.side is Side.UNKNOWN:
            return placed
        if placed.side is not Side.NEUTRAL and placed.side not in sides:
            sides.append(placed.side)
    if not sides:
        return Placement(Side.NEUTRAL)
    if len(sides) == 1:
        return Placement(sides[0])
    if set(sides) == {Side.CONTRACT, Side.DATA}:
        return Placement(Side.CONTRACT)  # both go to the contract revision, in order
    return Placement(
        Side.UNKNOWN,
        f"one {operation.name} at line {operation.line} does both "
        f"{' and '.join(side.value for side in sides)}: split its SQL into one "
        "op.execute per statement",
    )


ObjectKey = tuple[str, ...]
"""What an operation acts on: ``("column", table, column)``, ``("index", name)``…"""

_EXISTENCE = {
    a.CREATE_TABLE: "table",
    a.DROP_TABLE: "table",
    a.CREATE_INDEX: "index",
    a.DROP_INDEX: "index",
    a.CREATE_ENUM: "type",
    a.DROP_TYPE: "type",
    a.ADD_FOREIGN_KEY: "constraint",
    a.ADD_CHECK: "constraint",
    a.ADD_UNIQUE: "constraint",
    a.ADD_PRIMARY_KEY: "constraint",
    a.DROP_CONSTRAINT: "constraint",
    a.VALIDATE_CONSTRAINT: "constraint",
}
_ALTERS = frozenset({a.ALTER_TYPE, a.SET_NOT_NULL, a.DROP_NOT_NULL, a.SET_DEFAULT})


def _action_keys(action: Action) -> list[ObjectKey]:
    verb, table = action.verb, action.table or ""
    if verb in {a.ADD_COLUMN, a.DROP_COLUMN}:
        return [("column", table, column) for column in action.columns]
    if verb in _ALTERS:
        return [("alter", table, column) for column in action.columns]
    if verb in {a.CREATE_TABLE, a.DROP_TABLE}:
        return [("table", table)] if table else []
    if verb in _EXISTENCE:
        if action.name:
            return [(_EXISTENCE[verb], action.name)]
        # autogenerate's create_foreign_key(None, "t", ...) and its drop_constraint(None, "t")
        unnamed = _EXISTENCE[verb] == "constraint" and table
        return [("unnamed constraint", table)] if unnamed else []
    if verb == a.ENUM_ADD_VALUE:
        return [("enum_value", action.name or "", action.value or "")]
    if verb in _DATA_VERBS or verb == a.OPAQUE:
        return [("rows", table)] if table else []
    return []


def column_keys(operation: Operation) -> frozenset[ObjectKey]:
    """The columns an operation names, as ``("column", table, column)`` keys.

    A ``downgrade()`` operation that restores what the upgrade dropped often
    names no object the upgrade touched by name (``alter_column`` making the
    restored column NOT NULL, ``create_foreign_key`` on it): its columns tell
    which part it undoes.
    """
    return frozenset(
        ("column", action.table, column)
        for action in operation_actions(operation)
        if action.table and action.verb not in _DATA_VERBS
        for column in action.columns
    )


def object_keys(operation: Operation) -> frozenset[ObjectKey]:
    """Every object ``operation`` creates, drops, alters or writes, by kind and name."""
    if operation.name == "bulk_insert":
        return frozenset({("rows", operation.table or "")})
    return frozenset(key for action in operation_actions(operation) for key in _action_keys(action))


def describe(key: ObjectKey) -> str:
    """``column t.c``, ``index ix_t_c``: an object key for messages."""
    kind, *names = key
    return f"{kind} {'.'.join(name for name in names if name)}"
