"""Database operations of a revision file, read from its ``ast`` (never executed).

Every ``op.<name>(...)`` call of ``upgrade()`` and ``downgrade()`` becomes an
:class:`Operation`, as do the calls of module-level helper functions they call
(one level deep), ``batch_alter_table`` blocks and ``execute`` on the
connection of ``op.get_bind()``. Literal SQL is classified by
:mod:`stager.migrations.sql`; SQL built at run time is *opaque* (``sql``
None), which :func:`classify_kind` treats as a data change.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from stager.migrations.model import MigrationKind, Operation
from stager.migrations.sql import UNPARSABLE, parse_statements, statement_kinds

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


@dataclass(frozen=True)
class _Spec:
    """Where an ``op.<name>`` call keeps its table and columns.

    Positions are those of ``op``; on a ``batch_op`` receiver the table
    argument is absent, so every later position shifts down by one.
    """

    table: int | None = 0
    table_kw: str = "table_name"
    columns: int | None = None
    columns_kw: str = ""
    columns_form: str = "name"  # name | names | object | objects
    named: bool = False  # first argument is an index/constraint name


_SPECS: dict[str, _Spec] = {
    "create_table": _Spec(columns=1, columns_form="objects"),
    "drop_table": _Spec(),
    "rename_table": _Spec(table_kw="old_table_name"),
    "add_column": _Spec(columns=1, columns_kw="column", columns_form="object"),
    "drop_column": _Spec(columns=1, columns_kw="column_name"),
    "alter_column": _Spec(columns=1, columns_kw="column_name"),
    "create_index": _Spec(
        table=1, columns=2, columns_kw="columns", columns_form="names", named=True
    ),
    "drop_index": _Spec(table=1, named=True),
    "create_foreign_key": _Spec(
        table=1,
        table_kw="source_table",
        columns=3,
        columns_kw="local_cols",
        columns_form="names",
        named=True,
    ),
    "create_unique_constraint": _Spec(
        table=1, columns=2, columns_kw="columns", columns_form="names", named=True
    ),
    "create_primary_key": _Spec(
        table=1, columns=2, columns_kw="columns", columns_form="names", named=True
    ),
    "create_check_constraint": _Spec(table=1, named=True),
    "create_exclude_constraint": _Spec(table=1, named=True),
    "drop_constraint": _Spec(table=1, named=True),
    "execute": _Spec(table=None),
}
_DEFAULT_SPEC = _Spec()

# Keyword arguments worth keeping (as source text) for later risk rules.
_DETAIL_KEYWORDS = frozenset(
    {
        "nullable",
        "type_",
        "server_default",
        "new_column_name",
        "existing_type",
        "existing_nullable",
        "existing_server_default",
        "postgresql_using",
        "unique",
        "postgresql_concurrently",
        "postgresql_not_valid",
        "schema",
        "referent_table",
        "new_table_name",
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

_TEXT_WRAPPERS = frozenset({"text", "DDL"})
_FILTERS = frozenset({"where", "filter", "filter_by"})
_ENUM_TYPES = frozenset({"Enum", "ENUM"})
# Keywords of an added sa.Column that change what ADD COLUMN costs or checks.
_COLUMN_KEYWORDS = frozenset(
    {"nullable", "server_default", "primary_key", "unique", "type_", "server_onupdate"}
)
_TEXT_MODIFIERS = frozenset({"bindparams", "execution_options", "columns"})
_DML_BUILDERS = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE"}
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


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _root_name(node: ast.expr) -> str | None:
    """``session`` for ``session.query(X).filter(...).update``."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _name_of(func: ast.expr) -> str | None:
    """``text`` for ``text``, ``sa.text`` and ``sqlalchemy.sql.text``."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def literal_sql(node: ast.expr) -> str | None:
    """The SQL text of ``node`` when it is written literally, else None (opaque).

    Literal: a string constant, adjacent or ``+``-joined constants, an f-string
    without placeholders, and those wrapped in ``text(...)``/``sa.text(...)``.
    Variables, ``%``, ``.format`` and f-strings with placeholders are opaque.
    """
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        parts = [_string(value) for value in node.values]
        return None if any(part is None for part in parts) else "".join(p or "" for p in parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_sql(node.left), literal_sql(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Call):
        name = _name_of(node.func)
        if name in _TEXT_WRAPPERS and node.args:
            return literal_sql(node.args[0])
        if name in _TEXT_MODIFIERS and isinstance(node.func, ast.Attribute):
            return literal_sql(node.func.value)
    return None


def _builder_statement(node: ast.expr) -> str | None:
    """``INSERT`` for ``table.insert().values(...)`` or ``sa.insert(t)``; None otherwise."""
    while isinstance(node, ast.Call):
        name = _name_of(node.func)
        if name in _DML_BUILDERS:
            return _DML_BUILDERS[name]
        if not isinstance(node.func, ast.Attribute):
            return None
        node = node.func.value
    return None


def _table_name(node: ast.expr | None, tables: dict[str, str]) -> str | None:
    """A table name: a string, ``sa.table("t")``/``Table("t")``, or a name bound to one."""
    if node is None:
        return None
    text = _string(node)
    if text is not None:
        return text
    if isinstance(node, ast.Call) and _name_of(node.func) in {"table", "Table"} and node.args:
        return _string(node.args[0])
    if isinstance(node, ast.Name):
        return tables.get(node.id)
    return None


def _column_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call) and _name_of(node.func) in {"Column", "column"} and node.args:
        return _string(node.args[0])
    return None


def _unwrap_f(node: ast.expr) -> ast.expr:
    """``op.f("ix_name")`` names an index exactly as written: read through it."""
    if isinstance(node, ast.Call) and _name_of(node.func) == "f" and node.args:
        return node.args[0]
    return node


def _argument(call: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    if position is not None and position < len(call.args):
        argument = call.args[position]
        return None if isinstance(argument, ast.Starred) else argument
    for kw in call.keywords:
        if kw.arg == keyword and keyword:
            return kw.value
    return None


def _columns(call: ast.Call, spec: _Spec, position: int | None) -> tuple[str, ...]:
    if position is None:
        return ()
    if spec.columns_form == "objects":
        names = (_column_name(arg) for arg in call.args[position:])
        return tuple(name for name in names if name)
    node = _argument(call, position, spec.columns_kw)
    if node is None:
        return ()
    if spec.columns_form == "object":
        name = _column_name(node)
        return (name,) if name else ()
    if spec.columns_form == "names" and isinstance(node, ast.List | ast.Tuple):
        strings = (_string(element) for element in node.elts)
        return tuple(s for s in strings if s is not None)
    name = _string(node)
    return (name,) if name is not None else ()


def _details(call: ast.Call, spec: _Spec, batch: bool) -> dict[str, str]:
    details: dict[str, str] = {}
    if batch:
        details["batch"] = "true"
    if spec.named and call.args:
        name = _string(_unwrap_f(call.args[0]))
        if name is not None:
            details["name"] = name
    for kw in call.keywords:
        if kw.arg in _DETAIL_KEYWORDS:
            value = kw.value
            if isinstance(value, ast.Constant):
                details[kw.arg] = value.value if isinstance(value.value, str) else repr(value.value)
            else:
                details[kw.arg] = ast.unparse(value)
    return details


def _with_sql(operation_details: dict[str, str], sql: str | None, node: ast.expr | None) -> None:
    """Record the statement kinds of an ``execute``: from its SQL, or from a SQL builder."""
    if sql is not None:
        operation_details["statements"] = ",".join(statement_kinds(sql))
    elif node is not None:
        statement = _builder_statement(node)
        if statement:
            operation_details["statements"] = statement
            if statement in {"UPDATE", "DELETE"}:
                operation_details["where"] = "true" if _builder_filters(node) else "false"


def _sql_target(sql: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The one table (and its columns) literal SQL changes, for the JSON; None when several."""
    if sql is None:
        return None, ()
    statements = parse_statements(sql)  # parsed (and cached) for the statement kinds already
    tables = {statement.table for statement in statements if statement.table}
    if len(tables) != 1:
        return None, ()
    columns = (column for statement in statements for column in statement.columns)
    return tables.pop(), tuple(dict.fromkeys(columns))


def _builder_filters(node: ast.expr) -> bool:
    """True when a builder chain (``t.update().where(...)``) restricts its rows."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in _FILTERS:
            return True
        node = node.func.value
    return False


def _end(call: ast.expr) -> int:
    return call.end_lineno or call.lineno


def _strings_in(node: ast.AST | None) -> frozenset[str]:
    """String constants anywhere below ``node`` (rows, ``.values(...)``, bind parameters)."""
    if node is None or isinstance(node, ast.Constant):
        return frozenset()
    return frozenset(
        child.value
        for child in ast.walk(node)
        if isinstance(child, ast.Constant) and isinstance(child.value, str)
    )


def _call_literals(call: ast.Call, statement: ast.expr | None) -> frozenset[str]:
    """Values an ``execute`` passes besides plain literal SQL (builders, bind parameters)."""
    if isinstance(statement, ast.Constant | ast.JoinedStr | ast.BinOp) and len(call.args) < 2:
        return frozenset()
    return _strings_in(call)


def enum_type(node: ast.expr) -> tuple[str | None, tuple[str, ...]] | None:
    """``(name, values)`` of ``sa.Enum("a", "b", name="t")``/``postgresql.ENUM(...)``, else None."""
    if not (isinstance(node, ast.Call) and _name_of(node.func) in _ENUM_TYPES):
        return None
    name = None
    for keyword in node.keywords:
        if keyword.arg == "name":
            name = _string(keyword.value)
        elif (
            keyword.arg == "create_type"
            and isinstance(keyword.value, ast.Constant)
            and keyword.value.value is False
        ):
            return None  # the type exists already: nothing is created
    values = tuple(value for value in (_string(arg) for arg in node.args) if value is not None)
    return name, values


def _column_details(node: ast.expr | None, details: dict[str, str]) -> None:
    """What the database sees of an added ``sa.Column(...)``: type, NOT NULL, default, keys."""
    if not (isinstance(node, ast.Call) and _name_of(node.func) in {"Column", "column"}):
        return
    for position, argument in enumerate(node.args[1:], start=1):
        called = _name_of(argument.func) if isinstance(argument, ast.Call) else None
        if called == "ForeignKey":
            details["foreign_key"] = "True"
        elif called in {"Identity", "Computed"}:
            details[called.lower()] = ast.unparse(argument)
        elif position == 1:
            details["type_"] = ast.unparse(argument)
            enum = enum_type(argument)
            if enum is not None and enum[0]:
                details["enums"] = enum[0]
    for keyword in node.keywords:
        if keyword.arg in _COLUMN_KEYWORDS:
            value = keyword.value
            if isinstance(value, ast.Constant):
                text = value.value if isinstance(value.value, str) else repr(value.value)
            else:
                text = ast.unparse(value)
            details["type_" if keyword.arg == "type_" else keyword.arg] = text


def _table_enums(call: ast.Call) -> str | None:
    """Enum types ``create_table`` creates with its columns, comma-separated."""
    names = []
    for argument in call.args[1:]:
        if isinstance(argument, ast.Call) and len(argument.args) > 1:
            enum = enum_type(argument.args[1])
            if enum is not None and enum[0]:
                names.append(enum[0])
    return ",".join(names) or None


def _referenced_tables(call: ast.Call) -> str | None:
    """The tables ``create_table``'s foreign keys point at (``ForeignKey("users.id")``).

    Creating the table takes a SHARE ROW EXCLUSIVE lock on each of them.
    """
    names: list[str] = []
    for node in ast.walk(call):
        if not (isinstance(node, ast.Call) and _name_of(node.func) in _FOREIGN_KEYS):
            continue
        targets = node.args[0] if _name_of(node.func) == "ForeignKey" else None
        if _name_of(node.func) == "ForeignKeyConstraint" and len(node.args) > 1:
            targets = node.args[1]
        items = targets.elts if isinstance(targets, ast.List | ast.Tuple) else [targets]
        for item in items:
            text = _string(item) if item is not None else None
            if text and "." in text:
                names.append(text.rsplit(".", 1)[0])
    return ",".join(dict.fromkeys(names)) or None


_FOREIGN_KEYS = frozenset({"ForeignKey", "ForeignKeyConstraint"})


class _Extractor:
    """Walks one top-level function in source order, entering helper calls once."""

    def __init__(
        self,
        function: str,
        receivers: frozenset[str],
        helpers: dict[str, ast.FunctionDef],
        tables: dict[str, str],
        enums: dict[str, tuple[str | None, tuple[str, ...]]] | None = None,
    ) -> None:
        self.function = function
        self.receivers = receivers
        self.helpers = helpers
        self.tables = tables
        self.enums = dict(enums or {})  # names bound to sa.Enum(...)/postgresql.ENUM(...)
        self.operations: list[Operation] = []
        self.entered: set[str] = set()
        self.uses_globals = False  # alembic's multidb template dispatches through globals()
        self.autocommit = 0  # depth of `with op.get_context().autocommit_block():`

    def _flags(self, details: dict[str, str]) -> dict[str, str]:
        if self.autocommit:
            # Runs outside the migration's transaction: rules about
            # transactions (CONCURRENTLY, enum values) depend on it.
            details["autocommit"] = "true"
        return details

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
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets: list[ast.expr] = (
                node.targets if isinstance(node, ast.Assign) else [node.target]
            )
            self._bind(targets, node.value, binds, sessions)
        elif isinstance(node, ast.With):
            if any(
                isinstance(item.context_expr, ast.Call)
                and _name_of(item.context_expr.func) == "autocommit_block"
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
                        table = _table_name(_argument(expr, 0, "table_name"), self.tables)
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
        if self._is_bind(value):
            binds.update(names)
            return
        enum = enum_type(value)
        if enum is not None:
            self.enums.update(dict.fromkeys(names, enum))
        elif isinstance(value, ast.Call):
            called = _name_of(value.func) or ""
            inner = value.func if isinstance(value.func, ast.Call) else None
            if called.endswith("Session") or (
                inner is not None and _name_of(inner.func) == "sessionmaker"
            ):
                sessions.update(names)
            table = _table_name(value, {})
            if table is not None and called in {"table", "Table"}:
                self.tables.update(dict.fromkeys(names, table))
            elif (
                called == "create_table"
                and isinstance(value.func, ast.Attribute)
                and self._is_op(value.func.value)
                and value.args
            ):
                # `t = op.create_table("t", ...)` returns the Table bulk_insert fills
                created = _string(value.args[0])
                if created is not None:
                    self.tables.update(dict.fromkeys(names, created))

    def _is_op(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.receivers

    def _is_bind(self, node: ast.expr) -> bool:
        """``op.get_bind()`` or ``op.get_context().bind``/``.connection``."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
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
            details = {"name": type_name} if type_name else {}
            if values:
                details["values"] = ",".join(values)
            self.operations.append(
                Operation(
                    f"{name}_enum",
                    self.function,
                    call.lineno,
                    details=self._flags(details),
                    end_line=_end(call),
                )
            )
        elif self._is_op(receiver) and name not in _NOT_OPERATIONS:
            self._op(call, name, _SPECS.get(name, _DEFAULT_SPEC), None, batch=False)
        elif isinstance(receiver, ast.Name) and receiver.id in batches:
            self._op(call, name, _SPECS.get(name, _DEFAULT_SPEC), batches[receiver.id], batch=True)
        elif name == "autocommit_block":
            self.operations.append(Operation(name, self.function, call.lineno, end_line=_end(call)))
        elif name in {"execute", "exec_driver_sql"} and (
            self._is_bind(receiver) or (isinstance(receiver, ast.Name) and receiver.id in binds)
        ):
            self._execute(call, "connection")
        elif _root_name(func) in sessions:
            if name == "execute" and isinstance(receiver, ast.Name):
                self._execute(call, "session")
            elif name in _ORM_WRITES or (name in {"update", "delete"} and receiver != func):
                self.operations.append(
                    Operation(
                        "orm",
                        self.function,
                        call.lineno,
                        details=self._flags({"method": name}),
                        literals=_strings_in(call),
                        end_line=_end(call),
                    )
                )
            else:
                return False
        else:
            return False
        return True

    def _execute(self, call: ast.Call, receiver: str) -> None:
        node = _argument(call, 0, "statement")
        sql = literal_sql(node) if node is not None else None
        details = self._flags({"receiver": receiver})
        _with_sql(details, sql, node)
        table, columns = _sql_target(sql)
        self.operations.append(
            Operation(
                "execute",
                self.function,
                call.lineno,
                table=table,
                columns=columns,
                sql=sql,
                details=details,
                literals=_call_literals(call, node),
                end_line=_end(call),
            )
        )

    def _enum_of(self, node: ast.expr) -> tuple[str | None, tuple[str, ...]] | None:
        if isinstance(node, ast.Name):
            return self.enums.get(node.id)
        return enum_type(node)

    def _op(
        self, call: ast.Call, name: str, spec: _Spec, batch_table: str | None, *, batch: bool
    ) -> None:
        details = self._flags(_details(call, spec, batch))
        if name == "execute":
            node = _argument(call, 0, "sqltext")
            sql = literal_sql(node) if node is not None else None
            _with_sql(details, sql, node)
            table, columns = _sql_target(sql)
            self.operations.append(
                Operation(
                    name,
                    self.function,
                    call.lineno,
                    table=batch_table or table,
                    columns=columns if table == (batch_table or table) else (),
                    sql=sql,
                    details=details,
                    literals=_call_literals(call, node),
                    end_line=_end(call),
                )
            )
            return
        if batch:
            table = batch_table
            columns_at = None if spec.columns is None else spec.columns - 1
        else:
            table = _table_name(_argument(call, spec.table, spec.table_kw), self.tables)
            columns_at = spec.columns
        literals: frozenset[str] = frozenset()
        if name == "rename_table":
            new = _string(_argument(call, 1, "new_table_name"))
            if new is not None:
                details["new_table_name"] = new
        elif name == "add_column":
            _column_details(_argument(call, columns_at, "column"), details)
        elif name == "create_table":
            enums = _table_enums(call)
            if enums:
                details["enums"] = enums
            references = _referenced_tables(call)
            if references:
                details["references"] = references
        elif name == "bulk_insert":
            literals = _strings_in(_argument(call, 1, "rows"))
        self.operations.append(
            Operation(
                name,
                self.function,
                call.lineno,
                table=table,
                columns=_columns(call, spec, columns_at),
                details=details,
                literals=literals,
                end_line=_end(call),
            )
        )


_Enums = dict[str, tuple[str | None, tuple[str, ...]]]


def _module_names(module: ast.Module) -> tuple[frozenset[str], dict[str, str], _Enums]:
    """Names ``op`` is imported as, and module-level names bound to tables and enum types."""
    receivers = {"op"}
    tables: dict[str, str] = {}
    enums: _Enums = {}
    for statement in module.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "alembic":
            receivers.update(
                alias.asname or alias.name for alias in statement.names if alias.name == "op"
            )
        elif isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            names = [target.id for target in statement.targets if isinstance(target, ast.Name)]
            table = _table_name(statement.value, {})
            if table is not None:
                tables.update(dict.fromkeys(names, table))
            enum = enum_type(statement.value)
            if enum is not None:
                enums.update(dict.fromkeys(names, enum))
    return frozenset(receivers), tables, enums


def _functions(module: ast.Module) -> dict[str, ast.FunctionDef]:
    return {
        statement.name: statement
        for statement in module.body
        if isinstance(statement, ast.FunctionDef)
    }


def extract_operations(tree: ast.Module) -> tuple[Operation, ...]:
    """Every operation of ``upgrade()`` then ``downgrade()``, each in source order."""
    receivers, tables, enums = _module_names(tree)
    defs = _functions(tree)
    helpers = {name: node for name, node in defs.items() if name not in FUNCTIONS}
    operations: list[Operation] = []
    for function in FUNCTIONS:
        main = defs.get(function)
        if main is None:
            continue
        extractor = _Extractor(function, receivers, helpers, dict(tables), enums)
        extractor.run(main.body, 0)
        if extractor.uses_globals:
            # multidb template: upgrade(engine) calls globals()[f"upgrade_{engine}"]()
            for name, definition in defs.items():
                if name.startswith(function + "_"):
                    extractor.run(definition.body, 0)
        operations.extend(extractor.operations)
    return tuple(operations)


# Kind ranks: a migration is as risky as its riskiest operation.
_RANK = {
    MigrationKind.EMPTY: 0,
    MigrationKind.ADDITIVE: 1,
    MigrationKind.REFERENCE_DATA: 2,
    MigrationKind.DATA: 3,
    MigrationKind.DESTRUCTIVE: 4,
}
_DESTRUCTIVE_OPS = frozenset({"drop_table", "drop_column"})
_CONTAINERS = frozenset({"batch_alter_table", "autocommit_block"})
_DESTRUCTIVE_SQL = frozenset({"DROP TABLE", "ALTER TABLE DROP COLUMN"})
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
    if operation.name == "bulk_insert":
        return MigrationKind.REFERENCE_DATA
    if operation.name == "orm":
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
    # create/add/alter/rename/index/constraint: schema changes that keep every
    # row and column; the per-operation rules (locks, renames) judge them further.
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
