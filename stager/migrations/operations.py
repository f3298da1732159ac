"""Database operations of a revision file, read from its ``ast`` (never executed).

Every ``op.<name>(...)`` call of ``upgrade()`` and ``downgrade()`` becomes an
:class:`Operation`, as do the calls of module-level helper functions they call
(one level deep), ``batch_alter_table`` blocks and ``execute`` on the
connection of ``op.get_bind()``. Literal SQL is classified by
:mod:`stager.migrations.sql`; SQL built at run time is *opaque* (``sql``
None), which :mod:`~stager.migrations.actions` treats as a data change.

This module walks the code; what a call's arguments name is read by
:mod:`~stager.migrations.op_arguments`, the SQL an ``execute`` runs by
:mod:`~stager.migrations.executed_sql`, and the migration's kind is decided by
:mod:`~stager.migrations.kinds`.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from stager.migrations.executed_sql import (
    builder_statement,
    builder_table,
    call_literals,
    executed_statements,
    literal_sql,
    sql_target,
)
from stager.migrations.op_arguments import (
    DEFAULT_SPEC,
    SPECS,
    call_argument,
    column_details,
    column_enum,
    column_names,
    enum_type,
    keyword_details,
    last_line,
    name_of,
    referenced_tables,
    root_name,
    string_constant,
    strings_in,
    table_enums,
    table_name,
)
from stager.migrations.revision_files import Operation, OperationDetails, Receiver

# Callers import these from here; they live with the code they belong to.
__all__ = [
    "FUNCTIONS",
    "KNOWN_MODULES",
    "callee",
    "extract_operations",
    "foreign_imports",
    "literal_sql",
]

FUNCTIONS = ("upgrade", "downgrade")

# op.* attributes that are helpers, not database operations.
_NOT_OPERATIONS = frozenset(
    {
        "f",
        "get_bind",
        "get_context",
        "inline_literal",
        "implementation_for",
        "invoke",
        "register_operation",
        "run_async",
    }
)


# Nodes that never contain a call: not worth a recursive visit.
_LEAVES = (
    ast.Constant,
    ast.Name,
    ast.expr_context,
    ast.operator,
    ast.boolop,
    ast.cmpop,
    ast.unaryop,
    ast.alias,
    ast.Pass,
    ast.Import,
    ast.ImportFrom,
)


# Modules whose functions stager knows are no migration step of their own.
KNOWN_MODULES = frozenset({"alembic", "sqlalchemy", "__future__"}) | frozenset(
    sys.stdlib_module_names
)


def callee(func: ast.expr) -> tuple[str, str] | None:
    """(root name, dotted name) of ``f(...)`` or ``helpers.f(...)``."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    return func.id, ".".join([func.id, *reversed(parts)])


# Calls on a connection that give a connection (or a transaction used as one).
_CONNECTION_CALLS = frozenset({"begin", "begin_nested", "connect", "execution_options"})

_ORM_WRITES = frozenset(
    {
        "add",
        "add_all",
        "delete",
        "merge",
        "bulk_save_objects",
        "bulk_insert_mappings",
        "bulk_update_mappings",
    }
)


class _Extractor:
    """Walks one top-level function in source order, entering helper calls once."""

    def __init__(
        self,
        function: str,
        receivers: frozenset[str],
        helpers: dict[str, ast.FunctionDef],
        names: _Names,
        foreign: dict[str, str],
    ) -> None:
        self.function = function
        self.receivers = receivers
        self.helpers = helpers
        self.names = names.copy()  # the module's names, and those the function binds
        self.foreign = foreign  # names imported from modules stager does not know
        self.built: dict[str, ast.expr] = {}  # names bound to SQLAlchemy builder statements
        self.operations: list[Operation] = []
        self.entered: set[str] = set()
        self.uses_globals = False  # alembic's multidb template dispatches through globals()
        self.autocommit = 0  # depth of `with op.get_context().autocommit_block():`
        # `obj.attr = ...` seen since the last ORM write: a session's flush or commit writes it
        self.attribute_changes = False

    def _add(
        self,
        name: str,
        call: ast.Call,
        details: OperationDetails,
        *,
        table: str | None = None,
        columns: tuple[str, ...] = (),
        sql: str | None = None,
        literals: frozenset[str] = frozenset(),
    ) -> None:
        """Record ``call`` as the operation ``name``."""
        if self.autocommit:
            # Inside autocommit_block it runs outside the migration's transaction:
            # rules about transactions (CONCURRENTLY, enum values) depend on it.
            details = details._replace(autocommit=True)
        self.operations.append(
            Operation(
                name,
                self.function,
                call.lineno,
                table,
                columns,
                sql,
                details,
                literals,
                last_line(call),
            )
        )

    def run(self, body: Iterable[ast.stmt], depth: int) -> None:
        batches: dict[str, str | None] = {}
        binds: set[str] = set()
        sessions: set[str] = set()
        for statement in body:
            self._visit(statement, depth, batches, binds, sessions)

    def _visit(
        self,
        node: ast.AST,
        depth: int,
        batches: dict[str, str | None],
        binds: set[str],
        sessions: set[str],
    ) -> None:
        if isinstance(node, ast.Expr | ast.Assign) and isinstance(node.value, ast.Call):
            self._foreign_step(node.value)
        if isinstance(node, ast.Assign | ast.AugAssign) and any(
            isinstance(target, ast.Attribute)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        ):
            self.attribute_changes = True
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets: list[ast.expr] = (
                node.targets if isinstance(node, ast.Assign) else [node.target]
            )
            self._bind(targets, node.value, binds, sessions)
        elif isinstance(node, ast.With):
            if any(
                isinstance(item.context_expr, ast.Call)
                and name_of(item.context_expr.func) == "autocommit_block"
                for item in node.items
            ):
                for item in node.items:
                    self._visit(item.context_expr, depth, batches, binds, sessions)
                self.autocommit += 1
                try:
                    for statement in node.body:
                        self._visit(statement, depth, batches, binds, sessions)
                finally:
                    self.autocommit -= 1
                return
            for item in node.items:
                if item.optional_vars is not None:
                    self._bind([item.optional_vars], item.context_expr, binds, sessions)
                    expr, alias = item.context_expr, item.optional_vars
                    if (
                        isinstance(expr, ast.Call)
                        and self._is_batch(expr)
                        and isinstance(alias, ast.Name)
                    ):
                        # batch_op.<name>(...) inside the block acts on the batch's table
                        table = table_name(call_argument(expr, 0, "table_name"), self.names.tables)
                        batches = {**batches, alias.id: table}
        elif isinstance(node, ast.Call) and self._call(node, depth, batches, binds, sessions):
            # An operation's arguments (columns, types, rows) hold no further
            # operations; not walking them is most of the speed of this module.
            return
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _LEAVES):
                self._visit(child, depth, batches, binds, sessions)

    def _bind(
        self, targets: list[ast.expr], value: ast.expr, binds: set[str], sessions: set[str]
    ) -> None:
        names = {target.id for target in targets if isinstance(target, ast.Name)}
        if self._is_bind(value, binds):
            binds.update(names)
            return
        if builder_statement(value) is not None:
            # `stmt = t.update().values(...)`, run by a later `op.execute(stmt)`
            self.built.update(dict.fromkeys(names, value))
        self.names.bind(names, value)
        text = literal_sql(value, self.names.constants)
        if text is not None and len(names) == len(targets):
            # `query = text("UPDATE ...")`, run by a later `conn.execute(query, ...)`
            self.names.constants.update(dict.fromkeys(names, text))
        if not isinstance(value, ast.Call):
            return
        called = name_of(value.func) or ""
        inner = value.func if isinstance(value.func, ast.Call) else None
        if called.endswith("Session") or (
            inner is not None and name_of(inner.func) == "sessionmaker"
        ):
            sessions.update(names)
        if (
            called == "create_table"
            and isinstance(value.func, ast.Attribute)
            and self._is_op(value.func.value)
            and value.args
        ):
            # `t = op.create_table("t", ...)` returns the Table bulk_insert fills
            created = string_constant(value.args[0])
            if created is not None:
                self.names.tables.update(dict.fromkeys(names, created))

    def _foreign_step(self, call: ast.Call) -> None:
        """A step calling an imported helper (``add_timestamps("t")``): opaque, like built SQL.

        stager never follows imports, so the helper may change anything; the
        ``call`` operation makes the migration a data change instead of empty.
        """
        called = callee(call.func)
        if called is None or called[0] not in self.foreign or called[0] in self.receivers:
            return
        root, dotted = called
        self._add("call", call, OperationDetails(function=dotted, module=self.foreign[root]))

    def _is_op(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.receivers

    def _is_bind(self, node: ast.expr, binds: set[str] | None = None) -> bool:
        """``op.get_bind()`` or ``op.get_context().bind``/``.connection``.

        A connection made from one (``bind.execution_options(...)``,
        ``op.get_bind().begin()``) runs statements on the same database.
        """
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in _CONNECTION_CALLS:
                source = node.func.value
                return self._is_bind(source, binds) or (
                    isinstance(source, ast.Name) and source.id in (binds or set())
                )
            return node.func.attr == "get_bind" and self._is_op(node.func.value)
        if isinstance(node, ast.Attribute) and node.attr in {"bind", "connection"}:
            inner = node.value
            return (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and inner.func.attr == "get_context"
                and self._is_op(inner.func.value)
            )
        return False

    def _is_batch(self, node: ast.Call) -> bool:
        return (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "batch_alter_table"
            and self._is_op(node.func.value)
        )

    def _call(
        self,
        call: ast.Call,
        depth: int,
        batches: dict[str, str | None],
        binds: set[str],
        sessions: set[str],
    ) -> bool:
        """Record the operation ``call`` is, if any; True when it was one."""
        func = call.func
        if isinstance(func, ast.Name):
            if func.id == "globals":
                self.uses_globals = True
            helper = self.helpers.get(func.id)
            if helper is not None and depth == 0 and func.id not in self.entered:
                self.entered.add(func.id)
                self.run(helper.body, depth + 1)
            return False
        if not isinstance(func, ast.Attribute):
            return False
        receiver, name = func.value, func.attr
        if name in {"create", "drop"} and self._enum_of(receiver) is not None:
            type_name, values = self._enum_of(receiver) or (None, ())
            self._add(f"{name}_enum", call, OperationDetails(name=type_name or None, values=values))
        elif self._is_op(receiver) and name not in _NOT_OPERATIONS:
            self._op(call, name, None, batch=False)
        elif isinstance(receiver, ast.Name) and receiver.id in batches:
            self._op(call, name, batches[receiver.id], batch=True)
        elif name == "autocommit_block":
            self.operations.append(
                Operation(name, self.function, call.lineno, end_line=last_line(call))
            )
        elif name in {"execute", "exec_driver_sql"} and (
            self._is_bind(receiver, binds)
            or (isinstance(receiver, ast.Name) and receiver.id in binds)
        ):
            self._execute(call, "statement", OperationDetails(receiver=Receiver.CONNECTION))
        elif root_name(func) in sessions:
            if name == "execute" and isinstance(receiver, ast.Name):
                self._execute(call, "statement", OperationDetails(receiver=Receiver.SESSION))
            elif name in _ORM_WRITES or (name in {"update", "delete"} and receiver != func):
                self._add("orm", call, OperationDetails(method=name), literals=strings_in(call))
                self.attribute_changes = False
            elif name in {"flush", "commit"} and self.attribute_changes:
                # objects loaded, attributes changed, then flushed: an ORM backfill
                self._add("orm", call, OperationDetails(method=name))
                self.attribute_changes = False
            else:
                return False
        else:
            return False
        return True

    def _execute(
        self,
        call: ast.Call,
        keyword: str,
        details: OperationDetails,
        batch_table: str | None = None,
    ) -> None:
        """An ``execute``: the SQL it runs, written literally or built with SQLAlchemy."""
        node = call_argument(call, 0, keyword)
        built: frozenset[str] = frozenset()
        if isinstance(node, ast.Name) and node.id in self.built:
            # a builder bound to a name earlier, and the values it writes (`.values(role="owner")`)
            node = self.built[node.id]
            built = strings_in(node)
        sql = literal_sql(node, self.names.constants) if node is not None else None
        statements, where = executed_statements(sql, node)
        table, columns = sql_target(sql)
        if table is None and sql is None and node is not None:
            table = builder_table(node, self.names.tables)
        self._add(
            "execute",
            call,
            details._replace(statements=statements, where=where),
            table=batch_table or table,
            columns=columns if table == (batch_table or table) else (),
            sql=sql,
            literals=call_literals(call, node) | built,
        )

    def _enum_of(self, node: ast.expr) -> tuple[str | None, tuple[str, ...]] | None:
        if isinstance(node, ast.Name):
            return self.names.enums.get(node.id)
        return enum_type(node)

    def _op(self, call: ast.Call, name: str, batch_table: str | None, *, batch: bool) -> None:
        spec = SPECS.get(name, DEFAULT_SPEC)
        details = keyword_details(call, spec, batch)
        if name == "execute":
            self._execute(call, "sqltext", details, batch_table)
            return
        if batch:
            table = batch_table
            columns_at = None if spec.columns is None else spec.columns - 1
        else:
            table = table_name(call_argument(call, spec.table, spec.table_kw), self.names.tables)
            columns_at = spec.columns
        literals: frozenset[str] = frozenset()
        if name == "rename_table":
            new = string_constant(call_argument(call, 1, "new_table_name"))
            if new is not None:
                details = details._replace(new_table_name=new)
        elif name == "add_column":
            column = call_argument(call, columns_at, "column")
            details = column_details(column, details, self.names.type_names)
        elif name == "create_table":
            details = details._replace(
                enums=table_enums(call, self.names.type_names),
                references=referenced_tables(call),
            )
        elif name == "bulk_insert":
            literals = strings_in(call_argument(call, 1, "rows"))
        self._add(
            name,
            call,
            details,
            table=table,
            columns=column_names(call, spec, columns_at),
            literals=literals,
        )


@dataclass
class _Names:
    """Names bound to tables and enum types, at module level or in a function."""

    tables: dict[str, str] = field(default_factory=dict)
    enums: dict[str, tuple[str | None, tuple[str, ...]]] = field(default_factory=dict)
    # The type name of every enum-bound name, ``create_type=False`` ones included
    # (autogenerate declares ``postgresql.ENUM`` columns that way).
    type_names: dict[str, str] = field(default_factory=dict)
    # Module-level string constants (``TABLE = "orders"``) an f-string, % or .format fills in.
    constants: dict[str, str] = field(default_factory=dict)

    def bind(self, names: Collection[str], value: ast.expr) -> None:
        """``names`` are assigned ``value``: ``sa.table("t")``, ``sa.Enum(...)``, ..."""
        for name in names:
            self.constants.pop(name, None)  # rebound: no longer the module's constant
        if not isinstance(value, ast.Call):
            return
        table = table_name(value, {})
        if table is not None:
            self.tables.update(dict.fromkeys(names, table))
        enum = enum_type(value)
        if enum is not None:
            self.enums.update(dict.fromkeys(names, enum))
        type_name = column_enum(value, {})
        if type_name:
            self.type_names.update(dict.fromkeys(names, type_name))

    def copy(self) -> _Names:
        return _Names(
            dict(self.tables), dict(self.enums), dict(self.type_names), dict(self.constants)
        )


def foreign_imports(module: ast.Module) -> dict[str, str]:
    """Local name → the module it was imported from, for modules stager does not know."""
    names: dict[str, str] = {}
    for node in module.body:
        if isinstance(node, ast.ImportFrom):
            origin = "." * node.level + (node.module or "")
            if node.level or (node.module or "").split(".")[0] not in KNOWN_MODULES:
                for alias in node.names:
                    names[alias.asname or alias.name] = origin
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top not in KNOWN_MODULES:
                    names[alias.asname or top] = alias.name if alias.asname else top
    return names


def _module_names(module: ast.Module) -> tuple[frozenset[str], _Names]:
    """Names ``op`` is imported as, and module-level names bound to tables and enum types."""
    receivers = {"op"}
    names = _Names()
    for statement in module.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "alembic":
            receivers.update(
                alias.asname or alias.name for alias in statement.names if alias.name == "op"
            )
        elif isinstance(statement, ast.Assign):
            targets = [target.id for target in statement.targets if isinstance(target, ast.Name)]
            names.bind(targets, statement.value)
            text = literal_sql(statement.value, names.constants)
            if text is not None and len(targets) == len(statement.targets):
                names.constants.update(dict.fromkeys(targets, text))
    return frozenset(receivers), names


def extract_operations(tree: ast.Module) -> tuple[Operation, ...]:
    """Every operation of ``upgrade()`` then ``downgrade()``, each in source order."""
    receivers, names = _module_names(tree)
    foreign = foreign_imports(tree)
    defs = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    helpers = {name: node for name, node in defs.items() if name not in FUNCTIONS}
    operations: list[Operation] = []
    for function in FUNCTIONS:
        main = defs.get(function)
        if main is None:
            continue
        extractor = _Extractor(function, receivers, helpers, names, foreign)
        extractor.run(main.body, 0)
        if extractor.uses_globals:
            # multidb template: upgrade(engine) calls globals()[f"upgrade_{engine}"]()
            for name, definition in defs.items():
                if name.startswith(function + "_"):
                    extractor.run(definition.body, 0)
        operations.extend(extractor.operations)
    return tuple(operations)
