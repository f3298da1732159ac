"""Jinja rendering: sandboxed, StrictUndefined, project templates before packaged ones.

A typo in a template is a user error, not a crash: it becomes a StagerError
naming the template and line. Every ``{{ value }}`` is made inert as it is
written, the way autoescaping works for HTML: in a markdown template
(``*.md.j2``) no mention, entity or HTML comment (stager's markers are ones)
survives, and in any template control characters are escaped
(stager.render.quoting). The filters ``code`` and ``cell`` put repository
text in a code span and a table cell.

A template that would run for ever or fill the memory is a user error too:
the sandbox has limits (stager.render.limits), and the output stops at
MAX_OUTPUT characters.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stager.errors import StagerError
from stager.render.quoting import BuiltMarkdown, code_span, escape_controls, neutralise, table_cell
from stager.resources import packaged_path
from stager.rules.project import in_tree
from stager.wording import count

if TYPE_CHECKING:
    import jinja2

    from stager.render.sandbox import BoundedSandbox


def render_template(name: str, search_path: tuple[Path, ...] = (), **context: Any) -> str:
    """Render ``name`` looking first in ``search_path`` (e.g. .stager/templates).

    Any error of a template — syntax, a missing variable or template, something
    the sandbox refuses, a failing filter, a file that is not UTF-8 — becomes a
    StagerError naming the template's file (project or packaged) and line: the
    innermost template, when the error is in an included one.
    """
    import jinja2

    project = [str(p) for p in search_path if p.is_dir()]
    folders = [*project, str(packaged_path("templates"))]
    environment = _environment(tuple(folders), len(project))
    try:
        template = environment.get_template(name)
    except UnicodeDecodeError as error:
        raise _not_text(_resolved(name, folders), error) from None
    except jinja2.TemplateError as error:
        raise _template_error(error, None, folders) from None
    where = template.filename or name
    try:
        return _bounded_render(template, where, context)
    except StagerError:
        raise
    except UnicodeDecodeError as error:
        raise _not_text(f"a template included by {_frame(error, folders, where)}", error) from None
    except jinja2.TemplateError as error:
        raise _template_error(error, _frame(error, folders, where), folders) from None
    except Exception as error:  # a filter or test failing on a value: the template's error
        raise StagerError(
            f"{_frame(error, folders, where)}: {type(error).__name__}: {error}",
            "fix the template (every variable is described in docs/)",
        ) from None


def _bounded_render(template: jinja2.Template, where: str, context: dict[str, Any]) -> str:
    """The template's output, stopped past MAX_OUTPUT characters (and the sandbox's limits)."""
    from stager.render import limits

    written = 0
    chunks: list[str] = []
    with limits.budget(limits.MAX_SECONDS, limits.MAX_MEMORY):
        for chunk in template.generate(**context):
            written += len(chunk)
            if written > limits.MAX_OUTPUT:
                raise StagerError(
                    f"{where}: the template wrote more than {limits.MAX_OUTPUT:,} characters "
                    "and was stopped",
                    "make the template write less (GitHub keeps 65,536 characters of a "
                    "pull request body)",
                )
            chunks.append(chunk)
    return "".join(chunks)


def _template_error(
    error: jinja2.TemplateError, where: str | None, folders: Sequence[str]
) -> StagerError:
    import jinja2
    from jinja2.exceptions import SecurityError

    from stager.render.limits import TemplateLimit

    if isinstance(error, jinja2.TemplateSyntaxError):
        return StagerError(
            f"{error.filename or error.name}:{error.lineno}: template syntax error: "
            f"{error.message}",
            "fix the template",
        )
    if isinstance(error, jinja2.TemplateNotFound):
        included = f" (included by {where})" if where else ""
        return StagerError(
            f"template {error.name!r}{included} not found in {', '.join(folders)}",
            "fix the template's name, restore the file or reinstall stager",
        )
    if isinstance(error, TemplateLimit):
        return StagerError(f"{where}: {error.message}", error.fix)
    if isinstance(error, SecurityError):
        return StagerError(
            f"{where}: the template sandbox refused: {error.message}",
            "templates may only read the documented variables (docs/), not Python internals",
        )
    if isinstance(error, jinja2.UndefinedError):
        return StagerError(
            f"{where}: {error.message}",
            "check the variable name against docs/ (templates use StrictUndefined)",
        )
    return StagerError(f"{where}: {error.message or type(error).__name__}", "fix the template")


def _not_text(what: str, error: UnicodeDecodeError) -> StagerError:
    return StagerError(
        f"{what}: the template is not UTF-8 text ({error.reason} at byte {error.start})",
        "save the template as UTF-8",
    )


def _resolved(name: str, folders: Sequence[str]) -> str:
    """The file ``name`` resolves to: the first of ``folders`` that has it."""
    for folder in folders:
        path = Path(folder) / name
        if path.is_file():
            return str(path)
    return name


@functools.lru_cache(maxsize=8)
def _environment(folders: tuple[str, ...], project: int) -> BoundedSandbox:
    """One environment per search path: it keeps compiled templates (open-pr renders many).

    The first ``project`` folders are the project's: a template there, or a
    folder on its way, that is a symbolic link is refused, never followed.
    """
    import jinja2
    from jinja2.loaders import split_template_path

    from stager.render.sandbox import BoundedSandbox

    class NoLinksLoader(jinja2.FileSystemLoader):
        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str, Callable[[], bool]]:
            pieces = "/".join(split_template_path(template))  # TemplateNotFound for ".."
            for folder in folders[:project]:
                in_tree(Path(folder), pieces, "template")
            return super().get_source(environment, template)

    @jinja2.pass_context
    def finalize(context: jinja2.runtime.Context, value: object) -> object:
        return shown_value(context.name, value)

    environment = BoundedSandbox(
        loader=NoLinksLoader(list(folders)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=finalize,
    )
    environment.filters.update(code=code_span, cell=table_cell, count=count)
    return environment


def shown_value(template: str | None, value: object) -> object:
    """What ``{{ value }}`` writes in ``template``: text made inert, numbers as they are.

    The text may come from the branch (a docstring, a file name), so in markdown
    it is neutralised wherever the template puts it, in a code span or not; in
    any other template (the title) its control characters are escaped.
    """
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)  # StrictUndefined raises here, as without finalize
    if isinstance(value, BuiltMarkdown):  # its own pieces were made safe as it was built
        return escape_controls(text)
    if template is not None and template.endswith(".md.j2"):
        return neutralise(text)
    return escape_controls(text)


def _frame(error: BaseException, folders: Sequence[str], fallback: str) -> str:
    """``file:line`` of the innermost template frame of ``error``'s traceback.

    Jinja rewrites the frames of compiled templates to their template's file and
    line; the innermost one is where the error is (an included template's, when
    the error is inside it). ``fallback`` (without a line) when none is found.
    """
    # Jinja's loader joins folder and name with "/" (posixpath), on Windows too.
    roots = tuple({f"{folder}{sep}" for folder in folders for sep in ("/", os.sep)})
    found = fallback
    traceback = error.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.startswith(roots):
            found = f"{filename}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return found


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
