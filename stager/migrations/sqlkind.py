"""Statement kinds of literal SQL, read by pglast (the real PostgreSQL parser).

pglast is imported inside :func:`statement_kinds` only: most revision files
hold no literal SQL, and the analyze path must not pay for the import.
"""

from __future__ import annotations

import json
import re
from typing import Any

UNPARSABLE = "UNPARSABLE"
"""Kind of SQL pglast rejects: stager cannot tell what it does (opaque)."""

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")

# Statement node names whose kind is not simply their CamelCase split.
_STATEMENT_NAMES = {
    "InsertStmt": "INSERT",
    "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE",
    "MergeStmt": "MERGE",
    "SelectStmt": "SELECT",
    "TruncateStmt": "TRUNCATE",
    "CopyStmt": "COPY",
    "DoStmt": "DO",
    "CallStmt": "CALL",
    "CreateStmt": "CREATE TABLE",
    "ViewStmt": "CREATE VIEW",
    "CreateEnumStmt": "CREATE TYPE",
    "CompositeTypeStmt": "CREATE TYPE",
    "CreateFunctionStmt": "CREATE FUNCTION",
    "CreateTrigStmt": "CREATE TRIGGER",
    "CreateSeqStmt": "CREATE SEQUENCE",
    "AlterSeqStmt": "ALTER SEQUENCE",
    "CreateExtensionStmt": "CREATE EXTENSION",
    "CreateSchemaStmt": "CREATE SCHEMA",
    "GrantStmt": "GRANT",
    "VariableSetStmt": "SET",
}


def _words(camel: str) -> str:
    return _CAMEL.sub(" ", camel).upper()


def _object_name(value: object) -> str:
    """``OBJECT_MATVIEW`` → ``MATERIALIZED VIEW``."""
    name = str(value or "OBJECT_UNKNOWN").removeprefix("OBJECT_")
    return {"MATVIEW": "MATERIALIZED VIEW", "FOREIGN_TABLE": "FOREIGN TABLE"}.get(
        name, name.replace("_", " ")
    )


def _kinds_of(statement: dict[str, Any]) -> list[str]:
    """Kinds of one statement (``{"UpdateStmt": {...}}``); data-modifying CTEs count too."""
    ((name, node),) = statement.items()
    kinds: list[str] = []
    for cte in (node.get("withClause") or {}).get("ctes", ()):
        kinds.extend(_kinds_of(cte["CommonTableExpr"]["ctequery"]))
    if name == "AlterTableStmt":
        target = _object_name(node.get("objtype"))
        for cmd in node.get("cmds", ()):
            action = str(cmd.get("AlterTableCmd", {}).get("subtype", "AT_Unknown"))
            kinds.append(f"ALTER {target} {_words(action.removeprefix('AT_'))}")
    elif name == "DropStmt":
        kinds.append(f"DROP {_object_name(node.get('removeType'))}")
    elif name == "RenameStmt":
        kinds.append(f"RENAME {_object_name(node.get('renameType'))}")
    elif name == "AlterEnumStmt":
        kinds.append("ALTER TYPE RENAME VALUE" if node.get("oldVal") else "ALTER TYPE ADD VALUE")
    elif name == "IndexStmt":
        kinds.append("CREATE UNIQUE INDEX" if node.get("unique") else "CREATE INDEX")
    elif name == "CreateTableAsStmt":
        kinds.append(f"CREATE {_object_name(node.get('objtype'))}")
    elif name in _STATEMENT_NAMES:
        kinds.append(_STATEMENT_NAMES[name])
    else:
        kinds.append(_words(name.removesuffix("Stmt")))
    return kinds


def statement_kinds(sql: str) -> list[str]:
    """Kinds of every statement in ``sql``, e.g. ``["INSERT", "ALTER TABLE DROP COLUMN"]``.

    SQL that PostgreSQL's parser rejects gives ``["UNPARSABLE"]``; this never raises.
    """
    if not sql.strip():
        return []
    try:
        # The JSON form of libpg_query's tree is 3x faster to get than
        # pglast's Python node objects, and holds all a kind needs.
        from pglast.parser import parse_sql_json

        tree = json.loads(parse_sql_json(sql))
        kinds: list[str] = []
        for raw in tree.get("stmts", ()):
            kinds.extend(_kinds_of(raw["stmt"]))
    except Exception:
        # pglast raises ParseError for bad SQL; anything else that fails on odd
        # input must not stop the analysis either: the SQL is simply opaque.
        return [UNPARSABLE]
    return kinds
