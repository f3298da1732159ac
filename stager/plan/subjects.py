"""Tests follow their subject: ``test_foo.py`` ↔ ``foo.py``, ``Foo.test.jsx`` ↔ ``Foo.jsx``.

A test never lands in an earlier phase than the changed code it tests. When
several changed files could be the subject, the nearest one (longest shared
folder) is.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from itertools import takewhile

from stager.git.diff import ChangedFile
from stager.plan.phase import Dependency, DependencyKind
from stager.plan.sources import is_gone
from stager.types import RepoPath

_PY_TEST = re.compile(r"^(?:test_(?P<a>.+)|(?P<b>.+)_test)\.py$")
_JS_TEST = re.compile(r"^(?P<stem>.+)\.(?:test|spec)\.(?P<ext>[cm]?[jt]sx?)$")
_JS_FAMILY = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs")


def subject_names(path: str) -> tuple[str, ...]:
    """File names the subject of test file ``path`` may have; () when it is no test."""
    name = posixpath.basename(path)
    python = _PY_TEST.match(name)
    if python:
        return (f"{python['a'] or python['b']}.py",)
    js = _JS_TEST.match(name)
    if js:
        return tuple(f"{js['stem']}{ext}" for ext in _JS_FAMILY)
    return ()


def _shared(a: str, b: str) -> int:
    """How many leading folders two paths share."""
    pairs = zip(posixpath.dirname(a).split("/"), posixpath.dirname(b).split("/"), strict=False)
    return len(list(takewhile(lambda pair: pair[0] == pair[1], pairs)))


def subject_dependencies(files: Iterable[ChangedFile]) -> list[Dependency]:
    """Test → subject edges among the changed files (deleted files take no part)."""
    present = [change for change in files if not is_gone(change)]
    by_name: dict[str, list[RepoPath]] = {}
    for change in present:
        if not subject_names(change.path):
            by_name.setdefault(posixpath.basename(change.path), []).append(change.path)
    edges: list[Dependency] = []
    for change in sorted(present, key=lambda c: c.path):
        names = subject_names(change.path)
        candidates = sorted({path for name in names for path in by_name.get(name, ())})
        if not candidates:
            continue
        best = max(_shared(change.path, path) for path in candidates)
        edges += [
            Dependency(change.path, subject, DependencyKind.TEST, f"tests {subject}")
            for subject in candidates
            if _shared(change.path, subject) == best
        ]
    return edges
