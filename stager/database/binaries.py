"""Where the system's PostgreSQL programs are: on PATH, else Debian's /usr/lib/postgresql/*/bin."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from stager.database.errors import DatabaseError

DEBIAN_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = (
    "install PostgreSQL's server programs (Debian/Ubuntu: apt-get install postgresql; "
    "macOS: brew install postgresql), or give an existing server with --database-url URL"
)


@dataclass(frozen=True)
class Binaries:
    """One installation's folder of programs (initdb, postgres, psql, pg_dump side by side)."""

    folder: Path

    def program(self, name: str) -> Path:
        return self.folder / name


def _version_key(folder: Path) -> tuple[int, ...]:
    """Debian's ``/usr/lib/postgresql/15/bin``: newest major version first."""
    digits = folder.parent.name.split(".")
    return tuple(int(part) for part in digits if part.isdigit())


def _folders(path_variable: str, debian_root: Path) -> list[Path]:
    """Candidate folders: initdb on PATH (its real folder: Debian links it), then Debian's."""
    found: list[Path] = []
    on_path = shutil.which("initdb", path=path_variable)
    if on_path is not None:
        found.append(Path(on_path).resolve().parent)
    debian = sorted(debian_root.glob("*/bin"), key=_version_key, reverse=True)
    found.extend(debian)
    return found


def find_binaries(
    needed: tuple[str, ...] = ("initdb", "postgres", "psql"),
    path_variable: str | None = None,
    debian_root: Path = DEBIAN_ROOT,
) -> Binaries:
    """The first installation that has every program of ``needed``; else a clear error."""
    path_variable = os.environ.get("PATH", "") if path_variable is None else path_variable
    for folder in _folders(path_variable, debian_root):
        if all(os.access(folder / name, os.X_OK) for name in needed):
            return Binaries(folder)
    if "initdb" not in needed:  # psql alone (an existing server): PATH may hold only the client
        client = shutil.which(needed[0], path=path_variable)
        if client is not None:
            return Binaries(Path(client).parent)  # as found: Debian's psql is a wrapper
    raise DatabaseError(
        f"PostgreSQL is not installed: no {', '.join(needed)} on PATH or in {debian_root}/*/bin",
        INSTALL_HINT,
    )
