"""Jinja rendering: sandboxed, StrictUndefined, project templates before packaged ones.

A typo in a template is a user error, not a crash: it becomes a StagerError
naming the template and line.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stager.errors import StagerError
from stager.resources import packaged_path

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment


def render_template(name: str, search_path: tuple[Path, ...] = (), **context: Any) -> str:
    """Render ``name`` looking first in ``search_path`` (e.g. .stager/templates)."""
    import jinja2

    folders = [str(p) for p in search_path if p.is_dir()] + [str(packaged_path("templates"))]
    environment = _environment(tuple(folders))
    try:
        return environment.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as error:
        raise StagerError(
            f"{error.filename or name}:{error.lineno}: template syntax error: {error.message}",
            "fix the template",
        ) from None
    except jinja2.TemplateNotFound:
        raise StagerError(
            f"template {name!r} not found in {', '.join(folders)}",
            "restore the template or reinstall stager",
        ) from None
    except jinja2.UndefinedError as error:
        raise StagerError(
            f"{name}:{_template_line(error, name)}: {error.message}",
            "check the variable name against docs/ (templates use StrictUndefined)",
        ) from None


@functools.lru_cache(maxsize=8)
def _environment(folders: tuple[str, ...]) -> SandboxedEnvironment:
    """One environment per search path: it keeps compiled templates (open-pr renders many)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(list(folders)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def _template_line(error: BaseException, name: str) -> str:
    """Line of the template frame in a Jinja traceback (Jinja rewrites frames to it)."""
    traceback = error.__traceback__
    line = "?"
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.endswith(name):
            line = str(traceback.tb_lineno)
        traceback = traceback.tb_next
    return line


def first_template(names: Sequence[str], search_path: tuple[Path, ...] = ()) -> str:
    """The first of ``names`` found in ``search_path`` or the packaged templates.

    Lets a more specific template (e.g. ``phases/<name>/pr_body.md.j2``) win
    over the general one; the last name is returned when none exists, so the
    error names the template people expect.
    """
    folders = [p for p in search_path if p.is_dir()] + [packaged_path("templates")]
    for name in names:
        if any((folder / name).is_file() for folder in folders):
            return name
    return names[-1]
