"""Which table each column of some SQL belongs to, aliases resolved (pglast, else a scan).

``SELECT s.credits_offset_a FROM compliance_report_summary s`` uses the
column ``compliance_report_summary.credits_offset_a`` through the alias
``s``: a search for ``table.column`` misses it, and a search for ``.column``
cannot tell it from ``o.credits_offset_a FROM other o``. PostgreSQL's parser
(pglast) says which relation each alias names, scope by scope:

* ``alias.column`` (or ``table.column``) belongs to the relation the nearest
  enclosing ``FROM``/``JOIN``/``UPDATE``/``USING`` binds to that name;
* an unqualified column belongs to the one table of its statement's ``FROM``
  when there is exactly one; with two or more it is left unresolved;
* ``INSERT INTO t (c)`` and ``UPDATE t SET c =`` name columns of ``t``.

SQL the parser rejects (a fragment, a template's placeholders) is scanned
instead: ``FROM|JOIN|UPDATE|INTO table [AS] alias`` binds the alias, and only
``alias.column`` counts; an alias bound to two tables counts for both.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from stager.migrations.pg_parser import parse_sql_json
from stager.migrations.sql import with_placeholders


class ColumnUse(NamedTuple):
    """A column the SQL names, the table it belongs to (lower-cased), and its line (0-based)."""

    table: str
    column: str
    line: int


_STATEMENTS = ("SelectStmt", "UpdateStmt", "DeleteStmt", "InsertStmt")


@functools.lru_cache(maxsize=1024)
def column_uses(sql: str) -> tuple[ColumnUse, ...] | None:
    """Every column ``sql`` names whose table is known; None when pglast rejects it."""
    for text in (sql, with_placeholders(sql)):
        try:
            tree = json.loads(parse_sql_json(text))
            found = list(_uses(tree, ()))
        except ValueError:  # rejected by PostgreSQL's parser, or broken JSON
            continue
        except RecursionError:  # nested deeper than Python recurses: read as unparsed
            return None
        data = text.encode("utf-8")
        return tuple(
            ColumnUse(table, column, data.count(b"\n", 0, location))
            for table, column, location in found
        )
    return None


def _relation_name(node: dict[str, Any]) -> str:
    return str(node.get("relname", "")).lower()


def _bind(node: Any, names: dict[str, set[str]]) -> None:
    """The names a ``FROM`` item binds: a table by its name and alias; a subquery by alias only."""
    if not isinstance(node, dict):
        return
    if "RangeVar" in node:
        node = node["RangeVar"]
    if "relname" in node:
        table = _relation_name(node)
        alias = (node.get("alias") or {}).get("aliasname")
        names.setdefault(str(alias).lower() if alias else table, set()).add(table)
    elif "JoinExpr" in node:
        _bind(node["JoinExpr"].get("larg"), names)
        _bind(node["JoinExpr"].get("rarg"), names)
    elif "RangeSubselect" in node or "RangeFunction" in node:
        inner = node.get("RangeSubselect") or node.get("RangeFunction") or {}
        alias = (inner.get("alias") or {}).get("aliasname")
        if alias:
            names.setdefault(str(alias).lower(), set())  # hides an outer name; no table


def _scope(kind: str, node: dict[str, Any]) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for item in [node.get("relation"), *(node.get("fromClause") or ())]:
        _bind(item, names)
    for item in node.get("usingClause") or ():
        _bind(item, names)
    return names


def _uses(node: Any, scopes: tuple[dict[str, set[str]], ...]) -> Iterator[tuple[str, str, int]]:
    if isinstance(node, list):
        for item in node:
            yield from _uses(item, scopes)
        return
    if not isinstance(node, dict):
        return
    for kind, value in node.items():
        if kind in _STATEMENTS and isinstance(value, dict):
            scope = _scope(kind, value)
            inner = (*scopes, scope)
            if kind in ("InsertStmt", "UpdateStmt") and value.get("relation"):
                table = _relation_name(value["relation"])
                targets = value.get("cols" if kind == "InsertStmt" else "targetList") or ()
                for target in targets:
                    found = target.get("ResTarget", {})
                    if found.get("name"):
                        yield table, str(found["name"]).lower(), int(found.get("location", 0))
            yield from _uses(value, inner)
        elif kind == "ColumnRef" and isinstance(value, dict):
            resolved = _column(value, scopes)
            if resolved is not None:
                yield resolved
        elif isinstance(value, dict | list):
            yield from _uses(value, scopes)


def _column(
    ref: dict[str, Any], scopes: tuple[dict[str, set[str]], ...]
) -> tuple[str, str, int] | None:
    fields = [str(f["String"]["sval"]).lower() for f in ref.get("fields", ()) if "String" in f]
    location = int(ref.get("location", 0))
    if len(fields) >= 2:
        qualifier, column = fields[-2], fields[-1]
        for scope in reversed(scopes):
            if qualifier in scope:
                tables = scope[qualifier]
                return (next(iter(tables)), column, location) if len(tables) == 1 else None
        # Bound by no FROM here (a trigger's NEW.c, a fragment): a name, taken as a table's.
        return qualifier, column, location
    if len(fields) == 1 and scopes:
        tables = {table for bound in scopes[-1].values() for table in bound}
        if len(scopes[-1]) == 1 and len(tables) == 1:
            return tables.pop(), fields[0], location
    return None


# Words that follow a table in a FROM clause without being its alias.
_KEYWORDS = frozenset(
    {
        *("where", "on", "join", "left", "right", "inner", "outer", "full", "cross"),
        *("natural", "using", "set", "group", "order", "limit", "offset", "having"),
        *("union", "except", "intersect", "returning", "values", "select", "as"),
        *("lateral", "window", "for"),
    }
)
_BINDING = re.compile(
    r"\b(?:from|join|update|into)\s+(?:\w+\.)?\"?(\w+)\"?(?:\s+(?:as\s+)?(\w+))?", re.IGNORECASE
)


def scanned_aliases(sql: str) -> dict[str, set[str]]:
    """Alias (or table name) → tables, from ``FROM|JOIN|UPDATE|INTO table [AS] alias``."""
    names: dict[str, set[str]] = {}
    for match in _BINDING.finditer(sql):
        table = match.group(1).lower()
        names.setdefault(table, set()).add(table)
        alias = (match.group(2) or "").lower()
        if alias and alias not in _KEYWORDS:
            names.setdefault(alias, set()).add(table)
    return names


class SqlUnit(NamedTuple):
    """One piece of SQL of a file: its lines (1-based, inclusive) and what it says.

    ``resolved``: (table, column) pairs pglast resolved; None when it rejected
    the SQL, and ``aliases`` (from the scan) is all there is.
    """

    first: int
    last: int
    resolved: frozenset[tuple[str, str]] | None
    aliases: dict[str, set[str]]


def sql_units(text: str, *, python: bool) -> list[SqlUnit]:
    """The SQL of a file: its SQL-looking strings (Python), else its ``;``-separated statements."""
    pieces = _python_strings(text) if python else _statements(text)
    units: list[SqlUnit] = []
    for first, last, sql in pieces:
        uses = column_uses(sql)
        resolved = None if uses is None else frozenset((use.table, use.column) for use in uses)
        units.append(SqlUnit(first, last, resolved, scanned_aliases(sql)))
    return units


def _statements(text: str) -> Iterator[tuple[int, int, str]]:
    line = 1
    for chunk in text.split(";"):
        lines = chunk.count("\n")
        if chunk.strip():
            # the statement starts on the first line with text, not after the previous ";"
            lead = len(chunk) - len(chunk.lstrip())
            start = line + chunk[:lead].count("\n")
            yield start, line + lines, chunk
        line += lines


def _python_strings(text: str) -> Iterator[tuple[int, int, str]]:
    import ast

    from stager.plan.pyscan import looks_like_sql

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and looks_like_sql(node.value)
        ):
            yield node.lineno, node.end_lineno or node.lineno, node.value
