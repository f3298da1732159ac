"""Tables and columns a data migration's ``upgrade()`` names, read with ``ast`` (never run).

A backfill is often written with SQLAlchemy rather than SQL text::

    summary = sa.table("summary", sa.column("legacy_total"), sa.column("snapshot"))
    op.execute(summary.update().values(snapshot=summary.c.legacy_total))
    op.get_bind().execute(sa.text("UPDATE summary SET snapshot = legacy_total"))

The names it reads are those of ``sa.table``/``sa.Table`` declarations and
their ``sa.column``/``sa.Column`` arguments, the ``t.c.name`` attributes of a
name bound to one, and the identifiers of string constants that read like SQL
(``text(...)`` or not). ``downgrade()`` is left out: it undoes, it never
backfills. Each name comes with the first line that names it.
"""

from __future__ import annotations

import ast

from stager.migrations.op_arguments import name_of, string_constant
from stager.plan.pyscan import IDENTIFIER, looks_like_sql

_TABLES = frozenset({"table", "Table"})
_COLUMNS = frozenset({"column", "Column"})


def read_names(source: str) -> dict[str, int]:
    """Every table and column name the module (but ``downgrade()``) reads → its first line.

    Names are lower-cased, as :func:`~stager.plan.schema_objects.object_name`
    keys them. Source ``ast`` cannot parse gives nothing.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    bound = _table_names(tree)
    found: dict[str, int] = {}

    def add(name: str | None, line: int) -> None:
        if name:
            found.setdefault(name.strip('"').lower(), line)

    for node in _walk(tree):
        if isinstance(node, ast.Call) and name_of(node.func) in _TABLES | _COLUMNS:
            add(string_constant(node.args[0]) if node.args else None, node.lineno)
        elif isinstance(node, ast.Attribute) and _is_table_columns(node.value, bound):
            # summary.c.legacy_total: a column of a table declared above
            add(node.attr, node.lineno)
        elif isinstance(node, ast.Subscript) and _is_table_columns(node.value, bound):
            add(string_constant(node.slice), node.lineno)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and looks_like_sql(node.value)
        ):
            for word in IDENTIFIER.findall(node.value):
                add(word, node.lineno)
    return found


def _walk(tree: ast.Module) -> list[ast.AST]:
    """Every node, ``downgrade()``'s left out, in source order of their lines."""
    nodes: list[ast.AST] = []
    pending: list[ast.AST] = [
        statement
        for statement in tree.body
        if not (isinstance(statement, ast.FunctionDef) and statement.name == "downgrade")
    ]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(ast.iter_child_nodes(node))
    nodes.sort(key=lambda node: getattr(node, "lineno", 0))
    return nodes


def _table_names(tree: ast.Module) -> frozenset[str]:
    """Names bound to ``sa.table(...)``/``sa.Table(...)`` anywhere in the module."""
    return frozenset(
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and name_of(node.value.func) in _TABLES
        for target in node.targets
        if isinstance(target, ast.Name)
    )


def _is_table_columns(node: ast.expr, bound: frozenset[str]) -> bool:
    """``t.c`` or ``t.columns`` for a name ``t`` bound to a table."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr in {"c", "columns"}
        and isinstance(node.value, ast.Name)
        and node.value.id in bound
    )
