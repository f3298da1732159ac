"""A cache of parsed revision files, keyed by blob id, in the user's cache folder.

A blob id names its content, so an entry can never be stale for the same
parser; the file name carries a hash of the source of every module the parser
imports, so a new stager (or an edited checkout) starts a fresh cache. Like black's cache it is
a pickle in the user's own cache folder, written atomically; anything wrong
with it (missing, corrupt, unwritable) just means parsing again. It never
lives in the analysed repository. ``STAGER_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from stager.migrations.revision_files import MigrationFile
from stager.types import Sha

# Every stager module the parser imports (tests/migrations/test_parse_cache.py checks
# against Python's own imports): their classes give the pickles their shape
# (MigrationFile, Operation, MigrationKind …), their code the content (a revision's kind).
_PARSER_MODULES = (
    "types.py",
    "migrations/revision_files.py",
    "migrations/parse.py",
    "migrations/parse_cache.py",
    "migrations/operations.py",
    "migrations/op_arguments.py",
    "migrations/executed_sql.py",
    "migrations/actions.py",
    "migrations/kinds.py",
    "migrations/sql.py",
)


def parser_sources() -> list[Path]:
    package = Path(__file__).resolve().parent.parent
    return [package / name for name in _PARSER_MODULES]


@cache
def _parser_fingerprint() -> str | None:
    """A hash of :func:`parser_sources`; None when one cannot be read (no cache then)."""
    digest = hashlib.sha1(usedforsecurity=False)
    try:
        for path in parser_sources():
            digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:16]


def cache_file(repository_key: str) -> Path | None:
    """Where the cache for one repository lives; None when caching is off."""
    if os.environ.get("STAGER_NO_CACHE"):
        return None
    fingerprint = _parser_fingerprint()
    if fingerprint is None:
        return None
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = hashlib.sha1(
        f"{repository_key}\0{fingerprint}".encode(), usedforsecurity=False
    ).hexdigest()
    return Path(root) / "stager" / "parsed" / f"{name}.pickle"


def load(path: Path | None) -> dict[Sha, MigrationFile]:
    if path is None:
        return {}
    try:
        with path.open("rb") as stream:
            data = pickle.load(stream)
    except Exception:  # a broken cache (truncated, old classes) is only a slower run
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, MigrationFile)}


def save(path: Path | None, parsed: Mapping[Sha, MigrationFile]) -> None:
    """Replace the cache with ``parsed`` (the files of this run: the cache stays bounded)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            pickle.dump(dict(parsed), stream, protocol=pickle.HIGHEST_PROTOCOL)
        Path(temporary).replace(path)
    except Exception:  # an unwritable cache is only a slower next run
        return
