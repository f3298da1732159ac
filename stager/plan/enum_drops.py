"""Enum values a branch migration removes, however the migration writes it.

PostgreSQL cannot drop a value from an enum type, so a migration rebuilds the
type without it, in one of a few shapes:

* ``ALTER TYPE t RENAME TO t_old``, ``CREATE TYPE t AS ENUM (...)``, the
  columns cast to it, ``DROP TYPE t_old``;
* ``CREATE TYPE t_new``, the columns cast, ``DROP TYPE t``, ``ALTER TYPE
  t_new RENAME TO t`` (or the same with ``sa.Enum(...).create(bind)`` /
  ``.drop(bind)``);
* ``op.alter_column(..., type_=sa.Enum(<fewer>), existing_type=sa.Enum(...))``;
* ``ALTER TYPE t RENAME VALUE 'old' TO 'new'``: the old value is gone too;
* ``DROP TYPE t`` (or ``.drop(bind)``) with no type of that name made again:
  every value of ``t`` is gone.

The values a type had before are gathered from everything that declares it:
the revisions of both trees (``CREATE TYPE``, ``ADD VALUE``,
``sa.Enum(..., name="t")`` in ``create_table``), and the migration's own
source, ``downgrade()`` included (it rebuilds the old type). The values it has
after are those of the last type of that name ``upgrade()`` makes (or renames
into place). A type whose values stager cannot read (``sa.Enum(PyEnum)``) is
left alone: nothing is reported rather than a guess.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from stager.migrations.compare import MigrationReport
from stager.migrations.op_arguments import enum_type
from stager.migrations.revision_files import MigrationFile, Operation
from stager.migrations.sql import parse_statements
from stager.plan.schema_objects import object_name
from stager.types import Sha

# Operations whose SQL or arguments can change an enum type.
_ENUM_OPS = frozenset({"create_enum", "drop_enum", "alter_column"})
_SQL_KINDS = frozenset(
    {"CREATE TYPE", "DROP TYPE", "RENAME TYPE", "ALTER TYPE ADD VALUE", "ALTER TYPE RENAME VALUE"}
)


@dataclass(frozen=True)
class EnumDrop:
    """A value of enum type ``type_name`` that ``migration``'s ``upgrade()`` removes, and where."""

    type_name: str
    label: str
    migration: MigrationFile
    line: int
    values: frozenset[str]  # the type's values before: what tells its Python enum class


@dataclass(frozen=True)
class _Event:
    """One step of ``upgrade()`` on an enum type, in a shape the walk below reads."""

    verb: str  # create, drop, rename, add, rename_value, narrow
    name: str
    line: int
    labels: frozenset[str] | None = None  # create: its values (None: unreadable)
    new: str = ""  # rename: the new type name; add / rename_value: the value
    old: str = ""  # rename_value: the value renamed away
    removed: frozenset[str] = frozenset()  # narrow: alter_column's values dropped


def _sql_events(operation: Operation) -> list[_Event]:
    events: list[_Event] = []
    for statement in parse_statements(operation.sql or ""):
        kind, line = statement.kind, operation.line
        if kind not in _SQL_KINDS:
            continue
        if kind == "CREATE TYPE" and "enum" in statement.flags and statement.name:
            events.append(_Event("create", object_name(statement.name), line, statement.literals))
        elif kind == "DROP TYPE" and statement.name:
            events.append(_Event("drop", object_name(statement.name), line))
        elif kind == "RENAME TYPE" and statement.old_value and statement.value:
            name, new = object_name(statement.old_value), object_name(statement.value)
            events.append(_Event("rename", name, line, new=new))
        elif kind == "ALTER TYPE ADD VALUE" and statement.name and statement.value:
            events.append(_Event("add", object_name(statement.name), line, new=statement.value))
        elif kind == "ALTER TYPE RENAME VALUE" and statement.name and statement.old_value:
            name, old = object_name(statement.name), statement.old_value
            events.append(_Event("rename_value", name, line, new=statement.value or "", old=old))
    return events


def _declared(text: str | None) -> tuple[str, frozenset[str] | None] | None:
    """``(type, values)`` of ``sa.Enum("a", "b", name="t")`` written as source text."""
    if not text or "enum" not in text.lower():
        return None
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    return _enum_call(node)


def _enum_call(node: ast.expr) -> tuple[str, frozenset[str] | None] | None:
    found = enum_type(node, existing=True)
    if found is None or not found[0]:
        return None
    assert isinstance(node, ast.Call)  # enum_type reads calls only
    readable = len(found[1]) == len(node.args)  # sa.Enum(PyEnum, name=...) holds no literal
    return object_name(found[0]), frozenset(found[1]) if readable and found[1] else None


def _events(migration: MigrationFile) -> list[_Event]:
    events: list[_Event] = []
    for operation in migration.operations:
        if operation.function != "upgrade":
            continue
        details = operation.details
        if operation.sql is not None:
            events.extend(_sql_events(operation))
        elif operation.name == "create_enum" and details.name:
            labels = frozenset(details.values) or None
            events.append(_Event("create", object_name(details.name), operation.line, labels))
        elif operation.name == "drop_enum" and details.name:
            events.append(_Event("drop", object_name(details.name), operation.line))
        elif operation.name == "alter_column":
            before, after = _declared(details.existing_type), _declared(details.type_)
            if before and after and before[1] is not None and after[1] is not None:
                removed = before[1] - after[1]
                if removed:
                    events.append(_Event("narrow", before[0], operation.line, removed=removed))
    return events


def _history_values(report: MigrationReport) -> dict[str, set[str]]:
    """Values every revision of either tree gives each enum type (SQL and ``.create()``)."""
    values: dict[str, set[str]] = {}
    for migration in report.parsed.values():
        for operation in migration.operations:
            if operation.function != "upgrade":
                continue
            if operation.name == "create_enum" and operation.details.name:
                name = object_name(operation.details.name)
                values.setdefault(name, set()).update(operation.details.values)
            for event in _sql_events(operation) if operation.sql else ():
                if event.verb == "create" and event.labels:
                    values.setdefault(event.name, set()).update(event.labels)
                elif event.verb == "add":
                    values.setdefault(event.name, set()).add(event.new)
    return values


def _source_values(source: bytes | None) -> dict[str, set[str]]:
    """Values of every ``sa.Enum(..., name=...)`` and enum SQL a revision file declares."""
    values: dict[str, set[str]] = {}
    if source is None:
        return values
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return values
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found = _enum_call(node)
            if found is not None and found[1]:
                values.setdefault(found[0], set()).update(found[1])
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "ENUM" in (node.value.upper())
        ):
            for statement in parse_statements(node.value):
                if statement.kind == "CREATE TYPE" and statement.name:
                    values.setdefault(object_name(statement.name), set()).update(statement.literals)
    return values


def _enum_declaring(report: MigrationReport, names: Iterable[str]) -> list[Sha]:
    """Blobs of revisions whose ``create_table``/``add_column`` declare one of ``names``."""
    wanted = set(names)
    return [
        blob
        for blob, migration in report.parsed.items()
        if any(wanted & {object_name(n) for n in op.details.enums} for op in migration.operations)
    ]


def enum_drops(
    report: MigrationReport, read: Callable[[Iterable[Sha]], Mapping[Sha, bytes]]
) -> list[EnumDrop]:
    """Every enum value the branch's added revisions remove, in upgrade order."""
    events = {migration.path: _events(migration) for migration in report.added}
    touched = {event.name for found in events.values() for event in found}
    if not touched:
        return []
    history = _history_values(report)
    blobs = [m.blob for m in report.added if events[m.path]]
    sources = read([*blobs, *_enum_declaring(report, touched)])
    declared: dict[str, set[str]] = {name: set(labels) for name, labels in history.items()}
    for blob in sources:
        for name, labels in _source_values(sources[blob]).items():
            declared.setdefault(name, set()).update(labels)
    found: list[EnumDrop] = []
    for migration in report.added:
        for name, label, line in _removed(events[migration.path], declared):
            values = frozenset(declared.get(name, ()))
            found.append(EnumDrop(name, label, migration, line, values))
    return found


def _removed(events: list[_Event], declared: Mapping[str, set[str]]) -> list[tuple[str, str, int]]:
    """(type, value, line) removed by one migration's ``upgrade()`` events."""
    state: dict[str, frozenset[str] | None] = {}  # type name → values now (None: unreadable)
    origin: dict[str, str] = {}  # type name → the type it was at the start
    lines: dict[str, int] = {}  # original type → the line that changed it
    gone: set[str] = set()
    removed: list[tuple[str, str, int]] = []

    def before(name: str) -> frozenset[str] | None:
        return frozenset(declared[name]) if declared.get(name) else None

    def current(name: str) -> frozenset[str] | None:
        return state[name] if name in state else before(name)

    for event in events:
        name = event.name
        if event.verb == "create":
            state[name] = event.labels
            origin.pop(name, None)
            lines[name] = event.line  # the new values are written here
        elif event.verb == "drop":
            lines.setdefault(origin.get(name, name), event.line)
            state.pop(name, None)
            gone.add(name)
        elif event.verb == "rename":
            lines.setdefault(origin.get(name, name), event.line)
            state[event.new] = current(name)
            origin[event.new] = origin.get(name, name)
            state.pop(name, None)
            gone.add(name)
        elif event.verb == "add":
            labels = current(name)
            state[name] = None if labels is None else labels | {event.new}
        elif event.verb == "rename_value":
            removed.append((origin.get(name, name), event.old, event.line))
        elif event.verb == "narrow":
            removed.extend((name, label, event.line) for label in sorted(event.removed))
    for original in sorted(gone | set(lines)):
        old = before(original)
        if old is None:
            continue  # values unknown: nothing to compare
        survivors: set[str] = set()
        for name, labels in state.items():
            if name == original or origin.get(name) == original:
                if labels is None:
                    break  # a survivor whose values stager cannot read: say nothing
                survivors |= labels
        else:
            line = lines.get(original, events[0].line)
            removed.extend((original, label, line) for label in sorted(old - survivors))
    return removed
