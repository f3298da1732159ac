"""Rules read from the revision's source: SM028 (imported helpers), SM029 (batch recreate).

SM028: ``upgrade()`` calls a function imported from another module.

stager reads one revision file with ``ast`` and never follows imports, so a
migration written as ``add_timestamps("product")`` (from the project's own
``migrations/helpers.py``, say) looks empty: no operation, no finding, and the
reviewer is told nothing. Such calls are reported so that someone reads the
helper. Alembic, SQLAlchemy and the standard library are known and never
reported, nor is a call nested inside another call's arguments
(``sa.Column("id", sqlalchemy_utils.UUIDType())`` is a type, not a step).

SM029: ``op.batch_alter_table(..., recreate="always")`` in ``upgrade()``: on
PostgreSQL too, alembic then copies the table into a new one, drops the old
one and renames the copy, instead of running ALTER TABLE.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from stager.migrations.lint.checks import UPGRADE, Hit
from stager.migrations.operations import KNOWN_MODULES, callee, foreign_imports

RULE = "SM028"
RECREATE_RULE = "SM029"

_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.+|[A-Za-z_]\w*)|import[ \t]+([A-Za-z_]\w*))", re.MULTILINE
)


def _may_import_helpers(source: bytes) -> bool:
    """Cheap test on the text: an import of something else than the known modules."""
    for match in _IMPORT.finditer(source):
        name = (match.group(1) or match.group(2)).decode()
        if name.startswith(".") or name not in KNOWN_MODULES:
            return True
    return False


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of ``body``, into blocks (with, for, if, try), not into nested defs."""
    for node in body:
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(node, name, []))
        for handler in getattr(node, "handlers", []):
            yield from _statements(handler.body)


def _step_call(node: ast.stmt) -> ast.Call | None:
    """The call a statement makes as a step: ``f(...)`` or ``x = f(...)``."""
    value = getattr(node, "value", None) if isinstance(node, ast.Expr | ast.Assign) else None
    return value if isinstance(value, ast.Call) else None


def helper_hits(source: bytes) -> list[Hit]:
    """SM028 for each call of an imported helper made by ``upgrade()`` (or a local helper)."""
    if b"upgrade" not in source or not _may_import_helpers(source):
        return []  # the usual case: no parse
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    foreign = foreign_imports(module)
    if not foreign:
        return []
    local = {
        node.name: node
        for node in module.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    upgrade = local.get(UPGRADE)
    if upgrade is None:
        return []
    hits: list[Hit] = []
    entered = {UPGRADE}
    pending = [upgrade]
    while pending:
        function = pending.pop(0)
        for node in _statements(function.body):
            call = _step_call(node)
            called = callee(call.func) if call is not None else None
            if call is None or called is None:
                continue
            root, dotted = called
            if root in local and root not in entered and root == dotted:
                entered.add(root)  # a helper of this file: follow it once
                pending.append(local[root])
            elif root in foreign:
                hits.append(
                    Hit(
                        RULE,
                        call.lineno,
                        UPGRADE,
                        f"calls {dotted}(), imported from {foreign[root]}: stager reads only "
                        "this file, so it cannot tell what that function does to the database",
                        end_line=call.end_lineno or call.lineno,
                    )
                )
    return sorted(hits, key=lambda hit: hit.line)


def _recreates(call: ast.Call) -> bool:
    """``batch_alter_table(..., recreate="always")``, called on anything (``op.`` usually)."""
    func = call.func
    named = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if named != "batch_alter_table":
        return False
    return any(
        keyword.arg == "recreate"
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value == "always"
        for keyword in call.keywords
    )


def recreate_hits(source: bytes) -> list[Hit]:
    """SM029 for each ``batch_alter_table(recreate="always")`` of ``upgrade()``."""
    if b"recreate" not in source:
        return []  # the usual case: no parse
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    upgrade = next(
        (
            node
            for node in module.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == UPGRADE
        ),
        None,
    )
    if upgrade is None:
        return []
    hits: list[Hit] = []
    for node in ast.walk(upgrade):
        if isinstance(node, ast.Call) and _recreates(node):
            table = node.args[0] if node.args else None
            name = (
                repr(table.value)
                if isinstance(table, ast.Constant) and isinstance(table.value, str)
                else "the table"
            )
            hits.append(
                Hit(
                    RECREATE_RULE,
                    node.lineno,
                    UPGRADE,
                    f"batch_alter_table({name}, recreate='always') copies {name} into a new "
                    "table, drops the old one and renames the copy: every row is rewritten "
                    "under an ACCESS EXCLUSIVE lock, and views or foreign keys that refer to "
                    "it make the DROP fail",
                    end_line=node.end_lineno or node.lineno,
                )
            )
    return sorted(hits, key=lambda hit: hit.line)
