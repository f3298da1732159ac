"""The SQL an ``execute`` call runs, as far as the source shows it.

Literal SQL (strings, ``text(...)``) is read as written; SQLAlchemy builders
(``t.update().where(...)``) give their statement kind; anything built at run
time is opaque (None).
"""

from __future__ import annotations

import ast

from stager.migrations.op_arguments import name_of, string_constant, strings_in, table_name
from stager.migrations.sql import parse_statements, statement_kinds

_TEXT_WRAPPERS = frozenset({"text", "DDL"})
_FILTERS = frozenset({"where", "filter", "filter_by"})


_TEXT_MODIFIERS = frozenset({"bindparams", "execution_options", "columns"})
_DML_BUILDERS = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE"}


def literal_sql(node: ast.expr) -> str | None:
    """The SQL text of ``node`` when it is written literally, else None (opaque).

    Literal: a string constant, adjacent or ``+``-joined constants, an f-string
    without placeholders, and those wrapped in ``text(...)``/``sa.text(...)``.
    Variables, ``%``, ``.format`` and f-strings with placeholders are opaque.
    """
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        parts = [string_constant(value) for value in node.values]
        return None if any(part is None for part in parts) else "".join(p or "" for p in parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_sql(node.left), literal_sql(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Call):
        name = name_of(node.func)
        if name in _TEXT_WRAPPERS and node.args:
            return literal_sql(node.args[0])
        if name in _TEXT_MODIFIERS and isinstance(node.func, ast.Attribute):
            return literal_sql(node.func.value)
    return None


def builder_statement(node: ast.expr) -> str | None:
    """``INSERT`` for ``table.insert().values(...)`` or ``sa.insert(t)``; None otherwise."""
    while isinstance(node, ast.Call):
        name = name_of(node.func)
        if name in _DML_BUILDERS:
            return _DML_BUILDERS[name]
        if not isinstance(node.func, ast.Attribute):
            return None
        node = node.func.value
    return None


def builder_table(node: ast.expr, tables: dict[str, str]) -> str | None:
    """The table a builder writes: ``t`` of ``t.update()``/``sa.update(t)``, when known.

    ``t`` is ``sa.table("user", ...)`` inline or a name bound to one (``tables``).
    """
    while isinstance(node, ast.Call):
        func = node.func
        if name_of(func) in _DML_BUILDERS:
            if node.args:  # sa.update(t), sa.insert(t)
                return table_name(node.args[0], tables)
            if isinstance(func, ast.Attribute):  # t.update()
                return table_name(func.value, tables)
            return None
        if not isinstance(func, ast.Attribute):
            return None
        node = func.value
    return None


def executed_statements(
    sql: str | None, node: ast.expr | None
) -> tuple[tuple[str, ...] | None, bool | None]:
    """The statement kinds an ``execute`` runs, from its SQL or a SQL builder (None: opaque).

    The second value says whether a builder's UPDATE/DELETE restricts its rows.
    """
    if sql is not None:
        return tuple(statement_kinds(sql)), None
    statement = builder_statement(node) if node is not None else None
    if statement is None or node is None:
        return None, None
    return (statement,), builder_filters(node) if statement in {"UPDATE", "DELETE"} else None


def sql_target(sql: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The one table (and its columns) literal SQL changes, for the JSON; None when several."""
    if sql is None:
        return None, ()
    statements = parse_statements(sql)  # parsed (and cached) for the statement kinds already
    tables = {statement.table for statement in statements if statement.table}
    if len(tables) != 1:
        return None, ()
    columns = (column for statement in statements for column in statement.columns)
    return tables.pop(), tuple(dict.fromkeys(columns))


def builder_filters(node: ast.expr) -> bool:
    """True when a builder chain (``t.update().where(...)``) restricts its rows."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in _FILTERS:
            return True
        node = node.func.value
    return False


def call_literals(call: ast.Call, statement: ast.expr | None) -> frozenset[str]:
    """Values an ``execute`` passes besides plain literal SQL (builders, bind parameters)."""
    if isinstance(statement, ast.Constant | ast.JoinedStr | ast.BinOp) and len(call.args) < 2:
        return frozenset()
    return strings_in(call)
