"""Rendering an Analysis: JSON (stable keys), markdown (Jinja) and the terminal (rich).

Computing happens elsewhere; this module only turns data into text. The JSON
path imports neither rich nor jinja2: it is the one scripts and CI call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stager.analysis import Analysis, MergedPhase
from stager.branches.merged import REVERTED
from stager.findings import Finding
from stager.git.repository import Commit
from stager.migrations.compare import MigrationReport
from stager.migrations.revision_files import MigrationFile
from stager.plan import Conflict, Dependency
from stager.plan.phase import Phase, PlannedPartial, PlannedSplit
from stager.render.formats import (
    RISK_BADGES,
    RISK_STYLES,
    SCHEMA_VERSION,
    finding_to_json,
    json_text,
    operation_to_json,
    shown_location,
)
from stager.render.quoting import one_line, quote_path
from stager.render.templating import render_template
from stager.types import Risk
from stager.wording import count

if TYPE_CHECKING:
    from rich.console import Console

# --- JSON -------------------------------------------------------------------


def _environments(report: MigrationReport) -> list[dict[str, Any]]:
    """One entry per Alembic environment (keyed by its versions folders), head's first."""
    keys = list(dict.fromkeys([*report.head_environments, *report.base_environments]))
    entries = []
    for key in keys:
        head, base = report.head_environments.get(key), report.base_environments.get(key)
        entries.append(
            {
                "versions_dirs": list(key),
                "revisions": len(head) if head is not None else 0,
                "revisions_base": len(base) if base is not None else 0,
                "heads_base": sorted(base.heads()) if base is not None else [],
                "heads_head": sorted(head.heads()) if head is not None else [],
            }
        )
    return entries


def _commit(commit: Commit) -> dict[str, Any]:
    return {
        "sha": commit.sha,
        "parents": list(commit.parents),
        "author": commit.author_name,
        "author_email": commit.author_email,
        "date": commit.author_date,
        "subject": commit.subject,
        "files": list(commit.files),
    }


def conflict_to_json(conflict: Conflict) -> dict[str, Any]:
    """A file the rules put earlier than a dependency allows (docs/json-output.md)."""
    edge = conflict.dependency
    return {
        "path": conflict.path,
        "asked": conflict.asked,
        "needed": conflict.needed,
        "kind": edge.kind.value,
        "dependency": edge.dependency,
        "reason": edge.reason,
        "strict": edge.strict,
    }


def dependency_to_json(edge: Dependency) -> dict[str, Any]:
    return {
        "dependent": edge.dependent,
        "dependency": edge.dependency,
        "kind": edge.kind.value,
        "reason": edge.reason,
        "strict": edge.strict,
        "line": edge.line,
    }


def phase_to_json(phase: Phase) -> dict[str, Any]:
    return {
        "number": phase.number,
        "name": phase.name,
        "title": phase.title,
        "files": [
            {"path": f.path, "reason": f.reason, "old_path": f.old_path} for f in phase.files
        ],
        "migrations": [
            {
                "revision": m.revision,
                "down_revision": list(m.down_revision),
                "original_down_revision": list(m.original_down_revision),
                "path": m.path,
            }
            for m in phase.migrations
        ],
        "depends_on": list(phase.depends_on),
        "risk": phase.risk.label,
        "maintenance_window": phase.maintenance_window,
        "derived": [
            {"path": d.path, "kind": d.kind.value, "origin": d.origin, "note": d.note}
            for d in phase.derived
        ],
    }


def partial_to_json(partial: PlannedPartial) -> dict[str, Any]:
    """A file split by hunk: what its early phase ships of it, and where the rest goes."""
    return {
        "path": partial.path,
        "phase": partial.phase,
        "file_phase": partial.file_phase,
        "hunks": list(partial.hunks),
        "hunk_count": partial.hunk_count,
        "adds": list(partial.adds),
        "routed": list(partial.routed),
        "note": partial.describe(),
    }


def split_to_json(split: PlannedSplit) -> dict[str, Any]:
    """A mixed migration split: the new expand revision, each part's phase and operations."""
    return {
        "revision": split.revision,
        "expand_revision": split.expand_revision,
        "path": split.path,
        "expand_path": split.expand_path,
        "expand_phase": split.expand_phase,
        "contract_phase": split.contract_phase,
        "expand_operations": [operation_to_json(op) for op in split.expand_operations],
        "contract_operations": [operation_to_json(op) for op in split.contract_operations],
        "reason": split.reason,
    }


def _migration(migration: MigrationFile, change: str, findings: list[Finding]) -> dict[str, Any]:
    return {
        "revision": migration.revision,
        "down_revision": list(migration.down_revisions),
        "path": migration.path,
        "change": change,
        "title": migration.title,
        "kind": migration.kind.value,
        "branch_labels": list(migration.branch_labels),
        "depends_on": list(migration.depends_on),
        "operations": [operation_to_json(op) for op in migration.operations],
        "findings": [finding_to_json(f) for f in findings if f.path == migration.path],
    }


def merged_to_json(phase: MergedPhase) -> dict[str, Any]:
    return {
        "number": phase.number,
        "branch": phase.branch,
        "commit": phase.commit,
        "state": phase.state,
        "how": phase.how,
        "on_base": list(phase.on_base),
        "missing": list(phase.missing),
    }


def merged_line(phase: MergedPhase) -> str:
    """One line for a phase the base holds: which, and how it got there."""
    line = f"phase {phase.number} ({phase.branch}) is {phase.state} on the base ({phase.how})"
    if phase.missing:
        gone = "reverted" if phase.state == REVERTED else "not on the base"
        line += f"; {gone}: {', '.join(quote_path(path) for path in phase.missing)}"
    return line


def analysis_to_json(analysis: Analysis) -> dict[str, Any]:
    """The analyze JSON document; keys are a contract (docs/json-output.md)."""
    refs = analysis.refs
    report = analysis.migrations
    findings = list(analysis.findings)
    changed_migrations = [
        *((m, "added") for m in report.added),
        *((m, "modified") for m in report.modified),
        *((m, "deleted") for m in report.deleted),
    ]
    by_path = {c.path: c for c in analysis.classes}
    return {
        "base": refs.base,
        "head": refs.head,
        "merge_base": refs.merge_base,
        "base_ref": refs.base_ref,
        "head_ref": refs.head_ref,
        "files": [
            {
                "path": f.path,
                "old_path": f.old_path,
                "status": f.status.value,
                "additions": f.additions,
                "deletions": f.deletions,
                "binary": f.binary,
                "submodule": f.submodule,
                "old_mode": f.old_mode,
                "new_mode": f.new_mode,
                "category": by_path[f.path].category,
                "risk": by_path[f.path].risk.label,
                "phase": by_path[f.path].phase,
                "reasons": list(by_path[f.path].reasons),
            }
            for f in analysis.files
        ],
        "categories": [
            {
                "category": s.category,
                "title": s.title,
                "count": s.count,
                "risk": s.risk.label,
                "can_stage_first": s.can_stage_first,
            }
            for s in analysis.categories
        ],
        "migrations": [_migration(m, change, findings) for m, change in changed_migrations],
        "alembic": {
            "versions_dirs": list(report.versions_dirs),
            "revisions": report.revision_count(),
            "revisions_base": report.revision_count(base=True),
            "heads_base": report.all_heads(base=True),
            "heads_head": report.all_heads(),
            "environments": _environments(report),
        },
        "findings": [finding_to_json(f) for f in findings],
        "phases": [phase_to_json(p) for p in analysis.plan.phases],
        "conflicts": [conflict_to_json(c) for c in analysis.plan.conflicts],
        "splits": [split_to_json(split) for split in analysis.plan.splits],
        "partials": [partial_to_json(partial) for partial in analysis.plan.partials],
        "commits": [_commit(c) for c in analysis.commits],
        "base_drift": {
            "commits": [_commit(c) for c in analysis.drift.commits],
            "files": list(analysis.drift.overlapping),
        },
        "merged_phases": [merged_to_json(phase) for phase in analysis.merged_phases],
        "warnings": list(analysis.warnings),
        "schema_version": SCHEMA_VERSION,
    }


def render_json(analysis: Analysis, *, pretty: bool = True) -> str:
    """Indented for people; compact for pipes (json's C encoder only runs without indent)."""
    return json_text(analysis_to_json(analysis), pretty=pretty, compact=True)


# --- Markdown ---------------------------------------------------------------


def render_markdown(analysis: Analysis) -> str:
    """Paste-ready GitHub markdown, from templates/analyze.md.j2."""

    return render_template(
        "analyze.md.j2",
        analysis=analysis,
        data=analysis_to_json(analysis),
        risk_badge=lambda label: RISK_BADGES[Risk.parse(label)],
    )


# --- Terminal ---------------------------------------------------------------


def render_terminal(analysis: Analysis, console: Console) -> None:
    """The risk table and summaries, with rich.

    Text from the repository and the rules is never read as rich markup: a
    ``[/]`` in a docstring is shown, not parsed.
    """
    from rich.table import Table
    from rich.text import Text

    refs = analysis.refs
    header = Text.assemble(
        (one_line(refs.head_ref), "bold"),
        f" ({refs.head[:10]}) against merge base {refs.merge_base[:10]} of ",
        (one_line(refs.base_ref), "bold"),
        f" — {count(len(analysis.files), 'file')} changed in "
        f"{count(len(analysis.commits), 'commit')}",
    )
    # Titles, paths and warnings are data (a title may hold "[/]", a path "[slug]"):
    # printed as Text, never read as rich markup.
    console.print(header)
    for phase in analysis.merged_phases:
        console.print(Text(f"merged: {one_line(merged_line(phase))}"))
    for warning in analysis.warnings:
        console.print(Text.assemble(("warning:", "yellow"), f" {one_line(warning)}"))

    table = Table(title="Risk assessment", title_justify="left")
    table.add_column("Category")
    table.add_column("Count", justify="right")
    table.add_column("Risk")
    table.add_column("Can stage first?")
    for summary in analysis.categories:
        table.add_row(
            Text(one_line(summary.title)),
            str(summary.count),
            Text(RISK_BADGES[summary.risk], style=RISK_STYLES[summary.risk]),
            Text(one_line(summary.can_stage_first)),
        )
    console.print(table)
    _print_migrations(analysis, console)
    _print_findings(analysis.findings, console)
    _print_phases(analysis.plan.phases, console)


def _print_migrations(analysis: Analysis, console: Console) -> None:
    from rich.text import Text

    report = analysis.migrations
    if not report.versions_dirs and not len(report.head):
        console.print("\n[bold]Alembic:[/] no migrations found")
        return
    heads_before = ", ".join(map(quote_path, report.all_heads(base=True))) or "-"
    heads_after = ", ".join(map(quote_path, report.all_heads())) or "-"
    folders = ", ".join(map(quote_path, report.versions_dirs)) or "-"
    console.print(
        Text.assemble(
            "\n",
            ("Alembic", "bold"),
            f" ({folders}): {count(report.revision_count(), 'revision')}; "
            f"{_heads(report.all_heads(base=True))} at the merge base {heads_before}, "
            f"on the branch {heads_after}; branch adds {len(report.added)}, "
            f"modifies {len(report.modified)}, deletes {len(report.deleted)}",
        )
    )
    for sign, group in (("+", report.added), ("~", report.modified), ("-", report.deleted)):
        for migration in group:
            kind = f"{migration.kind.value:<14} " if sign == "+" else ""
            revision = quote_path(str(migration.revision))
            console.print(Text(f"  {sign} {revision}  {kind}{one_line(migration.title)}"))


def _heads(heads: Sequence[str]) -> str:
    return "head" if len(heads) <= 1 else "heads"


def _print_findings(findings: tuple[Finding, ...], console: Console) -> None:
    from rich.text import Text

    if not findings:
        console.print("\n[bold]Findings:[/] none")
        return
    console.print(f"\n[bold]Findings[/] ({len(findings)}):")
    for finding in findings:
        line = Text("  ")
        line.append(f"{finding.risk.label.upper():<8}", style=RISK_STYLES[finding.risk])
        line.append(f" {finding.rule}  {shown_location(finding)}", style="bold")
        console.print(line)
        console.print(Text(f"           {one_line(finding.message)}"))
        console.print(Text(f"           fix: {one_line(finding.hint)}", style="dim"))


def _print_phases(phases: tuple[Phase, ...], console: Console) -> None:
    from rich.text import Text

    console.print("\n[bold]Proposed phases:[/]")
    for phase in phases:
        window = " — maintenance window" if phase.maintenance_window else ""
        line = Text(f"  {phase.number}. ")
        line.append(one_line(phase.title), style="bold")
        line.append(
            f" ({one_line(phase.name)}): {count(len(phase.files), 'file')}, "
            f"{count(len(phase.migrations), 'new migration')}, risk {phase.risk.label}{window}"
        )
        console.print(line)
