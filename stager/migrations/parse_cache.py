"""A cache of parsed revision files, keyed by blob id, in the user's cache folder.

It also keeps what PostgreSQL's parser answered for each SQL text a run asked
about (:mod:`stager.migrations.pg_parser`): a run that finds them all here does
not even import pglast.

A blob id names its content, so an entry can never be stale for the same
parser; the file name carries a hash of the source of every module the parser
imports, so a new stager (or an edited checkout) starts a fresh cache. It is
plain JSON read back by type (:mod:`stager.plain_data`), never a pickle: a
file planted in the cache folder cannot run code. Written atomically in the
user's own cache folder; anything wrong with it (missing, corrupt, unwritable)
just means parsing again. It never lives in the analysed repository.
``STAGER_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import NamedTuple

from stager.cache_files import cache_path, sources_fingerprint
from stager.migrations.pg_parser import Answer
from stager.migrations.revision_files import MigrationFile
from stager.plain_data import from_plain, to_plain
from stager.types import Sha

_VERSION = 2  # of the file's layout; the parser itself is in the name

# Every stager module the parser and the cache import (tests/migrations/test_parse_cache.py
# checks against Python's own imports): their classes give the entries their shape
# (MigrationFile, Operation, MigrationKind …), their code the content (a revision's kind)
# and the JSON form (plain_data).
_PARSER_MODULES = (
    "types.py",
    "plain_data.py",
    "cache_files.py",
    "migrations/revision_files.py",
    "migrations/parse.py",
    "migrations/parse_cache.py",
    "migrations/operations.py",
    "migrations/op_arguments.py",
    "migrations/executed_sql.py",
    "migrations/actions.py",
    "migrations/kinds.py",
    "migrations/sql.py",
    "migrations/pg_parser.py",
)


def parser_sources() -> list[Path]:
    package = Path(__file__).resolve().parent.parent
    return [package / name for name in _PARSER_MODULES]


@cache
def _parser_fingerprint() -> str | None:
    """A hash of :func:`parser_sources` and pglast's version (its answers are kept too);
    None when one cannot be read (no cache then)."""
    return sources_fingerprint([*parser_sources(), *_pglast_version_file()])


def _pglast_version_file() -> list[Path]:
    """pglast's ``__init__.py``, which holds its version, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("pglast")
    return [Path(spec.origin)] if spec is not None and spec.origin else []


def cache_file(repository_key: str) -> Path | None:
    """Where the cache for one repository lives; None when caching is off."""
    if os.environ.get("STAGER_NO_CACHE"):
        return None
    return cache_path("parsed", repository_key, _parser_fingerprint(), ".json")


class Cached(NamedTuple):
    """What a run reads back: revision files by blob, PostgreSQL's parser's answers by SQL text."""

    files: dict[Sha, MigrationFile]
    sql: dict[str, Answer]


def load(path: Path | None) -> Cached:
    if path is None:
        return Cached({}, {})
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return Cached({}, {})
        files = {
            Sha(blob): from_plain(MigrationFile, entry, blob)
            for blob, entry in data["files"].items()
        }
        answers = data["sql"]
        if not isinstance(answers, dict) or not all(
            isinstance(answer, str | None) for answer in answers.values()
        ):
            return Cached({}, {})
        return Cached(files, answers)
    except Exception:  # a broken or foreign cache is only a slower run, never trusted
        return Cached({}, {})


def save(
    path: Path | None,
    parsed: Mapping[Sha, MigrationFile],
    sql: Mapping[str, Answer],
) -> None:
    """Replace the cache with ``parsed`` and ``sql``: this run's, so it stays bounded."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        files = {blob: to_plain(migration) for blob, migration in parsed.items()}
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(
                {"version": _VERSION, "files": files, "sql": dict(sql)},
                stream,
                separators=(",", ":"),
            )
        Path(temporary).replace(path)
    except Exception:  # an unwritable cache is only a slower next run
        return
