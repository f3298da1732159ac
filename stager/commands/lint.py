"""`stager lint [PATH...]`: the migration rules on files or folders, no git needed.

Also a pre-commit hook (.pre-commit-hooks.yaml): pre-commit passes the
changed revision files; exit 4 when a finding reaches ``--fail-on``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stager.errors import StagerError
from stager.migrations.lint.files import LintReport, lint_paths
from stager.render.analysis import RISK_BADGES, Format, finding_to_json, operation_to_json
from stager.render.console import terminal_console
from stager.rules.project import load_project_rules
from stager.types import Risk

if TYPE_CHECKING:
    from rich.console import Console

EXIT_FINDINGS = 4
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class LintOptions:
    root: Path  # -C: relative paths and the printed paths start here
    rules_path: Path | None
    paths: tuple[Path, ...]
    output_format: Format
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
    if not options.root.is_dir():
        raise StagerError(f"{options.root}: no such folder", "check the path given to -C")
    project = project_root(options.root)
    rules = load_project_rules(options.rules_path, project)
    report = lint_paths(options.paths, options.root, rules, project)
    if options.output_format is Format.JSON:
        print(render_json(report), end="")
    elif options.output_format is Format.MARKDOWN:
        print(render_markdown(report), end="")
    else:
        render_terminal(report)
    failing = [finding for finding in report.findings if finding.risk >= options.fail_on]
    return EXIT_FINDINGS if failing else 0


def report_to_json(report: LintReport) -> dict[str, Any]:
    """The lint JSON document; keys are a contract (docs/json-output.md)."""
    return {
        "postgres_version": report.postgres_version,
        "files": [
            {
                "path": migration.path,
                "revision": migration.revision,
                "down_revision": list(migration.down_revisions),
                "title": migration.title,
                "kind": migration.kind.value,
                "operations": [operation_to_json(op) for op in migration.operations],
                "findings": [
                    finding_to_json(f) for f in report.findings if f.path == migration.path
                ],
            }
            for migration in report.files
        ],
        "findings": [finding_to_json(finding) for finding in report.findings],
        "environments": [
            {
                "env_py": env.path,
                "transaction_per_migration": env.transaction_per_migration,
                "transactional_ddl": env.transactional_ddl,
                "lock_timeout": env.lock_timeout,
            }
            for env in report.environments
        ],
        "skipped": list(report.skipped),
        "schema_version": SCHEMA_VERSION,
    }


def render_json(report: LintReport) -> str:
    return json.dumps(report_to_json(report), indent=2, ensure_ascii=False) + "\n"


def _summary(report: LintReport) -> str:
    if not report.files and not report.findings:
        return "No revision files found (files assigning `revision = ...`)."
    files = f"{len(report.files)} revision file{'s' if len(report.files) != 1 else ''}"
    where = f"{files}, PostgreSQL {report.postgres_version}"
    if not report.findings:
        return f"No findings in {where}."
    counts = [
        f"{sum(1 for f in report.findings if f.risk is risk)} {risk.label}"
        for risk in sorted(Risk, reverse=True)
        if any(f.risk is risk for f in report.findings)
    ]
    total = len(report.findings)
    return f"{total} finding{'s' if total != 1 else ''} in {where}: {', '.join(counts)}."


def render_markdown(report: LintReport) -> str:
    """A paste-ready GitHub table of the findings."""
    lines = ["## Migration lint", "", _summary(report), ""]
    if report.findings:
        lines += ["| Risk | Rule | Where | Finding | Fix |", "|---|---|---|---|---|"]
        for f in report.findings:
            message = f.message.replace("|", "\\|")
            hint = f.hint.replace("|", "\\|")
            lines.append(
                f"| {RISK_BADGES[f.risk]} | {f.rule} | `{f.location()}` | {message} | {hint} |"
            )
        lines.append("")
    return "\n".join(lines)


def render_terminal(report: LintReport, console: Console | None = None) -> None:
    """Findings as `path:line` lines (editors and pre-commit link them), with colours."""
    from rich.text import Text

    from stager.render.analysis import RISK_STYLES

    console = console or terminal_console(highlight=False)
    for finding in report.findings:
        line = Text()
        line.append(finding.location(), style="bold")
        line.append(": ")
        line.append(finding.rule, style="bold")
        line.append(" ")
        line.append(finding.risk.label, style=RISK_STYLES[finding.risk])
        line.append(f" {finding.message}")
        console.print(line, soft_wrap=True)
        console.print(Text(f"    fix: {finding.hint}", style="dim"), soft_wrap=True)
    console.print(Text(_summary(report)), soft_wrap=True)
