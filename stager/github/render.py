"""Pull request titles and bodies from the Jinja templates.

Lookup order for each template, first found wins:

1. ``.stager/templates/phases/<phase name>/<template>`` in the project,
2. ``.stager/templates/<template>`` in the project,
3. the same two paths among stager's packaged templates.

Templates run sandboxed with StrictUndefined (stager.render.templating): a typo is an
error naming the template and line, not an empty string in a pull request.
"""

from __future__ import annotations

from pathlib import Path

from stager.errors import StagerError
from stager.github.context import PullContext
from stager.render.templating import first_template, render_template
from stager.rules.project import in_tree

TITLE_TEMPLATE = "pr_title.j2"
BODY_TEMPLATE = "pr_body.md.j2"
PROJECT_TEMPLATES = Path(".stager") / "templates"
MAX_TITLE_CHARS = 256  # GitHub's limit for a pull request title


def template_folders(work_tree: Path | None) -> tuple[Path, ...]:
    """The project's template folder, when the repository has a work tree.

    Neither ``.stager`` nor its ``templates`` may be a symbolic link; the
    templates in it are checked as they are read (stager.render.templating).
    """
    if work_tree is None:
        return ()
    return (in_tree(work_tree, PROJECT_TEMPLATES.as_posix(), "template folder"),)


def render_title(context: PullContext, folders: tuple[Path, ...]) -> str:
    """One line: the template's output with its whitespace collapsed."""
    name = _template(TITLE_TEMPLATE, context, folders)
    title = " ".join(render_template(name, folders, **context.variables()).split())
    if not title:
        raise StagerError(
            f"{name} rendered an empty title for phase {context.phase.number}",
            "make the template print something, e.g. {{ phase.title }}",
        )
    return title[:MAX_TITLE_CHARS]


def render_body(context: PullContext, folders: tuple[Path, ...]) -> str:
    """The generated part of the body (without the markers)."""
    name = _template(BODY_TEMPLATE, context, folders)
    return render_template(name, folders, **context.variables()).strip("\n") + "\n"


def _template(name: str, context: PullContext, folders: tuple[Path, ...]) -> str:
    return first_template((f"phases/{context.phase.name}/{name}", name), folders)
