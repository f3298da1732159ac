"""The rows of every table, as a hash per table: what a seed proves about data migrations.

Each row is read as ``to_jsonb`` (its keys sorted, so the order of the
columns does not count), the rows sorted by that text, and hashed. Two
databases whose tables hash alike hold the same rows; a table whose hash
changed between two phases had rows inserted, updated or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stager.database.psql import Psql, quote_ident, quote_literal
from stager.database.snapshot import table_names
from stager.types import VersionTable


@dataclass(frozen=True)
class TableRows:
    count: int
    digest: str  # md5 of the sorted rows


def table_rows(psql: Psql, version_table: VersionTable) -> dict[str, TableRows]:
    """Every table of the snapshot (the version table left out): its row count and hash."""
    tables = psql.json(table_names(version_table))
    if not tables:
        return {}
    parts = [
        f"SELECT {quote_literal(table['key'])} AS key, count(*) AS n, "
        "md5(coalesce(string_agg(r, E'\\n' ORDER BY r COLLATE \"C\"), '')) AS h "
        f"FROM (SELECT to_jsonb(t)::text AS r FROM "
        f"{quote_ident(table['schema'])}.{quote_ident(table['name'])} AS t) AS rows"
        for table in tables
    ]
    rows = psql.json(" UNION ALL ".join(parts))
    return {row["key"]: TableRows(int(row["n"]), row["h"]) for row in rows}


def changed_tables(
    before: Mapping[str, TableRows], after: Mapping[str, TableRows], *, counts: bool = True
) -> list[str]:
    """Tables in both whose rows differ, each with its row counts when they differ."""
    found: list[str] = []
    for name in sorted(set(before) & set(after)):
        old, new = before[name], after[name]
        if old == new:
            continue
        shown = f" ({old.count} → {new.count} rows)" if counts and old.count != new.count else ""
        found.append(f"{name}{shown}")
    return found
