"""What an Alembic env.py says about transactions and lock_timeout, read with ``ast``.

Real projects configure these once, in env.py, for every migration:

* ``context.configure(transaction_per_migration=True)``: each migration runs
  in its own transaction (alembic's default is one transaction for a whole
  ``alembic upgrade``);
* ``context.configure(transactional_ddl=False)``: no transaction at all;
* ``SET lock_timeout`` executed on the connection, or passed as a connection
  option (``connect_args={"options": "-c lock_timeout=5s"}``, asyncpg's
  ``server_settings={"lock_timeout": ...}``).

env.py is never imported or run.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

ENV_PY = "env.py"

_LOCK_TIMEOUT = re.compile(
    r"lock_timeout\s*(?:=|\bto\b|:)?\s*['\"]?\s*([0-9][0-9a-z ]*)", re.IGNORECASE
)


@dataclass(frozen=True)
class EnvSettings:
    """Settings of one Alembic environment; the defaults are alembic's own."""

    path: str | None = None  # the env.py they were read from
    transaction_per_migration: bool = False
    transactional_ddl: bool = True
    lock_timeout_line: int | None = None  # where env.py sets lock_timeout for every migration

    @property
    def lock_timeout(self) -> bool:
        return self.lock_timeout_line is not None


def _sets_lock_timeout(text: str) -> bool:
    """``SET lock_timeout = '5s'``, ``-c lock_timeout=5000``, a ``"lock_timeout"`` key; not 0."""
    if "lock_timeout" not in text.lower():
        return False
    if text.strip().lower() == "lock_timeout":
        return True  # a settings key: {"lock_timeout": "5s"}
    match = _LOCK_TIMEOUT.search(text)
    return match is not None and match.group(1).strip() not in {"0", "0s", "0ms"}


def read_env(source: bytes, path: str | None = None) -> EnvSettings:
    """Settings of the env.py ``source``; alembic's defaults when it cannot be read."""
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return EnvSettings(path=path)
    per_migration = False
    transactional = True
    lock_line: int | None = None
    # Docstrings and other bare strings only talk about lock_timeout.
    bare = {
        id(node.value)
        for node in ast.walk(module)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(module):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name != "configure":
                continue
            for keyword in node.keywords:
                value = keyword.value.value if isinstance(keyword.value, ast.Constant) else None
                if keyword.arg == "transaction_per_migration" and value is True:
                    per_migration = True
                elif keyword.arg == "transactional_ddl" and value is False:
                    transactional = False
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and lock_line is None
            and id(node) not in bare
            and _sets_lock_timeout(node.value)
        ):
            lock_line = node.lineno
    return EnvSettings(path, per_migration, transactional, lock_line)


def find_env(
    migration_path: str, exists: Callable[[str], bool], levels: int | None = None
) -> str | None:
    """The env.py nearest above a revision file (``versions/``'s parent, usually), or None.

    ``levels`` bounds how many folders up it looks (the revision's own folder first).
    """
    folder = posixpath.dirname(migration_path)
    seen = 0
    while levels is None or seen <= levels:
        candidate = posixpath.join(folder, ENV_PY) if folder else ENV_PY
        if exists(candidate):
            return candidate
        parent = posixpath.dirname(folder)
        if not folder or parent == folder:
            return None
        folder, seen = parent, seen + 1
    return None
