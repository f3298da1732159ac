"""Literal SQL, read by pglast (the real PostgreSQL parser): what each statement does.

:func:`parse_statements` turns SQL text into :class:`Statement` s, one per
change (an ``ALTER TABLE`` with three actions gives three), with the table,
columns and flags the migration rules need. :func:`statement_kinds` is the
coarse view (``["INSERT", "ALTER TABLE DROP COLUMN"]``) the classification uses.

pglast is imported on the first text to parse only (:mod:`~stager.migrations.pg_parser`,
which keeps its answers by text, for the process and in the parse cache): most
revision files hold no literal SQL, and the analyze path must not pay for the
import. Results are cached by SQL text, so the extraction and the rules parse
each string once.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from stager.migrations.pg_parser import parse_sql_json

UNPARSABLE = "UNPARSABLE"
"""Kind of SQL pglast rejects: stager cannot tell what it does (opaque)."""

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_QUOTED = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")""")
_PARAMETER = re.compile(r"(?<![:\w]):[A-Za-z_]\w*|%\([A-Za-z_]\w*\)s|%s")

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
    "CreateTableSpaceStmt": "CREATE TABLESPACE",
    "DropTableSpaceStmt": "DROP TABLESPACE",
    "AlterTableSpaceOptionsStmt": "ALTER TABLESPACE",
    "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE",
}

# Functions PostgreSQL marks VOLATILE that people put in column defaults: such
# a default is evaluated per row, so ADD COLUMN rewrites the whole table.
VOLATILE_FUNCTIONS = frozenset(
    {
        "random",
        "random_normal",
        "gen_random_uuid",
        "uuidv4",
        "uuidv7",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "gen_random_bytes",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "txid_current",
    }
)
# Column types whose implicit default is a sequence (per-row, hence a rewrite).
SERIAL_TYPES = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"})

# COMMIT / ROLLBACK inside a migration end alembic's transaction (a known hack).
_TRANSACTION_KINDS = frozenset({"BEGIN", "START", "COMMIT", "ROLLBACK"})

_CONSTRAINT_FLAGS = {
    "CONSTR_FOREIGN": "foreign_key",
    "CONSTR_CHECK": "check",
    "CONSTR_UNIQUE": "unique",
    "CONSTR_PRIMARY": "primary_key",
    "CONSTR_EXCLUSION": "exclude",
    "CONSTR_NOTNULL": "not_null",
}


class Statement(NamedTuple):
    """One change made by literal SQL.

    ``kind`` is the coarse kind (see :func:`statement_kinds`); ``flags`` holds
    what the rules ask about: ``concurrently``, ``unique``, ``where``,
    ``not_valid``, ``using_index``, ``not_null``, ``default``,
    ``volatile_default``, ``foreign_key``, ``check``, ``primary_key``,
    ``exclude``, ``if_exists``, ``local``, ``to_role`` (a GRANT to a named role).
    ``literals`` are the string constants the statement uses (to spot a new enum
    value being used).
    A NamedTuple, not a dataclass: one is made per statement, and the class
    itself is built on the analyze path.
    """

    kind: str
    table: str | None = None
    columns: tuple[str, ...] = ()
    name: str | None = None  # index, constraint, type, variable or dropped object
    value: str | None = None  # enum value added / new name of a rename
    old_value: str | None = None  # enum value renamed / column renamed
    flags: frozenset[str] = frozenset()
    literals: frozenset[str] = frozenset()
    text: str = ""  # the statement as written, one line, shortened
    line: int = 0  # lines between the start of the SQL text and the statement's first word
    reads: frozenset[str] = frozenset()  # columns an INSERT/UPDATE/DELETE names (lowercase)


def _words(camel: str) -> str:
    return _CAMEL.sub(" ", camel).upper()


def _object_name(value: object) -> str:
    """``OBJECT_MATVIEW`` → ``MATERIALIZED VIEW``."""
    name = str(value or "OBJECT_UNKNOWN").removeprefix("OBJECT_")
    return {"MATVIEW": "MATERIALIZED VIEW", "FOREIGN_TABLE": "FOREIGN TABLE"}.get(
        name, name.replace("_", " ")
    )


def _strings(items: Any) -> list[str]:
    """``[{"String": {"sval": "a"}}, ...]`` → ``["a", ...]``."""
    return [
        item["String"].get("sval", "")
        for item in items or ()
        if isinstance(item, dict) and "String" in item
    ]


def _relation(node: dict[str, Any] | None) -> str | None:
    if not node:
        return None
    name = node.get("relname")
    return str(name) if name is not None else None


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """``node`` and every node below it (the dicts of libpg_query's JSON tree)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item)


def _literals(node: Any) -> frozenset[str]:
    """Every string constant (``A_Const`` ``sval``) below ``node``."""
    return frozenset(
        constant["sval"]["sval"]
        for found in _nodes(node)
        if isinstance(constant := found.get("A_Const"), dict)
        and isinstance(constant.get("sval"), dict)
        and "sval" in constant["sval"]
    )


def _is_volatile(node: Any) -> bool:
    """A default expression PostgreSQL evaluates per row (``random()``, ``nextval``…).

    A function is known by the last part of its name: ``public.f`` is ``f``.
    """
    return any(
        names[-1].lower() in VOLATILE_FUNCTIONS
        for found in _nodes(node)
        if (names := _strings(found.get("FuncCall", {}).get("funcname")))
    )


def _column_def(column: dict[str, Any]) -> tuple[set[str], frozenset[str]]:
    """Flags and literals of a column added by ``ADD COLUMN``."""
    flags: set[str] = set()
    literals: frozenset[str] = frozenset()
    type_names = _strings((column.get("typeName") or {}).get("names"))
    if type_names and type_names[-1].lower() in SERIAL_TYPES:
        flags.update({"default", "volatile_default", "not_null"})
    for item in column.get("constraints") or ():
        constraint = item.get("Constraint", {})
        contype = constraint.get("contype")
        if contype == "CONSTR_DEFAULT":
            expression = constraint.get("raw_expr")
            if not (
                isinstance(expression, dict)
                and "A_Const" in expression
                and expression["A_Const"].get("isnull")
            ):
                flags.add("default")
            if _is_volatile(expression):
                flags.add("volatile_default")
            literals |= _literals(expression)
        elif contype in {"CONSTR_IDENTITY", "CONSTR_GENERATED"}:
            # Filling an identity or stored generated column rewrites every row.
            flags.update({"default", "volatile_default", "generated"})
        elif contype in _CONSTRAINT_FLAGS:
            flags.add(_CONSTRAINT_FLAGS[contype])
            if contype == "CONSTR_FOREIGN" and constraint.get("skip_validation"):
                flags.add("not_valid")
    return flags, literals


def _constraint(constraint: dict[str, Any]) -> tuple[set[str], tuple[str, ...]]:
    flags: set[str] = set()
    contype = constraint.get("contype")
    if contype in _CONSTRAINT_FLAGS:
        flags.add(_CONSTRAINT_FLAGS[contype])
    if constraint.get("skip_validation"):
        flags.add("not_valid")
    if constraint.get("indexname"):
        flags.add("using_index")
    columns = _strings(constraint.get("fk_attrs") or constraint.get("keys"))
    return flags, tuple(columns)


def _not_null_check(expression: Any) -> str | None:
    """``col`` of a CHECK (col IS NOT NULL): once validated, SET NOT NULL needs no scan (PG 12+)."""
    test = expression.get("NullTest") if isinstance(expression, dict) else None
    if not isinstance(test, dict) or test.get("nulltesttype") != "IS_NOT_NULL":
        return None
    names = _strings((test.get("arg") or {}).get("ColumnRef", {}).get("fields"))
    return names[-1] if names else None


# LOCK TABLE modes (lockdefs.h): SHARE (5) and up block writes; 8 blocks reads too.
ACCESS_EXCLUSIVE_MODE = 8
_WRITE_BLOCKING_MODE = 5


def _column_refs(node: Any) -> frozenset[str]:
    """Every column a statement reads (last part of each reference, lowercase)."""
    found: set[str] = set()
    for item in _nodes(node):
        ref = item.get("ColumnRef")
        if isinstance(ref, dict):
            names = _strings(ref.get("fields"))
            if names:
                found.add(names[-1].lower())
    return frozenset(found)


_KEY_COLUMNS = frozenset({"id", "pk"})


def _batch(where: Any) -> bool:
    """WHERE id IN (SELECT id ... LIMIT 1000): one batch of at most a literal count of rows."""
    return any(
        isinstance(select := found.get("SelectStmt"), dict)
        and "A_Const" in (select.get("limitCount") or {})
        for found in _nodes(where)
    )


def _bounded(where: Any) -> bool:
    """WHERE id = 1, id IN (1, 2), id BETWEEN 1 AND 1000 (maybe ANDed with more): a few rows."""
    if not isinstance(where, dict):
        return False
    both = where.get("BoolExpr")
    if isinstance(both, dict):
        return both.get("boolop") == "AND_EXPR" and any(
            _bounded(arg) for arg in both.get("args", ())
        )
    expression = where.get("A_Expr")
    if not isinstance(expression, dict):
        return False
    left, right = expression.get("lexpr") or {}, expression.get("rexpr")
    names = _strings(left.get("ColumnRef", {}).get("fields"))
    if not names or names[-1].lower() not in _KEY_COLUMNS:
        return False
    kind = expression.get("kind")
    operator = _strings(expression.get("name"))
    if kind == "AEXPR_OP" and operator == ["="]:
        return isinstance(right, dict) and "A_Const" in right
    if kind in {"AEXPR_IN", "AEXPR_BETWEEN"}:
        # IN (1, 2) is a list; BETWEEN 1 AND 9 a List node of its two bounds
        items = right.get("List", {}).get("items", []) if isinstance(right, dict) else right
        return (
            isinstance(items, list)
            and bool(items)
            and all(isinstance(item, dict) and "A_Const" in item for item in items)
        )
    return False


def _type_name(column: dict[str, Any]) -> str | None:
    """``member_role`` of ``role member_role``; None for PostgreSQL's own (pg_catalog) types."""
    names = _strings((column.get("typeName") or {}).get("names"))
    if not names or names[0] == "pg_catalog":
        return None
    return ".".join(names)


def _is_text_type(column: dict[str, Any]) -> bool:
    """``text`` or ``varchar(n)``: no rewrite from a shorter varchar or text (old type unseen)."""
    names = _strings((column.get("typeName") or {}).get("names"))
    return bool(names) and names[-1].lower() in {"text", "varchar"}


def _alter_table(node: dict[str, Any], text: str) -> list[Statement]:
    target = _object_name(node.get("objtype"))
    table = _relation(node.get("relation"))
    statements: list[Statement] = []
    for raw in node.get("cmds", ()):
        cmd = raw.get("AlterTableCmd", {})
        action = str(cmd.get("subtype", "AT_Unknown")).removeprefix("AT_")
        kind = f"ALTER {target} {_words(action)}"
        definition = cmd.get("def") or {}
        name = cmd.get("name")
        flags: set[str] = set()
        literals: frozenset[str] = frozenset()
        columns: tuple[str, ...] = (name,) if name else ()
        constraint_name = None
        type_name = None  # of an added column or the new type: which columns hold an enum
        if action == "AddColumn" and "ColumnDef" in definition:
            column = definition["ColumnDef"]
            columns = (column.get("colname", ""),)
            flags, literals = _column_def(column)
            type_name = _type_name(column)
            # ADD COLUMN c int CONSTRAINT fk REFERENCES t: the foreign key's name (SM013)
            constraint_name = next(
                (
                    item["Constraint"].get("conname")
                    for item in column.get("constraints") or ()
                    if item.get("Constraint", {}).get("contype") == "CONSTR_FOREIGN"
                ),
                None,
            )
        elif action == "AlterColumnType" and "ColumnDef" in definition:
            type_name = _type_name(definition["ColumnDef"])
            if _is_text_type(definition["ColumnDef"]):
                flags.add("to_text")
        elif action == "AddConstraint" and "Constraint" in definition:
            flags, columns = _constraint(definition["Constraint"])
            constraint_name = definition["Constraint"].get("conname")
        elif action in {"DropConstraint", "ValidateConstraint"}:
            constraint_name, columns = name, ()
        elif action == "ColumnDefault":
            literals = _literals(definition)
            if _is_volatile(definition):
                flags.add("volatile_default")
        elif action == "SetTableSpace":
            constraint_name, columns = name, ()  # the tablespace
        elif "Trig" in action:  # ENABLE/DISABLE TRIGGER name: a trigger, not a column
            constraint_name, columns = name, ()
            if action.startswith("Disable"):
                flags.add("disable")
        elif action == "DetachPartition" and "PartitionCmd" in definition:
            partition = definition["PartitionCmd"]
            constraint_name, columns = _relation(partition.get("name")), ()  # the partition
            if partition.get("concurrent"):
                flags.add("concurrently")
        if action == "AddConstraint" and "check" in flags:
            checked = _not_null_check(definition["Constraint"].get("raw_expr"))
            if checked is not None:
                flags.add("is_not_null")
                columns = (checked,)
        statements.append(
            Statement(
                kind=kind,
                table=table,
                columns=columns,
                name=constraint_name,
                value=type_name,
                flags=frozenset(flags),
                literals=literals,
                text=text,
            )
        )
    return statements


# How a dropped object's name is written: a list of name parts under these keys, or a String.
_DROPPED_NAMES = {"List": "items", "TypeName": "names", "ObjectWithArgs": "objname"}


def _drop(node: dict[str, Any], text: str) -> list[Statement]:
    what = _object_name(node.get("removeType"))
    flags = {"concurrently"} if node.get("concurrent") else set()
    if node.get("missing_ok"):
        flags.add("if_exists")
    if node.get("behavior") == "DROP_CASCADE":
        flags.add("cascade")  # dependants go too: columns of a type, tables of a schema
    statements: list[Statement] = []
    for item in node.get("objects") or [{}]:
        key = next((key for key in _DROPPED_NAMES if key in item), None)
        parts = _strings(item[key].get(_DROPPED_NAMES[key]) if key else [item])
        # DROP TRIGGER name ON table: the list is [table, name]
        name = parts[-1] if parts else None
        table = None
        if what == "TABLE":
            table = name
        elif what in {"TRIGGER", "RULE", "POLICY"} and len(parts) >= 2:
            table = parts[-2]
        statements.append(
            Statement(f"DROP {what}", table=table, name=name, flags=frozenset(flags), text=text)
        )
    return statements


def _created_name(name: str, node: dict[str, Any]) -> str | None:
    """The view, sequence, trigger, function or database a CREATE statement makes (or drops)."""
    if name == "ViewStmt":
        return _relation(node.get("view"))
    if name == "CreateSeqStmt":
        return _relation(node.get("sequence"))
    if name == "CreateTrigStmt":
        trigger = node.get("trigname")
        return str(trigger) if trigger is not None else None
    if name == "CreateFunctionStmt":
        parts = _strings(node.get("funcname"))
        return parts[-1] if parts else None
    if name in {"CreatedbStmt", "DropdbStmt"}:
        database = node.get("dbname")  # DROP DATABASE names it too (SM026's message)
        return str(database) if database is not None else None
    return None


def _rename(node: dict[str, Any], text: str) -> Statement:
    what = _object_name(node.get("renameType"))
    table = _relation(node.get("relation"))
    old = node.get("subname")
    if what == "TYPE":
        old = ".".join(_strings(node.get("object", {}).get("List", {}).get("items"))) or None
    return Statement(
        f"RENAME {what}",
        table=table,
        columns=(old,) if what == "COLUMN" and old else (),
        value=node.get("newname"),
        old_value=old,
        text=text,
    )


def _domain_check_of(node: dict[str, Any]) -> dict[str, Any]:
    """The CHECK constraint ALTER DOMAIN ADD CONSTRAINT adds; empty for any other ALTER DOMAIN."""
    constraint = (node.get("def") or {}).get("Constraint") or {}
    added = node.get("subtype") == "C" and constraint.get("contype") == "CONSTR_CHECK"
    return constraint if added else {}


def _domain_check(node: dict[str, Any], text: str) -> Statement:
    """ALTER DOMAIN d ADD CONSTRAINT: a check of every column of the domain, in every table."""
    constraint = _domain_check_of(node)
    flags = {"domain", "check"}
    if constraint.get("skip_validation"):
        flags.add("not_valid")
    return Statement(
        "ALTER TABLE ADD CONSTRAINT",
        name=constraint.get("conname"),
        value=".".join(_strings(node.get("typeName"))),
        flags=frozenset(flags),
        text=text,
    )


def _alter_enum(node: dict[str, Any], text: str) -> Statement:
    renamed = node.get("oldVal")
    return Statement(
        "ALTER TYPE RENAME VALUE" if renamed else "ALTER TYPE ADD VALUE",
        name=".".join(_strings(node.get("typeName"))),
        value=node.get("newVal"),
        old_value=renamed,
        text=text,
    )


def _set_schema(node: dict[str, Any], text: str) -> Statement:
    """ALTER TABLE t SET SCHEMA s: running code still names t where it was, as after a rename."""
    relation = node.get("relation") or {}
    return Statement(
        "RENAME TABLE",
        table=_relation(relation),
        value=f"{node.get('newschema')}.{relation.get('relname')}",
        flags=frozenset({"set_schema"}),
        text=text,
    )


def _set_schema_of(node: dict[str, Any], text: str) -> list[Statement]:
    return [_set_schema(node, text)] if node.get("objectType") == "OBJECT_TABLE" else []


def _domain_of(node: dict[str, Any], text: str) -> list[Statement]:
    return [_domain_check(node, text)] if _domain_check_of(node) else []


# Parse nodes whose statements a function of their own builds; [] leaves the generic kind.
_BUILT_ELSEWHERE: dict[str, Callable[[dict[str, Any], str], list[Statement]]] = {
    "AlterTableStmt": _alter_table,
    "DropStmt": _drop,
    "RenameStmt": lambda node, text: [_rename(node, text)],
    "AlterObjectSchemaStmt": _set_schema_of,
    "AlterEnumStmt": lambda node, text: [_alter_enum(node, text)],
    "AlterDomainStmt": _domain_of,
}


def _statements_of(statement: dict[str, Any], text: str) -> list[Statement]:
    """Statements of one parsed statement; data-modifying CTEs count too."""
    ((name, node),) = statement.items()
    found: list[Statement] = []
    for cte in (node.get("withClause") or {}).get("ctes", ()):
        found.extend(_statements_of(cte["CommonTableExpr"]["ctequery"], text))
    built = _BUILT_ELSEWHERE[name](node, text) if name in _BUILT_ELSEWHERE else []
    if built:
        found.extend(built)
    elif name == "IndexStmt":
        flags = {
            flag
            for flag, key in (("unique", "unique"), ("concurrently", "concurrent"))
            if node.get(key)
        }
        columns = tuple(
            param["IndexElem"]["name"]
            for param in node.get("indexParams", ())
            if param.get("IndexElem", {}).get("name")
        )
        found.append(
            Statement(
                "CREATE UNIQUE INDEX" if node.get("unique") else "CREATE INDEX",
                table=_relation(node.get("relation")),
                columns=columns,
                name=node.get("idxname"),
                flags=frozenset(flags),
                text=text,
            )
        )
    elif name == "CreateTableAsStmt":
        found.append(
            Statement(
                f"CREATE {_object_name(node.get('objtype'))}",
                name=_relation((node.get("into") or {}).get("rel")),
                text=text,
            )
        )
    elif name == "CreateEnumStmt":
        found.append(
            Statement(
                "CREATE TYPE",
                name=".".join(_strings(node.get("typeName"))),
                literals=frozenset(_strings(node.get("vals"))),
                flags=frozenset({"enum"}),
                text=text,
            )
        )
    elif name == "TruncateStmt":
        for relation in node.get("relations", ()):
            found.append(
                Statement("TRUNCATE", table=_relation(relation.get("RangeVar")), text=text)
            )
    elif name in {"UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt"}:
        flags = {"where"} if node.get("whereClause") else set()
        if node.get("onConflictClause"):
            flags.add("on_conflict")  # INSERT ... ON CONFLICT: rows already there are fine
        if _bounded(node.get("whereClause")):
            flags.add("bounded")
        elif _batch(node.get("whereClause")):
            flags.add("batch")
        found.append(
            Statement(
                _STATEMENT_NAMES[name],
                table=_relation(node.get("relation")),
                flags=frozenset(flags),
                literals=_literals(node),
                text=text,
                reads=_column_refs(
                    {key: node.get(key) for key in ("targetList", "fromClause", "selectStmt")}
                ),
            )
        )
    elif name in _MAINTENANCE:
        found.extend(_maintenance(name, node, text))
    elif name == "CreateStmt":
        found.append(Statement("CREATE TABLE", table=_relation(node.get("relation")), text=text))
    elif name == "TransactionStmt":
        kind = str(node.get("kind", "")).removeprefix("TRANS_STMT_")
        found.append(Statement(kind if kind in _TRANSACTION_KINDS else f"TRANSACTION {kind}"))
    elif name == "VariableSetStmt":
        found.append(
            Statement(
                "SET",
                name=node.get("name"),
                value=_set_value(node),
                flags=frozenset({"local"} if node.get("is_local") else ()),
                text=text,
            )
        )
    elif name == "GrantStmt":
        # GRANT … TO a named role: that role is the cluster's, shared by every database
        named = any(
            grantee.get("RoleSpec", {}).get("roletype") == "ROLESPEC_CSTRING"
            for grantee in node.get("grantees", ())
        )
        to_role = {"to_role"} if node.get("is_grant") and named else set()
        found.append(Statement("GRANT", flags=frozenset(to_role), text=text))
    elif name in _STATEMENT_NAMES:
        found.append(
            Statement(
                _STATEMENT_NAMES[name],
                # CREATE TRIGGER ... ON t locks t (SHARE ROW EXCLUSIVE)
                table=_relation(node.get("relation")) if name == "CreateTrigStmt" else None,
                name=_created_name(name, node),
                literals=_literals(node),
                text=text,
            )
        )
    else:
        found.append(Statement(_words(name.removesuffix("Stmt")), text=text))
    return found


_MAINTENANCE = frozenset(
    {"VacuumStmt", "ClusterStmt", "ReindexStmt", "LockStmt", "RefreshMatViewStmt"}
)


def _options(items: Any) -> set[str]:
    """``["full", "analyze"]`` of ``VACUUM (FULL, ANALYZE)``."""
    return {
        str(item["DefElem"].get("defname", "")).lower()
        for item in items or ()
        if isinstance(item, dict) and "DefElem" in item
    }


def _maintenance(name: str, node: dict[str, Any], text: str) -> list[Statement]:
    """VACUUM, CLUSTER, REINDEX, LOCK and REFRESH MATERIALIZED VIEW: what they lock."""
    if name == "VacuumStmt":
        kind = "VACUUM" if node.get("is_vacuumcmd") else "ANALYZE"
        flags = frozenset(_options(node.get("options")) & {"full"})
        tables = [
            _relation(item.get("VacuumRelation", {}).get("relation"))
            for item in node.get("rels") or ()
        ]
        return [Statement(kind, table=t, flags=flags, text=text) for t in tables or [None]]
    if name == "ClusterStmt":
        return [
            Statement(
                "CLUSTER",
                table=_relation(node.get("relation")),
                name=node.get("indexname"),
                text=text,
            )
        ]
    if name == "ReindexStmt":
        what = str(node.get("kind", "")).removeprefix("REINDEX_OBJECT_").lower()
        relation = _relation(node.get("relation"))
        flags = frozenset(_options(node.get("params")) & {"concurrently"})
        return [
            Statement(
                "REINDEX",
                table=relation if what == "table" else None,
                name=relation if what != "table" else node.get("name"),
                value=what,
                flags=flags,
                text=text,
            )
        ]
    if name == "LockStmt":
        mode = int(node.get("mode") or ACCESS_EXCLUSIVE_MODE)
        locks: set[str] = set()
        if mode >= _WRITE_BLOCKING_MODE:
            locks.add("blocks_writes")
        if mode == ACCESS_EXCLUSIVE_MODE:
            locks.add("access_exclusive")
        return [
            Statement(
                "LOCK", table=_relation(item.get("RangeVar")), flags=frozenset(locks), text=text
            )
            for item in node.get("relations", ())
        ]
    flags = frozenset({"concurrently"} if node.get("concurrent") else ())
    return [
        Statement("REFRESH MAT VIEW", name=_relation(node.get("relation")), flags=flags, text=text)
    ]


def _set_value(node: dict[str, Any]) -> str | None:
    """The value a ``SET`` gives (``'5s'``, ``0``), None for ``RESET``/``TO DEFAULT``."""
    args = node.get("args") or []
    if node.get("kind") != "VAR_SET_VALUE" or not args:
        return None
    constant = args[0].get("A_Const", {}) if isinstance(args[0], dict) else {}
    for key in ("sval", "ival", "fval"):
        if key in constant:
            # libpg_query leaves out zero values: ``{"ival": {}}`` is 0
            return str(constant[key].get(key, 0))
    return None


def _excerpt(sql: str, raw: dict[str, Any]) -> str:
    start = raw.get("stmt_location", 0)
    length = raw.get("stmt_len") or len(sql.encode("utf-8")) - start
    # libpg_query's offsets count bytes
    text = sql.encode("utf-8")[start : start + length].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."


def with_placeholders(sql: str) -> str:
    """``:name`` (``sa.text``) and ``%(name)s``/``%s`` (DBAPI) parameters as ``$1``.

    PostgreSQL's parser knows only ``$n``; quoted strings and ``::`` casts are kept.
    """
    parts = _QUOTED.split(sql)
    # odd positions are the quoted strings the split kept
    return "".join(
        part if index % 2 else _PARAMETER.sub("$1", part) for index, part in enumerate(parts)
    )


_LEADING = re.compile(rb"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)


def _start_line(data: bytes, start: int) -> int:
    """Newlines before the first word of the statement at byte ``start`` (comments skipped)."""
    match = _LEADING.match(data, start)
    end = match.end() if match else start
    return data.count(b"\n", 0, end)


def _parse(sql: str) -> list[Statement]:
    # The JSON form of libpg_query's tree is 3x faster to get than pglast's
    # Python node objects, and holds all the rules need.
    tree = json.loads(parse_sql_json(sql))
    data = sql.encode("utf-8")
    found: list[Statement] = []
    for raw in tree.get("stmts", ()):
        line = _start_line(data, raw.get("stmt_location", 0))
        found.extend(
            statement._replace(line=line)
            for statement in _statements_of(raw["stmt"], _excerpt(sql, raw))
        )
    return found


@functools.lru_cache(maxsize=4096)
def parse_statements(sql: str) -> tuple[Statement, ...]:
    """Every change ``sql`` makes; SQL PostgreSQL's parser rejects gives one UNPARSABLE.

    Bind parameters (``:name``, ``%(name)s``) are accepted. Never raises; an
    empty string gives ``()``.
    """
    if not sql.strip():
        return ()
    try:
        return tuple(_parse(sql))
    except Exception:
        # pglast raises ParseError for bad SQL; anything else that fails on odd
        # input must not stop the analysis either: the SQL is simply opaque.
        pass
    if ":" in sql or "%" in sql:
        try:
            return tuple(_parse(with_placeholders(sql)))
        except Exception:
            pass
    return (Statement(UNPARSABLE, text=" ".join(sql.split())[:120]),)


def statement_kinds(sql: str) -> list[str]:
    """Kinds of every statement in ``sql``, e.g. ``["INSERT", "ALTER TABLE DROP COLUMN"]``.

    SQL that PostgreSQL's parser rejects gives ``["UNPARSABLE"]``; this never raises.
    """
    return [statement.kind for statement in parse_statements(sql)]
