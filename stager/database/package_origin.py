"""Where the project's own packages resolve for its Alembic: in the phase's tree, or elsewhere.

An editable install of the user's checkout (a ``.pth`` path, setuptools' finder)
makes ``import app`` find the checkout's package when the phase's tree does not
hold it on ``sys.path`` first, a ``src/`` layout for instance: Alembic would then
run with the checkout's models, not the phase's. stager asks the interpreter,
with the environment the project's Alembic gets, where each package that the
migrations import and the tree holds comes from. ``importlib.util.find_spec`` of
a top-level name locates it without running it: no project code runs here.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

_DEPTH = 3  # tree/app, tree/src/app, tree/backend/src/app
_SKIPPED = frozenset({"node_modules", "site-packages", "__pycache__"})
_LOCATE = """
import importlib.util, json, sys
sys.path[:0] = json.loads(sys.argv[1])
found = {}
for name in sys.argv[2:]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        found[name] = spec.origin or next(iter(spec.submodule_search_locations or []), None)
print(json.dumps(found))
"""


def _ini_paths(ini: Path) -> tuple[Path | None, list[Path]]:
    """The ini's script folder and its ``prepend_sys_path`` folders."""
    parser = configparser.ConfigParser(defaults={"here": str(ini.parent)})
    try:
        parser.read(ini, encoding="utf-8")
        script = parser.get("alembic", "script_location", fallback="")
        prepend = parser.get("alembic", "prepend_sys_path", fallback="")
    except (configparser.Error, UnicodeDecodeError):
        return None, []
    folder = (ini.parent / script) if script and ":" not in script.replace(os.sep, "") else None
    separators = prepend.replace(os.pathsep, " ").split()
    return folder, [ini.parent / part for part in separators]


def _imported(folder: Path) -> set[str]:
    """Top-level names that env.py and the revision files import."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _packages(tree: Path, depth: int = _DEPTH) -> Iterator[str]:
    """Names of the packages (folders with ``__init__.py``) near the top of the tree."""
    for package in package_folders(tree, depth):
        yield package.name


def package_folders(tree: Path, depth: int = _DEPTH) -> Iterator[Path]:
    """The packages (folders with ``__init__.py``) near the top of the tree."""
    folders = [tree]
    for _level in range(depth):
        deeper: list[Path] = []
        for folder in folders:
            for child in folder.iterdir():
                if not child.is_dir() or child.name.startswith(".") or child.name in _SKIPPED:
                    continue
                if (child / "__init__.py").is_file():
                    yield child
                deeper.append(child)
        folders = deeper


def _shebang(script: Path) -> list[str] | None:
    """The interpreter a script's ``#!`` line names (``/usr/bin/env python3`` too)."""
    try:
        with script.open("rb") as file:
            first = file.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    try:
        words = shlex.split(first[2:].decode("utf-8", "replace"))
    except ValueError:
        return None
    return words or None


def project_python(alembic: Sequence[str], tree: Path, env: Mapping[str, str]) -> list[str]:
    """The interpreter that runs the project's Alembic command, as a command line.

    ``.venv/bin/python -m alembic``: that python; ``uv run alembic`` (a runner
    before the word ``alembic``): the runner's ``python``; ``.venv/bin/alembic``
    or ``alembic`` on ``PATH``: the interpreter of the script's ``#!`` line.
    Else stager's own, which may not see what the project's sees.
    """
    names = [Path(word).name for word in alembic]
    if names and names[0].startswith("python"):
        return [alembic[0]]
    if "alembic" in names[1:]:
        return [*alembic[: names.index("alembic")], "python"]
    if names and names[0] == "alembic":
        command = alembic[0]
        found = (
            str(tree / command)
            if os.sep in command and not Path(command).is_absolute()
            else shutil.which(command, path=env.get("PATH"))
        )
        interpreter = _shebang(Path(found)) if found else None
        if interpreter:
            return interpreter
    return [sys.executable]


def foreign_packages(
    tree: Path, ini: Path, env: Mapping[str, str], python: Sequence[str] = (sys.executable,)
) -> dict[str, str]:
    """The project's packages the migrations import that resolve outside ``tree``: name → path."""
    script, prepend = _ini_paths(ini)
    if script is None or not script.is_dir():
        return {}
    wanted = sorted(_imported(script) & set(_packages(tree)))
    if not wanted:
        return {}
    try:
        result = subprocess.run(
            [*python, "-c", _LOCATE, json.dumps([str(path) for path in prepend]), *wanted],
            cwd=tree,
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:  # the project's interpreter is not there: Alembic's own run will say so
        return {}
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        return {}
    try:  # the answer is the last line: a runner (uv run, poetry run) may print before it
        found: dict[str, str | None] = json.loads(lines[-1])
    except ValueError:
        return {}
    inside = tree.resolve()
    return {
        name: origin
        for name, origin in sorted(found.items())
        if origin is not None and not Path(origin).resolve().is_relative_to(inside)
    }
