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
import subprocess
import sys
from collections.abc import Iterator, Mapping
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
    folders = [tree]
    for _level in range(depth):
        deeper: list[Path] = []
        for folder in folders:
            for child in folder.iterdir():
                if not child.is_dir() or child.name.startswith(".") or child.name in _SKIPPED:
                    continue
                if (child / "__init__.py").is_file():
                    yield child.name
                deeper.append(child)
        folders = deeper


def foreign_packages(tree: Path, ini: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The project's packages the migrations import that resolve outside ``tree``: name → path."""
    script, prepend = _ini_paths(ini)
    if script is None or not script.is_dir():
        return {}
    wanted = sorted(_imported(script) & set(_packages(tree)))
    if not wanted:
        return {}
    result = subprocess.run(
        [sys.executable, "-c", _LOCATE, json.dumps([str(path) for path in prepend]), *wanted],
        cwd=tree,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return {}
    found: dict[str, str | None] = json.loads(result.stdout)
    inside = tree.resolve()
    return {
        name: origin
        for name, origin in sorted(found.items())
        if origin is not None and not Path(origin).resolve().is_relative_to(inside)
    }
