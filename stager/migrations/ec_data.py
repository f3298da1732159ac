"""The data statements of a mixed migration: what they fill, and whether one may run twice.

A mixed migration's data statements (``UPDATE``/``INSERT``/``DELETE``,
``bulk_insert``, ``get_bind().execute``) go into the contract revision, before
the drops. When the plan needs one earlier too (code shipped before the
contract reads what it fills), it is repeated in the expand revision, and a
database then runs it twice: it must be idempotent. stager accepts only what
it can prove from the SQL itself (pglast):

- ``UPDATE … SET c = … WHERE c IS NULL [AND …]``: the second run changes only
  the rows the first one did not fill (or that old code wrote in between);
- ``INSERT … ON CONFLICT DO NOTHING``: the rows already there are skipped;
- ``INSERT … SELECT … WHERE NOT EXISTS (SELECT … FROM <the same table> …)``.

Anything else (``bulk_insert``, SQL built at run time, ``DELETE``, a ``DO``
block) is not provably idempotent, and :func:`not_idempotent` says how to
make it so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from typing import Any

from stager.migrations.ec_classify import ObjectKey
from stager.migrations.pg_parser import parse_sql_json
from stager.migrations.revision_files import Operation

_PARAMETER = re.compile(r"(?<![:\w]):\w+|%\(\w+\)s|%s")
"""``:name`` (``sa.text``) and ``%(name)s``/``%s`` bind parameters: PostgreSQL knows only ``$n``."""

# Statements that change the schema, not rows: an ``execute`` may hold them next to its data.
_SCHEMA_STATEMENTS = frozenset(
    {
        "AlterTableStmt",
        "DropStmt",
        "IndexStmt",
        "CreateStmt",
        "RenameStmt",
        "AlterEnumStmt",
        "CreateEnumStmt",
        "VariableSetStmt",
        "TransactionStmt",
    }
)

HOW = (
    "guard it so that a second run changes nothing it already did: "
    "UPDATE … WHERE <the column it sets> IS NULL, INSERT … ON CONFLICT DO NOTHING, "
    "or INSERT … SELECT … WHERE NOT EXISTS (…)"
)


def _name(name: object) -> str:
    """A table or column as the keys compare it: unquoted, unqualified, lower-case."""
    return str(name or "").strip('"').split(".")[-1].lower()


def _statements(sql: str) -> list[dict[str, Any]] | None:
    """libpg_query's tree of each statement of ``sql``; None when PostgreSQL cannot parse it."""
    for text in (sql, _PARAMETER.sub("$1", sql)):
        try:
            tree = json.loads(parse_sql_json(text))
        except Exception:
            continue
        return [raw["stmt"] for raw in tree.get("stmts", ())]
    return None


def _conjuncts(node: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """The terms of a ``WHERE`` that must all hold: ``a AND (b AND c)`` → a, b, c."""
    if not node:
        return
    boolean = node.get("BoolExpr")
    if boolean is not None and boolean.get("boolop") == "AND_EXPR":
        for arg in boolean.get("args", ()):
            yield from _conjuncts(arg)
    else:
        yield node


def _column(node: dict[str, Any] | None) -> str | None:
    """The column a ``ColumnRef`` names (its last part), None for anything else."""
    fields = ((node or {}).get("ColumnRef") or {}).get("fields") or ()
    if not fields or "String" not in fields[-1]:
        return None
    return _name(fields[-1]["String"].get("sval"))


def _guarded_update(node: dict[str, Any]) -> bool:
    """``WHERE`` holds ``c IS NULL`` (at its top level) for a column ``c`` the ``SET`` writes."""
    targets = {_name(t["ResTarget"].get("name")) for t in node.get("targetList", ())}
    for term in _conjuncts(node.get("whereClause")):
        test = term.get("NullTest")
        if test and test.get("nulltesttype") == "IS_NULL" and _column(test.get("arg")) in targets:
            return True
    return False


def _tables(node: Any) -> Iterator[str]:
    """Every table a subtree reads (its ``RangeVar``s)."""
    if isinstance(node, dict):
        relation = node.get("RangeVar")
        if isinstance(relation, dict):
            yield _name(relation.get("relname"))
        for value in node.values():
            yield from _tables(value)
    elif isinstance(node, list):
        for item in node:
            yield from _tables(item)


def _guarded_insert(node: dict[str, Any]) -> bool:
    """``ON CONFLICT DO NOTHING``, or a ``SELECT … WHERE NOT EXISTS`` reading the same table."""
    if (node.get("onConflictClause") or {}).get("action") == "ONCONFLICT_NOTHING":
        return True
    table = _name((node.get("relation") or {}).get("relname"))
    select = (node.get("selectStmt") or {}).get("SelectStmt") or {}
    for term in _conjuncts(select.get("whereClause")):
        negation = term.get("BoolExpr") or {}
        if negation.get("boolop") != "NOT_EXPR":
            continue
        for arg in negation.get("args", ()):
            link = arg.get("SubLink") or {}
            if link.get("subLinkType") == "EXISTS_SUBLINK" and table in _tables(
                link.get("subselect")
            ):
                return True
    return False


def not_idempotent(operation: Operation) -> str:
    """Why running ``operation`` twice is not provably harmless ("": it is), and how to fix it."""
    if operation.name == "bulk_insert":
        return f"op.bulk_insert at line {operation.line} inserts its rows again on a second run"
    if operation.sql is None:
        return f"the SQL at line {operation.line} is built at run time: stager cannot read it"
    statements = _statements(operation.sql)
    if statements is None:
        return f"PostgreSQL cannot parse the SQL at line {operation.line}"
    for statement in statements:
        ((kind, node),) = statement.items()
        if (node.get("withClause") or {}).get("ctes"):
            return f"the statement at line {operation.line} has a WITH clause"
        if kind == "UpdateStmt" and _guarded_update(node):
            continue
        if kind == "InsertStmt" and _guarded_insert(node):
            continue
        what = kind.removesuffix("Stmt").upper()
        if kind in {"UpdateStmt", "InsertStmt"}:
            return f"the {what} at line {operation.line} is not guarded"
        return f"the {what} at line {operation.line} is not a guarded UPDATE or INSERT"
    return ""


def fills(operation: Operation, created: Collection[ObjectKey]) -> frozenset[ObjectKey]:
    """The objects of ``created`` (``column``/``table`` keys) the data ``operation`` writes.

    What stager cannot read (SQL built at run time, a statement it does not
    know) may write any of them.
    """
    wanted = {key: tuple(_name(part) for part in key[1:]) for key in created}
    everything = frozenset(key for key in created if key[0] in {"column", "table"})

    def on(table: str, columns: Collection[str] | None) -> set[ObjectKey]:
        found: set[ObjectKey] = set()
        for key, names in wanted.items():
            if not names or names[0] != table:
                continue
            if key[0] == "table" or (
                key[0] == "column" and (columns is None or names[-1] in columns)
            ):
                found.add(key)
        return found

    if operation.name == "bulk_insert":
        return frozenset(on(_name(operation.table), None))
    statements = _statements(operation.sql) if operation.sql is not None else None
    if statements is None:
        return everything
    found: set[ObjectKey] = set()
    for statement in statements:
        ((kind, node),) = statement.items()
        table = _name((node.get("relation") or {}).get("relname"))
        if kind == "UpdateStmt" and not (node.get("withClause") or {}).get("ctes"):
            targets = {_name(t["ResTarget"].get("name")) for t in node.get("targetList", ())}
            found |= on(table, targets)
        elif kind == "InsertStmt" and not (node.get("withClause") or {}).get("ctes"):
            columns = {_name(c["ResTarget"].get("name")) for c in node.get("cols", ())}
            found |= on(table, columns or None)
        elif kind in {"DeleteStmt", "MergeStmt"} and table:
            found |= on(table, None)
        elif kind == "TruncateStmt":
            for relation in node.get("relations", ()):
                found |= on(_name((relation.get("RangeVar") or {}).get("relname")), None)
        elif kind not in _SCHEMA_STATEMENTS:
            return everything  # SELECT f(), DO, CALL …: may write anything
    return frozenset(found)
