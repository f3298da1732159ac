"""The SQL an ``execute`` call runs, as far as the source shows it.

Literal SQL (strings, ``text(...)``) is read as written; SQLAlchemy builders
(``t.update().where(...)``) give their statement kind; anything built at run
time is opaque (None).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from stager.migrations.op_arguments import name_of, string_constant, strings_in, table_name
from stager.migrations.sql import parse_statements, statement_kinds

_TEXT_WRAPPERS = frozenset({"text", "DDL"})
_FILTERS = frozenset({"where", "filter", "filter_by"})


_TEXT_MODIFIERS = frozenset({"bindparams", "execution_options", "columns"})
_DML_BUILDERS = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE"}


def literal_sql(node: ast.expr, constants: Mapping[str, str] | None = None) -> str | None:
    """The SQL text of ``node`` when it is written literally, else None (opaque).

    Literal: a string constant, adjacent or ``+``-joined constants, and those
    wrapped in ``text(...)``/``sa.text(...)``. An f-string, ``%`` or
    ``.format`` counts too when every value it fills in is a string constant
    or a name in ``constants`` (the module's ``TABLE = "orders"``): the SQL is
    fixed when the file is written. Anything else is opaque.
    """
    known = constants or {}
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        return known.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [_filled(value, known) for value in node.values]
        return None if any(part is None for part in parts) else "".join(p or "" for p in parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_sql(node.left, known), literal_sql(node.right, known)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _percent(node, known)
    if isinstance(node, ast.Call):
        name = name_of(node.func)
        if name in _TEXT_WRAPPERS and node.args:
            return literal_sql(node.args[0], known)
        if name in _TEXT_MODIFIERS and isinstance(node.func, ast.Attribute):
            return literal_sql(node.func.value, known)
        if name == "format" and isinstance(node.func, ast.Attribute):
            return _format(node, known)
    return None


def _filled(value: ast.expr, known: Mapping[str, str]) -> str | None:
    """One part of an f-string: its text, or the constant a plain ``{NAME}`` fills in."""
    if isinstance(value, ast.FormattedValue):
        if value.format_spec is not None or value.conversion not in (-1, ord("s")):
            return None
        return literal_sql(value.value, known)
    return string_constant(value)


def _percent(node: ast.BinOp, known: Mapping[str, str]) -> str | None:
    """``"... %s ..." % NAME`` or ``% (A, B)``: printf-style over constants."""
    template = literal_sql(node.left, known)
    items = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
    values = [literal_sql(item, known) for item in items]
    if template is None or any(value is None for value in values):
        return None
    try:
        return template % tuple(values)
    except (TypeError, ValueError, KeyError):
        return None


def _format(call: ast.Call, known: Mapping[str, str]) -> str | None:
    """``"... {} ... {t}".format(A, t=B)`` over constants."""
    assert isinstance(call.func, ast.Attribute)
    template = literal_sql(call.func.value, known)
    args = [literal_sql(arg, known) for arg in call.args]
    if any(keyword.arg is None for keyword in call.keywords):
        return None  # ``**values``
    kwargs = {str(kw.arg): literal_sql(kw.value, known) for kw in call.keywords}
    if template is None or None in args or None in kwargs.values():
        return None
    try:
        return template.format(*args, **kwargs)
    except (IndexError, KeyError, ValueError, AttributeError):
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
