"""Plain SQL migration files (Flyway, dbmate, golang-migrate, sqitch): the same rules.

Each statement becomes the :class:`~stager.migrations.actions.Action` an
``op.execute`` of it would give, at its own line of the file, so a ``.sql``
migration meets exactly the rules an Alembic revision does. Which function a
file (or part of one) plays follows the tools' conventions:

* golang-migrate ``*.down.sql``, Flyway undo ``U<n>__*.sql`` and sqitch's
  ``revert/`` folder are downgrades; sqitch's ``verify/`` scripts change nothing;
* dbmate keeps both in one file, after ``-- migrate:up`` and ``-- migrate:down``;
  ``transaction:false`` on that line runs the part outside a transaction.

A file of one statement runs outside any transaction block with golang-migrate
and Flyway (PostgreSQL's implicit transaction covers several statements only),
so ``CREATE INDEX CONCURRENTLY`` alone in its file is the safe form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import PurePosixPath
from typing import NamedTuple

from stager.findings import Finding
from stager.git.repository import TreeEntry
from stager.migrations import actions as a
from stager.migrations.actions import Action, statement_actions
from stager.migrations.kinds import actions_kind
from stager.migrations.lint.checks import DOWNGRADE, UPGRADE, Hit, check_actions, check_sql_path
from stager.migrations.lint.engine import finding_of, inline_ignore
from stager.migrations.lint.envpy import EnvSettings
from stager.migrations.revision_files import BlobSource
from stager.migrations.sql import parse_statements
from stager.types import MigrationKind, RepoPath

_DBMATE = re.compile(r"^--\s*migrate:(up|down)\b(.*)$", re.MULTILINE)
_FLYWAY_UNDO = re.compile(r"^U\d", re.IGNORECASE)
_VERSION = re.compile(r"^[VU]?(\d+(?:[._]\d+)*)", re.IGNORECASE)


class _Part(NamedTuple):
    """A stretch of a SQL file that runs as one function (upgrade or downgrade)."""

    function: str
    first_line: int  # 1-based line of the file where ``text`` starts
    text: str
    autocommit: bool = False


def is_sql_migration(path: str) -> bool:
    """A ``.sql`` file that is a migration: anything but a sqitch ``verify/`` script."""
    parts = PurePosixPath(path).parts
    return path.lower().endswith(".sql") and "verify" not in parts[:-1]


def version_key(path: str) -> tuple[tuple[int, ...], str]:
    """Flyway ``V1_2__x.sql``, golang-migrate ``0007_x.up.sql``, dbmate ``20240101_x.sql``."""
    name = PurePosixPath(path).name
    match = _VERSION.match(name)
    numbers = tuple(int(n) for n in re.split(r"[._]", match.group(1))) if match else ()
    return numbers, path


def _function_of(path: str) -> str:
    pure = PurePosixPath(path)
    if pure.name.lower().endswith(".down.sql") or _FLYWAY_UNDO.match(pure.name):
        return DOWNGRADE
    return DOWNGRADE if "revert" in pure.parts[:-1] else UPGRADE


def _parts(path: str, text: str, function: str | None) -> list[_Part]:
    markers = list(_DBMATE.finditer(text))
    if not markers:
        return [_Part(function or _function_of(path), 1, text)]
    parts: list[_Part] = []
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        start = marker.end()
        parts.append(
            _Part(
                UPGRADE if marker.group(1) == "up" else DOWNGRADE,
                text.count("\n", 0, start) + 1,
                text[start:end],
                "transaction:false" in marker.group(2).replace(" ", ""),
            )
        )
    return parts


def sql_actions(path: str, text: str, function: str | None = None) -> list[Action]:
    """Every statement of the file as an action, at its own 1-based line.

    ``function``: the Alembic function that reads the file (else the file's name says).
    """
    found: list[Action] = []
    for part in _parts(path, text, function):
        statements = parse_statements(part.text)
        # one statement alone is not in a transaction block (no implicit transaction)
        alone = sum(1 for s in statements if s.kind != "SET") <= 1
        flags = frozenset({"autocommit"}) if part.autocommit or alone else frozenset()
        for statement in statements:
            line = part.first_line + statement.line
            base = Action(a.OTHER, part.function, line, flags=flags, end_line=line)
            found.extend(statement_actions(statement, base))
    return found


def _ignores(text: str) -> dict[int, frozenset[str]]:
    found: dict[int, frozenset[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if "--" in line and "stager" in line:
            rules = inline_ignore(line.split("--", 1)[1])
            if rules is not None:
                found[number] = rules
    return found


def _spans(actions: Sequence[Action]) -> dict[int, range]:
    """Each statement's lines: from its first line (or the comment line above) to the next's."""
    starts = sorted({action.line for action in actions})
    ends = [*starts[1:], 1 << 30]
    return {start: range(max(1, start - 1), end) for start, end in zip(starts, ends, strict=True)}


def _silenced(hit: Hit, ignores: dict[int, frozenset[str]], spans: dict[int, range]) -> bool:
    lines = spans.get(hit.line, range(hit.line, hit.line + 1))
    return any(
        line in lines and ("*" in rules or hit.rule in rules) for line, rules in ignores.items()
    )


# The SQL form of the hints that name Alembic's calls: a .sql file has no op.* to call.
_SQL_HINTS = {
    "SM010": "CREATE INDEX CONCURRENTLY, alone in its file (or in a part that runs outside a "
    "transaction, e.g. dbmate's transaction:false): it does not block writes",
    "SM011": "DROP INDEX CONCURRENTLY, alone in its file (outside a transaction block)",
    "SM025": "start the file with SET lock_timeout = '5s'; (and retry on timeout), or set it "
    "for the role the migrations run as (ALTER ROLE ... SET lock_timeout)",
}


def sql_file_findings(
    path: RepoPath, data: bytes, version: int, function: str | None = None
) -> list[Finding]:
    """The migration rules on one SQL migration file; ``-- stager: ignore[SMxxx]`` silences."""
    text = data.decode("utf-8", "replace")
    actions = sql_actions(path, text, function)
    hits = check_actions(actions, EnvSettings(), version)
    hits.extend(check_sql_path(actions, EnvSettings(), version))
    ignores = _ignores(text)
    spans = _spans(actions)
    return [
        finding_of(path, hit._replace(hint=hit.hint or _SQL_HINTS.get(hit.rule)), version)
        for hit in hits
        if not _silenced(hit, ignores, spans)
    ]


class SqlMigrations(NamedTuple):
    """The branch's plain SQL migration files (``[migrations] sql``): findings and kinds."""

    findings: list[Finding]
    kinds: dict[RepoPath, MigrationKind]


def sql_migrations(
    paths: Sequence[RepoPath],
    head_tree: Mapping[RepoPath, TreeEntry],
    blobs: BlobSource,
    version: int,
) -> SqlMigrations:
    """Each changed SQL migration file read from head (one batch), linted and given its kind."""
    wanted = {head_tree[path].blob: path for path in paths if path in head_tree}
    found = SqlMigrations([], {})
    for blob, data in blobs.read_blobs(wanted).items():
        path = wanted[blob]
        text = data.decode("utf-8", "replace")
        found.kinds[path] = actions_kind(sql_actions(path, text))
        found.findings.extend(sql_file_findings(path, data, version))
    return found


def ordered(paths: Sequence[str]) -> Iterator[str]:
    """SQL migration files in the order their tool runs them (version, then name)."""
    yield from sorted((p for p in paths if is_sql_migration(p)), key=version_key)
