"""What an Alembic env.py says about transactions, lock_timeout and its version table, by ``ast``.

Real projects configure these once, in env.py, for every migration:

* ``context.configure(transaction_per_migration=True)``: each migration runs
  in its own transaction (alembic's default is one transaction for a whole
  ``alembic upgrade``);
* ``context.configure(transactional_ddl=False)``: no transaction at all;
* ``SET lock_timeout`` executed on the connection, or passed as a connection
  option (``connect_args={"options": "-c lock_timeout=5s"}``, asyncpg's
  ``server_settings={"lock_timeout": ...}``);
* ``context.configure(version_table_schema="core", version_table="versions")``:
  where Alembic keeps its revisions (``verify --database`` reads and writes
  there), when env.py writes them as literals.

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


_VERSION_KEYWORDS = ("version_table_schema", "version_table")


@dataclass(frozen=True)
class EnvVersionTable:
    """The version table env.py passes to ``context.configure``; None: Alembic's default."""

    schema: str | None = None
    name: str | None = None
    line: int | None = None  # the first keyword that names it
    # what env.py computes instead of writing a literal, or writes differently in two
    # calls: "version_table_schema=CORE_SCHEMA (line 42)"
    computed: tuple[str, ...] = ()


def read_version_table(source: bytes) -> EnvVersionTable:
    """``version_table_schema=`` and ``version_table=`` of env.py's ``configure`` calls."""
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return EnvVersionTable()
    found: dict[str, set[str | None]] = {keyword: set() for keyword in _VERSION_KEYWORDS}
    computed: list[str] = []
    lines: list[int] = []
    for node in ast.walk(module):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) != (
            "configure"
        ):
            continue
        for keyword in node.keywords:
            if keyword.arg not in found:
                continue
            value = keyword.value
            lines.append(value.lineno)
            if isinstance(value, ast.Constant) and isinstance(value.value, str | None):
                found[keyword.arg].add(value.value)
            else:
                computed.append(f"{keyword.arg}={ast.unparse(value)} (line {value.lineno})")
    for argument, values in found.items():
        if len(values) > 1:  # the offline and online runs disagree: not one place
            shown = " and ".join(repr(value) for value in sorted(values, key=str))
            computed.append(f"{argument}={shown} in different calls")
    schema = next(iter(found["version_table_schema"]), None)
    name = next(iter(found["version_table"]), None)
    return EnvVersionTable(schema, name, min(lines, default=None), tuple(computed))


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
