"""Schema objects of the branch's migrations: what each creates, touches and drops.

Objects are tables, columns, indexes, enum types and enum values, found in
the actions of ``upgrade()`` (:mod:`stager.migrations.actions`: ``op.*``
calls and literal SQL read alike). A migration that alters, fills, reads or drops an object
another branch migration creates comes after it; a migration that drops or
alters an object an earlier migration of the branch still reads comes after
that one too (the backfill before the drop of the column it reads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial

from stager.migrations import actions as a
from stager.migrations.actions import Action, operation_actions
from stager.migrations.revision_files import MigrationFile
from stager.plan.phase import Dependency, DependencyKind
from stager.plan.pyscan import IDENTIFIER
from stager.types import RepoPath

# ("table", t) ("column", t, c) ("index", n) ("enum", n) ("enum_value", v)
ObjectKey = tuple[str, ...]


def object_name(name: str | None) -> str:
    """How the schema objects key a table or column name: unquoted, unqualified, lower-case."""
    return (name or "").strip('"').split(".")[-1].lower()


def describe(key: ObjectKey) -> str:
    """``column compliance_report_summary.historical_snapshot`` and the like."""
    kind = key[0]
    if kind == "column":
        return f"column {key[1]}.{key[2]}"
    if kind == "enum_value":
        return f"enum value '{key[1]}'"
    return f"{kind} {key[1]}"


@dataclass
class SchemaUse:
    """One migration's objects: created, dropped or altered, and every object it names."""

    creates: dict[ObjectKey, int]  # object → line
    drops: dict[ObjectKey, int]  # dropped, altered or renamed away
    touches: dict[ObjectKey, int]  # named by an operation (including the above)
    sql_words: set[str]
    strings: Callable[[], Iterable[str]]  # identifiers of its string constants, read lazily
    writes: dict[ObjectKey, int] = field(default_factory=dict)  # tables whose rows it changes

    @cached_property
    def words(self) -> frozenset[str]:
        """Every identifier of its SQL and string constants (lower-cased too)."""
        words = self.sql_words | set(self.strings())
        return frozenset(words) | frozenset(word.lower() for word in words)


# Actions that change a column in place: code reading it may break, so it counts as dropped.
_COLUMN_CHANGES = frozenset(
    {
        a.DROP_COLUMN,
        a.RENAME_COLUMN,
        a.ALTER_TYPE,
        a.SET_NOT_NULL,
        a.DROP_NOT_NULL,
        a.SET_DEFAULT,
        a.ALTER_OTHER,
    }
)
_WRITES = frozenset({a.INSERT, a.UPDATE, a.DELETE, a.TRUNCATE, a.COPY})


def _action(use: SchemaUse, action: Action, referent: str | None) -> None:
    """The objects one action creates, drops, touches or writes."""
    table = object_name(action.table) if action.table else None
    line = action.line
    columns = [object_name(column) for column in action.columns]
    verb = action.verb
    if table:
        use.touches.setdefault(("table", table), line)
        for column in columns:
            use.touches.setdefault(("column", table, column), line)
    if verb == a.CREATE_TABLE and table:
        use.creates.setdefault(("table", table), line)
    if verb in (a.CREATE_TABLE, a.ADD_COLUMN) and table:
        for column in columns:
            use.creates.setdefault(("column", table, column), line)
    elif verb in _COLUMN_CHANGES and table:
        for column in columns:
            use.drops.setdefault(("column", table, column), line)
        if verb == a.RENAME_COLUMN and action.value:
            use.creates.setdefault(("column", table, object_name(action.value)), line)
    elif verb in (a.DROP_TABLE, a.RENAME_TABLE) and table:
        use.drops.setdefault(("table", table), line)
        if verb == a.RENAME_TABLE and action.value:
            use.creates.setdefault(("table", object_name(action.value)), line)
    elif verb in (a.CREATE_INDEX, a.DROP_INDEX) and action.name:
        target = use.creates if verb == a.CREATE_INDEX else use.drops
        target.setdefault(("index", object_name(action.name)), line)
    elif verb == a.CREATE_ENUM and action.name and not table:
        # A type of its own; one a table's column declares may exist already.
        use.creates.setdefault(("enum", object_name(action.name)), line)
    elif verb == a.ENUM_ADD_VALUE and action.name and action.value is not None:
        use.touches.setdefault(("enum", object_name(action.name)), line)
        use.creates.setdefault(("enum_value", action.value), line)
    elif verb in _WRITES and table:
        use.writes.setdefault(("table", table), line)
    if referent:
        use.touches.setdefault(("table", object_name(referent)), line)


def schema_use(migration: MigrationFile, strings: Callable[[], Iterable[str]] = tuple) -> SchemaUse:
    """Objects of ``migration``'s ``upgrade()``; ``strings``: identifiers of its strings."""
    use = SchemaUse({}, {}, {}, set(), strings)
    for op in migration.operations:
        if op.sql:
            use.sql_words.update(IDENTIFIER.findall(op.sql))
        if op.function != "upgrade":
            continue
        for action in operation_actions(op):
            _action(use, action, op.details.referent_table)
    for key, line in use.drops.items():
        use.touches.setdefault(key, line)
    return use


_KIND_ORDER = {"table": 0, "enum": 1, "enum_value": 2, "index": 3, "column": 4}


def _key_order(key: ObjectKey) -> tuple[int, ObjectKey]:
    """Whole objects before their parts: "uses table t" explains more than "column t.c"."""
    return (_KIND_ORDER.get(key[0], 5), key)


def names_object(use: SchemaUse, key: ObjectKey) -> bool:
    """Whether a migration's ``use`` names ``key`` in an operation, or in its SQL / strings."""
    if key in use.touches:
        return True
    kind = key[0]
    if kind == "column":
        return key[2] in use.words and (key[1] in use.words or ("table", key[1]) in use.touches)
    return key[1] in use.words


@dataclass(frozen=True)
class SchemaIndex:
    """The branch's migrations (upgrade order) and the objects each one uses."""

    migrations: tuple[MigrationFile, ...]
    uses: Mapping[RepoPath, SchemaUse]  # by path

    def creator(self, key: ObjectKey) -> tuple[MigrationFile, int] | None:
        """The first branch migration (upgrade order) that creates ``key``, and the line."""
        for migration in self.migrations:
            line = self.uses[migration.path].creates.get(key)
            if line is not None:
                return migration, line
        return None

    def drops(self) -> list[tuple[MigrationFile, ObjectKey, int]]:
        """Every (migration, dropped table or column, line), in upgrade order."""
        return [
            (migration, key, line)
            for migration in self.migrations
            for key, line in sorted(self.uses[migration.path].drops.items())
            if key[0] in ("table", "column") and key not in self.uses[migration.path].creates
        ]


def build_index(
    migrations: Sequence[MigrationFile],
    strings: Callable[[RepoPath], Iterable[str]] = lambda path: (),
) -> SchemaIndex:
    """``migrations`` in upgrade order; ``strings(path)``: identifiers of a file's strings."""
    uses = {m.path: schema_use(m, partial(strings, m.path)) for m in migrations}
    return SchemaIndex(tuple(migrations), uses)


def _token(key: ObjectKey) -> str:
    """The name a migration must mention to name ``key``: the object's, a column's table's."""
    return key[1]


def _names(use: SchemaUse) -> frozenset[str]:
    """Every name ``use`` can name an object by: :func:`names_object` never looks further.

    A column is named only with its table (in the same operation, or both in its
    SQL or strings), so the table's name finds it: fewer pairs than "id" would.
    """
    return use.words | {_token(key) for key in use.touches}


def schema_dependencies(index: SchemaIndex) -> list[Dependency]:
    """Migration → earlier migration edges through shared schema objects.

    Only pairs that share a name can have an edge (:func:`_edge` asks whether one
    names what the other creates, drops or writes), so each migration is compared
    with the earlier ones an index of names finds, in upgrade order: linear in the
    migrations plus the pairs that share a name, not quadratic.
    """
    edges: list[Dependency] = []
    ordered = index.migrations
    uses = [index.uses[migration.path] for migration in ordered]
    any_objects = any(use.creates or use.drops for use in uses)
    creators: dict[str, list[int]] = {}  # name → positions of migrations creating it
    namers: dict[str, list[int]] = {}  # name → positions of migrations naming it
    writers: dict[ObjectKey, list[int]] = {}  # table → positions of migrations writing it
    for position, (later, use) in enumerate(zip(ordered, uses, strict=True)):
        names = _names(use) if any_objects else frozenset()
        candidates: set[int] = set()
        for name in names:
            candidates.update(creators.get(name, ()))
        for key in use.drops:
            candidates.update(namers.get(_token(key), ()))
        for key in use.writes:
            candidates.update(writers.get(key, ()))
        for earlier_position in sorted(candidates):
            earlier = ordered[earlier_position]
            found = _edge(use, earlier, uses[earlier_position])
            if found is not None:
                reason, line = found
                kind = DependencyKind.SCHEMA
                edges.append(Dependency(later.path, earlier.path, kind, reason, line=line))
        for key in use.creates:
            creators.setdefault(_token(key), []).append(position)
        for name in names:
            namers.setdefault(name, []).append(position)
        for key in use.writes:
            writers.setdefault(key, []).append(position)
    return edges


def _edge(
    use: SchemaUse, earlier: MigrationFile, before: SchemaUse
) -> tuple[str, int | None] | None:
    """Why a migration using ``use`` comes after ``earlier``, and the line: None if free."""
    for key in sorted(before.creates, key=_key_order):
        if key in use.creates and key[0] != "enum_value":
            continue  # both create it (IF NOT EXISTS): no order between them
        if names_object(use, key):
            verb = "drops or alters" if key in use.drops else "uses"
            why = f"{verb} the {describe(key)}, which migration {earlier.revision} creates"
            return why, use.touches.get(key)
    for key in sorted(use.drops, key=_key_order):
        if key not in before.creates and names_object(before, key):
            return (
                f"drops or alters the {describe(key)}, which migration {earlier.revision} "
                "(earlier in upgrade order) still uses",
                use.drops[key],
            )
    for key in sorted(use.writes, key=_key_order):
        if key in before.writes:
            # Two data changes to one table: swapping them changes the rows that remain
            # (a DELETE then an INSERT of the same row is not an INSERT then a DELETE).
            return (
                f"changes rows of the {describe(key)}, which migration {earlier.revision} "
                "(earlier in upgrade order) changes too: their data changes keep their order",
                use.writes[key],
            )
    return None
