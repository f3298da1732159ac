"""Which ``.sql`` files a revision reads, by path forms stager resolves without running it.

Three forms name the file from the revision's own folder:

* a string literal: ``open("x.sql")``, taken from the revision's folder;
* ``Path(__file__).parent / "sql" / "x.sql"`` (``.parent.parent``, ``.resolve()``,
  ``.joinpath(...)`` too);
* ``os.path.join(os.path.dirname(__file__), "x.sql")`` (``os.path.abspath`` and
  ``os.path.realpath`` of ``__file__`` too).

Anything else that names a ``.sql`` file (an f-string, a folder from the
environment, a module constant joined at run time) is reported, never skipped:
what it reads cannot be linted, so it is opaque SQL.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import NamedTuple

from stager.migrations.lint.checks import DOWNGRADE, UPGRADE, Hit

_HERE = "."  # the revision's folder
_FILE_WRAPPERS = frozenset({"abspath", "realpath", "resolve", "absolute", "normpath", "Path"})


class SqlRead(NamedTuple):
    """One ``.sql`` file a revision function reads: its path, or None when unresolvable."""

    function: str
    line: int  # of the statement that reads it
    path: str | None  # relative to the revision's folder (may start with ``../``)
    text: str  # the expression as written, for a message


def sql_reads(source: bytes) -> list[SqlRead]:
    """Every ``.sql`` file upgrade() and downgrade() name, resolved where the form allows."""
    if b".sql" not in source:
        return []  # the usual case: no parse
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    constants = _module_constants(module)
    found: list[SqlRead] = []
    for node in module.body:
        if isinstance(node, ast.FunctionDef) and node.name in (UPGRADE, DOWNGRADE):
            for statement in node.body:
                found.extend(_statement_reads(node.name, statement, constants))
    return found


def read_sql_paths(source: bytes) -> list[tuple[str, str]]:
    """(function, path) of each ``.sql`` file upgrade() or downgrade() reads, resolved."""
    return [(read.function, read.path) for read in sql_reads(source) if read.path is not None]


def unresolved_sql_hits(source: bytes, hits: list[Hit]) -> list[Hit]:
    """``hits`` with one SM023 for each ``.sql`` file read by a path stager cannot resolve.

    It takes the place of the generic "built at run time" SM023 on the same line.
    """
    unresolved = [read for read in sql_reads(source) if read.path is None]
    if not unresolved:
        return hits
    lines = {read.line for read in unresolved}
    kept = [hit for hit in hits if not (hit.rule == "SM023" and hit.line in lines)]
    kept.extend(
        Hit(
            "SM023",
            read.line,
            read.function,
            f"reads a .sql file through a path stager cannot resolve ({read.text}), so the SQL "
            "it runs is never linted",
            hint='name the file from the revision\'s folder: Path(__file__).parent / "x.sql" or '
            'os.path.join(os.path.dirname(__file__), "x.sql"), which stager reads and lints; '
            "or review it and mark the line # stager: ignore[SM023]",
        )
        for read in unresolved
    )
    return kept


def _module_constants(module: ast.Module) -> dict[str, ast.expr]:
    """Module-level ``NAME = <expression>``: a path may be built there and read in upgrade()."""
    found: dict[str, ast.expr] = {}
    for node in module.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = node.value
    return found


def _statement_reads(
    function: str, statement: ast.stmt, constants: dict[str, ast.expr]
) -> Iterator[SqlRead]:
    parents: dict[int, ast.AST] = {}
    names_sql: list[ast.expr] = []
    for node in ast.walk(statement):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if _names_sql(node):
            names_sql.append(node)  # type: ignore[arg-type]
        elif isinstance(node, ast.Name) and _names_sql_inside(constants.get(node.id)):
            names_sql.append(node)
    seen: set[int] = set()
    for node in names_sql:
        top = _path_expression(node, parents)
        if id(top) in seen:
            continue
        seen.add(id(top))
        yield SqlRead(function, statement.lineno, _resolve(top, constants), ast.unparse(top))


def _names_sql_inside(node: ast.AST | None) -> bool:
    return node is not None and any(_names_sql(inner) for inner in ast.walk(node))


def _names_sql(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.lower().endswith(".sql")
    if isinstance(node, ast.JoinedStr):
        last = node.values[-1] if node.values else None
        return isinstance(last, ast.Constant) and str(last.value).lower().endswith(".sql")
    return False


def _path_expression(node: ast.AST, parents: dict[int, ast.AST]) -> ast.expr:
    """The whole path expression ``node`` is part of: up through ``/``, join and joinpath."""
    current = node
    while True:
        parent = parents.get(id(current))
        if (
            (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div | ast.Add))
            or isinstance(parent, ast.JoinedStr)
            or (isinstance(parent, ast.Call) and _call_name(parent) in ("join", "joinpath"))
        ):
            current = parent
        else:
            assert isinstance(current, ast.expr)
            return current


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _resolve(node: ast.expr, constants: dict[str, ast.expr], depth: int = 0) -> str | None:
    """The path ``node`` names, relative to the revision's folder; None when not resolvable."""
    if depth > 20:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return _resolve(constants[node.id], constants, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left = _folder(node.left, constants, depth + 1)
        right = _resolve(node.right, constants, depth + 1)
        return None if left is None or right is None else _join(left, right)
    if isinstance(node, ast.Call) and _call_name(node) in ("join", "joinpath") and node.args:
        if _call_name(node) == "join":
            if not _is_os_path(node.func):
                return None
            first, rest = node.args[0], node.args[1:]
        else:
            assert isinstance(node.func, ast.Attribute)
            first, rest = node.func.value, node.args
        path = _folder(first, constants, depth + 1)
        for part in rest:
            name = _resolve(part, constants, depth + 1)
            if path is None or name is None:
                return None
            path = _join(path, name)
        return path
    return None


def _folder(node: ast.expr, constants: dict[str, ast.expr], depth: int) -> str | None:
    """A folder expression: ``__file__``'s folder (and its parents), or a resolvable path."""
    ups = 0
    while True:
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            ups, node = ups + 1, node.value
        elif isinstance(node, ast.Call) and _call_name(node) == "dirname" and len(node.args) == 1:
            ups, node = ups + 1, node.args[0]
        elif isinstance(node, ast.Call) and _call_name(node) in _FILE_WRAPPERS:
            inner = node.args[0] if node.args else _receiver(node)
            if inner is None:
                break
            node = inner
        else:
            break
    if isinstance(node, ast.Name) and node.id == "__file__":
        return None if not ups else _HERE if ups == 1 else "/".join([".."] * (ups - 1))
    return _resolve(node, constants, depth) if ups == 0 else None


def _receiver(call: ast.Call) -> ast.expr | None:
    return call.func.value if isinstance(call.func, ast.Attribute) and not call.args else None


def _is_os_path(func: ast.expr) -> bool:
    """``os.path.join`` or a bare ``join`` (``from os.path import join``)."""
    if isinstance(func, ast.Name):
        return True
    return isinstance(func, ast.Attribute) and ast.unparse(func.value) in ("os.path", "path")


def _join(folder: str, name: str) -> str:
    return name if folder == _HERE else f"{folder}/{name}"
