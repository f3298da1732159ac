"""`stager lint [PATH...]`: the migration rules on files or folders, no git needed.

Also a pre-commit hook (.pre-commit-hooks.yaml): pre-commit passes the
changed revision files; exit 4 when a finding reaches ``--fail-on``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stager.commands.output import EXIT_FINDINGS, emit
from stager.errors import StagerError
from stager.migrations.lint.files import lint_paths
from stager.render.ci_annotations import render_github, render_sarif
from stager.render.formats import Format
from stager.render.lint import render_json, render_markdown, render_terminal
from stager.rules.project import load_project_rules
from stager.types import Risk


@dataclass(frozen=True)
class LintOptions:
    repo_path: Path  # -C: relative paths and the printed paths start here
    rules_path: Path | None
    paths: tuple[Path, ...]
    output_format: str  # a Format, or one of CI_FORMATS
    fail_on: Risk


def project_root(folder: Path) -> Path:
    """The project ``folder`` is in: the nearest folder upward holding ``.stager/`` or ``.git``.

    ``stager lint`` run from ``migrations/`` still reads the project's
    ``.stager/rules.toml`` and names files (and matches ignore globs) from
    the project root; ``folder`` itself when no such folder is found.
    """
    start = folder.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".stager").is_dir() or (candidate / ".git").exists():
            return candidate
    return start


def run(options: LintOptions) -> int:
    """Lint, print in the asked format; 4 when a finding is at or above --fail-on."""
    if not options.repo_path.is_dir():
        raise StagerError(f"{options.repo_path}: no such folder", "check the path given to -C")
    project = project_root(options.repo_path)
    rules = load_project_rules(options.rules_path, project)
    report = lint_paths(options.paths, options.repo_path, rules, project)
    if options.output_format == "sarif":
        print(render_sarif(report.findings), end="")
    elif options.output_format == "github":
        print(render_github(report.findings), end="")
    else:
        emit(
            Format(options.output_format),
            partial(render_terminal, report),
            partial(render_markdown, report),
            partial(render_json, report),
        )
    failing = [finding for finding in report.findings if finding.risk >= options.fail_on]
    return EXIT_FINDINGS if failing else 0
