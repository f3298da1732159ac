"""Which rules a command uses: ``--rules PATH``, else the project's ``.stager/rules.toml``.

The project's file is read from the work tree, else (a bare repository, a CI
checkout without one) from the head commit; without one, the packaged rules.
``stager analyze`` and ``stager lint`` both load their rules here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stager.errors import StagerError
from stager.rules.settings import Rules, default_rules, load_rules
from stager.rules.toml_file import toml_text

PROJECT_RULES = ".stager/rules.toml"


def load_project_rules(
    rules_path: Path | None,
    work_tree: Path | None,
    committed: Callable[[], bytes | None] = lambda: None,
) -> Rules:
    """--rules PATH, else WORK_TREE/.stager/rules.toml, else ``committed()``, else the default.

    ``committed`` reads ``.stager/rules.toml`` of the head commit (None: none
    there); it is asked only when there is no work tree.
    """
    default = default_rules()
    if rules_path is not None:
        source, fix = str(rules_path), "check the path given to --rules"
        text = toml_text(rules_path, source, what="rules file", fix=fix)
        return load_rules(text, source, default=default)
    if work_tree is not None:
        path = in_tree(work_tree, PROJECT_RULES, "rules file")
        if not path.is_file():
            return default
        fix = f"check the permissions of {path}"
        text = toml_text(path, PROJECT_RULES, what="rules file", fix=fix)
        return load_rules(text, PROJECT_RULES, default=default)
    data = committed()
    if data is None:
        return default
    return load_rules(toml_text(data, PROJECT_RULES), PROJECT_RULES, default=default)


def in_tree(work_tree: Path, relative: str, what: str) -> Path:
    """``work_tree/relative``; StagerError when it, or a folder on the way, is a symbolic link.

    A project file (rules, templates) committed as a link could point anywhere
    (gh's hosts.yml): stager never follows a link out of the tree, and refuses
    every link rather than telling those that stay inside from those that do
    not. ``relative`` never holds ``..`` (constants, and template names that
    Jinja has split).
    """
    path = work_tree
    for part in Path(relative).parts:
        path = path / part
        if path.is_symlink():
            raise StagerError(
                f"{what} {work_tree / relative}: {path} is a symbolic link; stager reads "
                "project files only from inside the repository and never follows a link",
                f"replace {path.name} with the file (or folder) itself",
            )
    return path
