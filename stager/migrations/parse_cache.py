"""A cache of parsed revision files, keyed by blob id, in the user's cache folder.

A blob id names its content, so an entry can never be stale for the same
parser; the file name carries a hash of the parser's own source, so a new
stager (or an edited checkout) starts a fresh cache. Like black's cache it is
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

_PARSER_MODULES = (
    "revision_files.py",
    "parse.py",
    "operations.py",
    "op_arguments.py",
    "executed_sql.py",
    "kinds.py",
    "sql.py",
)


@cache
def _parser_fingerprint() -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    folder = Path(__file__).resolve().parent
    for name in _PARSER_MODULES:
        try:
            digest.update((folder / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.hexdigest()[:16]


def cache_file(repository_key: str) -> Path | None:
    """Where the cache for one repository lives; None when caching is off."""
    if os.environ.get("STAGER_NO_CACHE"):
        return None
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = hashlib.sha1(
        f"{repository_key}\0{_parser_fingerprint()}".encode(), usedforsecurity=False
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
