"""Where stager's caches live: one file per repository and parser, in the user's cache folder.

Both caches (parsed revision files, the facts of Python files) are keyed by blob
id inside; this module names their files. The name carries a hash of the sources
of the code that fills the cache, so a new stager (or an edited checkout) starts
a fresh file instead of trusting entries another parser wrote. A cache never
lives in the analysed repository; ``STAGER_NO_CACHE=1`` turns every cache off.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path


def sources_fingerprint(paths: Iterable[Path], salt: bytes = b"") -> str | None:
    """A hash of ``salt`` and the content of ``paths``; None when one cannot be read."""
    digest = hashlib.sha1(salt, usedforsecurity=False)
    try:
        for path in paths:
            digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:16]


def cache_path(
    folder: str, repository_key: str, fingerprint: str | None, suffix: str
) -> Path | None:
    """``<cache>/stager/<folder>/<hash of repository and fingerprint><suffix>``; None when
    caching is off or the fingerprint could not be made."""
    if os.environ.get("STAGER_NO_CACHE") or fingerprint is None:
        return None
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = hashlib.sha1(
        f"{repository_key}\0{fingerprint}".encode(), usedforsecurity=False
    ).hexdigest()
    return Path(root) / "stager" / folder / f"{name}{suffix}"
