"""`stager lint` output: JSON (stable keys), a markdown table, `path:line` lines for terminals."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from stager.migrations.lint.files import LintReport
from stager.render.formats import (
    RISK_BADGES,
    RISK_STYLES,
    SCHEMA_VERSION,
    finding_to_json,
    json_text,
    operation_to_json,
    shown_location,
)
from stager.render.quoting import one_line
from stager.render.templating import render_template
from stager.wording import count

if TYPE_CHECKING:
    from rich.console import Console


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
        "sql_files": list(report.sql_files),
        "schema_version": SCHEMA_VERSION,
    }


def render_json(report: LintReport) -> str:
    return json_text(report_to_json(report), pretty=True)


_NOT_REVISIONS = "not a revision file (a Python file assigning `revision = ...`)"


def _summary(report: LintReport) -> str:
    if not report.files and not report.findings and not report.sql_files:
        if report.named_not_revisions:
            return f"{', '.join(report.named_not_revisions)}: {_NOT_REVISIONS}."
        return "No revision files found (files assigning `revision = ...`)."
    files = count(len(report.files), "revision file")
    if report.sql_files:
        sql = count(len(report.sql_files), "SQL migration file")
        files = sql if not report.files else f"{files} and {sql}"
    where = f"{files}, PostgreSQL {report.postgres_version}"
    if not report.findings:
        return f"No findings in {where}."
    risks = Counter(f.risk for f in report.findings)
    counts = ", ".join(f"{risks[risk]} {risk.label}" for risk in sorted(risks, reverse=True))
    total = len(report.findings)
    return f"{count(total, 'finding')} in {where}: {counts}."


def render_markdown(report: LintReport) -> str:
    """A paste-ready GitHub table of the findings, from templates/lint.md.j2."""
    return render_template(
        "lint.md.j2",
        summary=_summary(report),
        findings=[
            {
                "badge": RISK_BADGES[f.risk],
                "rule": f.rule,
                "where": f.location(),
                "message": f.message,
                "hint": f.hint,
            }
            for f in report.findings
        ],
    )


def render_terminal(report: LintReport, console: Console) -> None:
    """Findings as `path:line` lines (editors and pre-commit link them), with colours."""
    from rich.text import Text

    for finding in report.findings:
        line = Text()
        line.append(shown_location(finding), style="bold")
        line.append(": ")
        line.append(finding.rule, style="bold")
        line.append(" ")
        line.append(finding.risk.label, style=RISK_STYLES[finding.risk])
        line.append(f" {one_line(finding.message)}")
        console.print(line, soft_wrap=True)
        console.print(Text(f"    fix: {one_line(finding.hint)}", style="dim"), soft_wrap=True)
    console.print(Text(_summary(report)), soft_wrap=True)
