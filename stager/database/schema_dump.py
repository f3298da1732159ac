"""``pg_dump --schema-only`` of two databases, as a diff for people: not what verify compares.

The catalog snapshot decides (:mod:`stager.database.snapshot`): dump text does
not compare, since column order follows the order of ``ADD COLUMN`` and recent
``pg_dump`` versions write a random ``\\restrict`` key. When the end state
differs, the diff of the two dumps shows the objects in full, as SQL. The key
is fixed (``--restrict-key``, on the versions that have it), the comments and
``SET`` lines are left out, and so is the project's Alembic version table.
"""

from __future__ import annotations

import difflib
import functools
import subprocess
from pathlib import Path

from stager.database.psql import Psql, quote_ident, sealed_environment
from stager.types import VersionTable

RESTRICT_KEY = "stager"
_SHOWN = 80
# comments, session settings, and the \restrict pair (its key fixed, so it never differs)
_NOISE = ("--", "SET ", "SELECT pg_catalog.set_config(", "\\restrict ", "\\unrestrict ")


@functools.cache
def _has_restrict_key(pg_dump: Path) -> bool:
    """``--restrict-key``: PostgreSQL 13.22, 14.19, 15.14, 16.10, 17.6 and later."""
    try:
        result = subprocess.run(
            [str(pg_dump), "--help"], capture_output=True, text=True, check=False
        )
    except OSError:
        return False
    return "--restrict-key" in result.stdout


def schema_dump(psql: Psql, version_table: VersionTable) -> list[str] | None:
    """The schema of ``psql``'s database as ``pg_dump`` writes it, noise left out.

    None when there is no ``pg_dump`` beside ``psql`` or it fails: the diff is an aid.
    """
    pg_dump = psql.binaries.program("pg_dump")
    if not pg_dump.is_file():
        return None
    command = [
        str(pg_dump),
        "--schema-only",
        "--no-owner",
        # quoted: pg_dump's pattern then names exactly that table
        f"--exclude-table={quote_ident(version_table.schema)}.{quote_ident(version_table.name)}",
        f"--dbname={psql.connection.conninfo()}",
    ]
    if _has_restrict_key(pg_dump):
        command.append(f"--restrict-key={RESTRICT_KEY}")
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=sealed_environment(psql.connection.password),
            check=False,
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return [
        line for line in result.stdout.splitlines() if line.strip() and not line.startswith(_NOISE)
    ]


def dump_diff(
    expected: Psql, phased: Psql, what: str, version_table: VersionTable
) -> tuple[str, ...]:
    """The unified diff from ``what``'s schema dump to the phases' (empty when none can be had)."""
    before, after = schema_dump(expected, version_table), schema_dump(phased, version_table)
    if before is None or after is None:
        return ()
    lines = list(
        difflib.unified_diff(before, after, fromfile=what, tofile="the phases", n=1, lineterm="")
    )
    if len(lines) > _SHOWN:
        lines = [*lines[:_SHOWN], f"… and {len(lines) - _SHOWN} more lines"]
    return tuple(lines)
