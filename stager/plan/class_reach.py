"""Whether a Python file of head reaches a class: defines it, imports its module or names it.

A name that merely spells a dropped column or enum value counts as a use only
in a file that reaches the model (or enum class) it belongs to.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from stager.plan.pyfacts import PyFacts
from stager.types import RepoPath


@dataclass(frozen=True)
class ClassRef:
    """A class of head (a model, an enum) and the file that defines it."""

    path: RepoPath
    class_name: str


def reaches(path: RepoPath, facts: PyFacts, classes: Iterable[ClassRef]) -> bool:
    """The file at ``path`` defines, imports (its module) or names one of ``classes``."""
    for ref in classes:
        if ref.path == path:
            return True
        if ref.class_name in facts.names or ref.class_name in facts.imported:
            return True
        module = ref.path.removesuffix(".py").removesuffix("/__init__").split("/")
        for imported in facts.imports:
            target = _absolute(path, imported.module, imported.level)
            candidates = [target] + [f"{target}.{name}" for name in imported.names]
            if any(_suffix(candidate.split("."), module) for candidate in candidates):
                return True
    return False


def _absolute(path: str, module: str, level: int) -> str:
    """``from ..models import x`` in ``app/api/v.py`` → ``app.models``."""
    if not level:
        return module
    folders = posixpath.dirname(path).split("/")
    parts = folders[: len(folders) - (level - 1)]
    return ".".join(part for part in (*parts, *module.split(".")) if part)


def _suffix(dotted: list[str], module: list[str]) -> bool:
    """``app.models.user`` names ``backend/app/models/user.py`` (its module path ends so)."""
    dotted = [part for part in dotted if part]
    return bool(dotted) and module[-len(dotted) :] == dotted
