"""A database's schema read from its catalog, as data that compares: not dump text.

Dump text does not compare: recent ``pg_dump`` writes a random ``\\restrict``
key, a column's place follows the order of ``ADD COLUMN``, and so on. The
snapshot holds what a schema is: each table's columns (type, nullability,
default, identity, generated expression, collation) in their order, and the
server's own definitions of indexes, constraints, views, functions and
triggers (``pg_get_indexdef`` and its siblings), sequences, extensions,
grants, and enums with their labels in order.

Objects of the schemas ``pg_catalog``, ``information_schema`` and
``pg_toast``, objects an extension owns, and the project's Alembic version
table (``public.alembic_version``, or where :mod:`stager.database.version_table`
found it) are left out: exactly that table, so another schema's
``alembic_version`` is the project's own. Names in ``public`` are bare; others
are ``schema.name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stager.database.psql import Psql
from stager.database.version_table import excluded
from stager.types import VersionTable

# Stands in each query for the condition that leaves out the project's version table.
_NOT_VERSION_TABLE = "(NOT the version table)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    default: str | None
    identity: str  # "" | "always" | "by default"
    generated: str | None  # a stored generated column's expression
    collation: str | None  # only when it is not the type's default


@dataclass(frozen=True)
class CatalogSnapshot:
    """One database's schema; every mapping is keyed by a readable, qualified name."""

    tables: Mapping[str, tuple[Column, ...]]  # columns in their order (attnum)
    indexes: Mapping[str, str]  # name → pg_get_indexdef
    constraints: Mapping[str, str]  # "name on table" → pg_get_constraintdef
    views: Mapping[str, str]  # name → pg_get_viewdef (materialized: prefixed)
    functions: Mapping[str, str]  # name(identity arguments) → pg_get_functiondef
    triggers: Mapping[str, str]  # "name on table" → pg_get_triggerdef
    sequences: Mapping[str, str]  # name → type, start, increment, bounds, cycle
    extensions: Mapping[str, str]  # name → version
    grants: frozenset[str]  # "PRIVILEGE on object to grantee"
    enums: Mapping[str, tuple[str, ...]]  # type → labels in their order


# Every query yields (key, value) rows; ``_qualified`` is the readable name of an object.
_USER_SCHEMA = (
    "{ns}.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND {ns}.nspname NOT LIKE 'pg\\_toast%' AND {ns}.nspname NOT LIKE 'pg\\_temp\\_%'"
)


def _user(ns: str) -> str:
    return _USER_SCHEMA.format(ns=ns)


def _qualified(ns: str, name: str) -> str:
    return f"CASE WHEN {ns}.nspname = 'public' THEN {name} ELSE {ns}.nspname || '.' || {name} END"


def _not_extension(catalog: str, oid: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass "
        f"AND d.objid = {oid} AND d.deptype = 'e')"
    )


_TABLE = (
    f"c.relkind IN ('r', 'p', 'f') AND {_user('n')} AND {_NOT_VERSION_TABLE} "
    f"AND {_not_extension('pg_class', 'c.oid')}"
)

COLUMNS = f"""
SELECT {_qualified("n", "c.relname")} AS "table", a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS "default",
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' ELSE '' END
           AS identity,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation,
       a.attnum AS position
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE {_TABLE}
ORDER BY 1, a.attnum
"""

_TABLE_NAMES = f"""
SELECT {_qualified("n", "c.relname")} AS key, n.nspname AS schema, c.relname AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_TABLE} ORDER BY 1
"""


def _leaving_out(query: str, version_table: VersionTable) -> str:
    return query.replace(_NOT_VERSION_TABLE, excluded(version_table))


def table_names(version_table: VersionTable) -> str:
    """The query of the tables the snapshot holds: readable name, schema and name (for rows)."""
    return _leaving_out(_TABLE_NAMES, version_table)


TABLES = f"""
SELECT {_qualified("n", "c.relname")} AS key FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_TABLE}
"""

INDEXES = f"""
SELECT {_qualified("n", "i.relname")} AS key, pg_get_indexdef(x.indexrelid) AS value
FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_TABLE}
"""

CONSTRAINTS = f"""
SELECT r.conname || ' on ' || {_qualified("n", "c.relname")} AS key,
       pg_get_constraintdef(r.oid, true) AS value
FROM pg_constraint r JOIN pg_class c ON c.oid = r.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_TABLE}
UNION ALL
SELECT r.conname || ' on domain ' || {_qualified("n", "t.typname")},
       pg_get_constraintdef(r.oid, true)
FROM pg_constraint r JOIN pg_type t ON t.oid = r.contypid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {_user("n")} AND {_not_extension("pg_type", "t.oid")}
"""

VIEWS = f"""
SELECT {_qualified("n", "c.relname")} AS key,
       CASE c.relkind WHEN 'm' THEN 'materialized: ' ELSE '' END
           || pg_get_viewdef(c.oid, true) AS value
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND {_user("n")} AND {_not_extension("pg_class", "c.oid")}
"""

FUNCTIONS = f"""
SELECT {_qualified("n", "p.proname")} || '(' || pg_get_function_identity_arguments(p.oid) || ')'
           AS key,
       CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_get_functiondef(p.oid) END AS value
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_user("n")} AND {_not_extension("pg_proc", "p.oid")}
"""

TRIGGERS = f"""
SELECT g.tgname || ' on ' || {_qualified("n", "c.relname")} AS key,
       pg_get_triggerdef(g.oid, true) AS value
FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT g.tgisinternal AND {_user("n")}
"""

SEQUENCES = f"""
SELECT {_qualified("n", "c.relname")} AS key,
       format_type(s.seqtypid, NULL) || ' start ' || s.seqstart || ' increment '
           || s.seqincrement || ' min ' || s.seqmin || ' max ' || s.seqmax
           || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END AS value
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_user("n")} AND {_not_extension("pg_class", "c.oid")}
"""

EXTENSIONS = "SELECT extname AS key, extversion AS value FROM pg_extension"

GRANTS = f"""
SELECT a.privilege_type || ' on ' || {_qualified("n", "c.relname")} || ' to '
           || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
           || CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END AS key
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
     aclexplode(c.relacl) AS a
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND {_user("n")}
      AND {_NOT_VERSION_TABLE}
UNION ALL
SELECT a.privilege_type || ' on schema ' || n.nspname || ' to '
           || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
FROM pg_namespace n, aclexplode(n.nspacl) AS a
WHERE {_user("n")} AND n.nspname <> 'public'
"""

ENUMS = f"""
SELECT {_qualified("n", "t.typname")} AS key, e.enumlabel AS label,
       e.enumsortorder AS position
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE {_user("n")} AND {_not_extension("pg_type", "t.oid")}
ORDER BY 1, e.enumsortorder
"""


_QUERIES = {
    "tables": TABLES,
    "columns": COLUMNS,
    "indexes": INDEXES,
    "constraints": CONSTRAINTS,
    "views": VIEWS,
    "functions": FUNCTIONS,
    "triggers": TRIGGERS,
    "sequences": SEQUENCES,
    "extensions": EXTENSIONS,
    "grants": GRANTS,
    "enums": ENUMS,
}


def _pairs(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {str(row["key"]): str(row["value"]) for row in rows}


def take_snapshot(psql: Psql, version_table: VersionTable) -> CatalogSnapshot:
    """The schema of ``psql``'s database, read from its catalog in one query.

    ``version_table``: the project's Alembic version table, left out.
    """
    parts = ", ".join(
        f"'{name}', (SELECT coalesce(json_agg(row_to_json(q)), '[]') "
        f"FROM ({_leaving_out(query, version_table)}) AS q)"
        for name, query in _QUERIES.items()
    )
    found: dict[str, list[dict[str, Any]]] = psql.value(f"SELECT json_build_object({parts})")
    tables: dict[str, list[Column]] = {str(row["key"]): [] for row in found["tables"]}
    # json_agg need not keep a subquery's order: each row carries its position
    for row in sorted(found["columns"], key=lambda row: (row["table"], row["position"])):
        tables[row["table"]].append(
            Column(
                name=row["name"],
                type=row["type"],
                nullable=row["nullable"],
                default=row["default"],
                identity=row["identity"],
                generated=row["generated"],
                collation=row["collation"],
            )
        )
    enums: dict[str, list[str]] = {}
    for row in sorted(found["enums"], key=lambda row: (row["key"], row["position"])):
        enums.setdefault(row["key"], []).append(row["label"])
    return CatalogSnapshot(
        tables={name: tuple(columns) for name, columns in sorted(tables.items())},
        indexes=_pairs(found["indexes"]),
        constraints=_pairs(found["constraints"]),
        views=_pairs(found["views"]),
        functions=_pairs(found["functions"]),
        triggers=_pairs(found["triggers"]),
        sequences=_pairs(found["sequences"]),
        extensions=_pairs(found["extensions"]),
        grants=frozenset(str(row["key"]) for row in found["grants"]),
        enums={name: tuple(labels) for name, labels in sorted(enums.items())},
    )
