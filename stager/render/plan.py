"""`stager plan` output: JSON (stable keys), the markdown staging document, the terminal.

The JSON path imports neither rich nor jinja2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stager.analysis import Analysis
from stager.branches.history_invariant import HistoryWarning, planned_warning
from stager.migrations.revision_files import Operation
from stager.plan.assessment import PhaseChain, phase_total, plan_chains
from stager.plan.phase import DerivedKind, Plan, PlannedSplit
from stager.render.analysis import (
    analysis_to_json,
    conflict_to_json,
    dependency_to_json,
    merged_line,
    merged_to_json,
    partial_to_json,
    phase_to_json,
    split_to_json,
)
from stager.render.formats import (
    RISK_BADGES,
    RISK_STYLES,
    SCHEMA_VERSION,
    finding_to_json,
    json_text,
    shown_location,
)
from stager.render.mermaid import diagram_block, migration_diagram
from stager.render.quoting import one_line, quote_path, table_cell
from stager.render.staging_document import build_document
from stager.render.templating import render_template
from stager.types import Risk
from stager.wording import count

if TYPE_CHECKING:
    from rich.console import Console


def history_to_json(warning: HistoryWarning | None) -> dict[str, Any] | None:
    """``history_exceptions``: the revisions the phases re-chain so that a database at one
    of them must be downgraded (or restored) first; None when there is none."""
    if warning is None:
        return None
    return {
        "revisions": list(warning.revisions),
        "downgrade_to": list(warning.targets),
        "downgrade": warning.downgrade,
        "message": warning.message,
    }


def plan_to_json(
    analysis: Analysis, plan: Plan, chains: Mapping[int, PhaseChain] | None = None
) -> dict[str, Any]:
    """The plan document: analyze's ``phases[]`` (same keys), ``conflicts[]``, the edges.

    ``chains``: what split built, if it did (default: as the plan re-chains).
    """
    refs = analysis.refs
    if chains is None:
        chains = plan_chains(plan.phases, analysis.migrations.base.heads())
    return {
        "base": refs.base,
        "head": refs.head,
        "merge_base": refs.merge_base,
        "base_ref": refs.base_ref,
        "head_ref": refs.head_ref,
        "source": plan.source,
        "phases": [phase_to_json(phase) for phase in plan.phases],
        "conflicts": [conflict_to_json(conflict) for conflict in plan.conflicts],
        "splits": [split_to_json(split) for split in plan.splits],
        "partials": [partial_to_json(partial) for partial in plan.partials],
        "history_exceptions": history_to_json(
            planned_warning(chains, plan.phases, analysis.migrations)
        ),
        "dependencies": [dependency_to_json(edge) for edge in plan.dependencies],
        "findings": [finding_to_json(finding) for finding in analysis.findings],
        "merged_phases": [merged_to_json(phase) for phase in analysis.merged_phases],
        "warnings": list(analysis.warnings),
        "schema_version": SCHEMA_VERSION,
    }


def render_plan_json(
    analysis: Analysis, plan: Plan, chains: Mapping[int, PhaseChain] | None = None
) -> str:
    return json_text(plan_to_json(analysis, plan, chains), pretty=True)


def render_plan_markdown(
    analysis: Analysis,
    plan: Plan,
    chains: Mapping[int, PhaseChain],
    search_path: tuple[Path, ...] = (),
) -> str:
    """The staging document, from templates/plan.md.j2 (a project's .stager/templates first)."""
    phases = build_document(analysis, plan, chains)
    return render_template(
        "plan.md.j2",
        search_path,
        analysis=analysis,
        plan=plan,
        data=analysis_to_json(analysis),
        phases=phases,
        diagram=diagram_block(
            [doc.assessment for doc in phases],
            {doc.phase.number: doc.phase.title for doc in phases},
            analysis.refs.base_ref,
        ),
        phase_count=phase_total(analysis.rules),
        splits=[split_summary(split) for split in plan.splits],
        history_warning=planned_warning(chains, plan.phases, analysis.migrations),
        risk_badge=lambda label: RISK_BADGES[Risk.parse(label)],
        cell=table_cell,
    )


def render_plan_mermaid(analysis: Analysis, plan: Plan, chains: Mapping[int, PhaseChain]) -> str:
    """The staging document's migration diagram alone: Mermaid source, for mmdc or an editor."""
    phases = build_document(analysis, plan, chains)
    return migration_diagram(
        [doc.assessment for doc in phases],
        {doc.phase.number: doc.phase.title for doc in phases},
        analysis.refs.base_ref,
    )


def render_plan_terminal(
    analysis: Analysis,
    plan: Plan,
    console: Console,
    chains: Mapping[int, PhaseChain] | None = None,
) -> None:
    """Each phase with its migrations and files, the moves and the plan's findings.

    Paths are quoted as git quotes them; no text is read as rich markup.
    ``chains``: what split built, if it did (default: as the plan re-chains).
    """
    from rich.text import Text

    if chains is None:
        chains = plan_chains(plan.phases, analysis.migrations.base.heads())

    refs = analysis.refs
    console.print(
        Text.assemble(
            (one_line(refs.head_ref), "bold"),
            f" ({refs.head[:10]}) against merge base {refs.merge_base[:10]} of ",
            (one_line(refs.base_ref), "bold"),
            f" — {count(len(analysis.files), 'file')} in {count(len(plan.phases), 'phase')} "
            f"(plan from {one_line(plan.source)})",
        )
    )
    history = planned_warning(chains, plan.phases, analysis.migrations)
    if history is not None:
        console.print(Text(f"warning: {one_line(history.message)}", style="bold yellow"))
    for merged in analysis.merged_phases:
        console.print(Text(f"merged: {one_line(merged_line(merged))}"))
    for warning in analysis.warnings:
        console.print(Text(f"warning: {one_line(warning)}", style="yellow"))
    for phase in plan.phases:
        depends = ", ".join(str(n) for n in phase.depends_on) or "none"
        header = Text(f"\nPhase {phase.number}: ", style="bold")
        header.append(f"{one_line(phase.title)} ({one_line(phase.name)})", style="bold")
        header.append(" — risk ")
        header.append(phase.risk.label, style=RISK_STYLES[phase.risk])
        header.append(f", depends on {depends}")
        if phase.maintenance_window:
            header.append(" — maintenance window", style="bold red")
        console.print(header)
        if phase.migrations:
            console.print("  migrations, in upgrade order:")
            for migration in phase.migrations:
                parents = _revisions(migration.down_revision)
                was = (
                    f" (re-chained; was {_revisions(migration.original_down_revision)})"
                    if migration.rechained
                    else ""
                )
                revision = quote_path(migration.revision)
                console.print(Text(f"    {revision} ← {parents}{was}  {one_line(migration.title)}"))
        derived = [d for d in phase.derived if d.kind is not DerivedKind.CONTRACT_REVISION]
        if derived:
            console.print(f"  written by stager ({len(derived)}):")
            for item in derived:
                console.print(Text(f"    {quote_path(item.path)}"))
                console.print(Text(f"        {one_line(item.note)}", style="dim"))
        console.print(f"  files ({len(phase.files)}):")
        for planned in phase.files:
            shown = Text(f"    {quote_path(planned.path)}")
            if planned.old_path:
                shown.append(f" (renamed from {quote_path(planned.old_path)})")
            console.print(shown)
            console.print(
                Text(
                    f"        {one_line(planned.reason)}",
                    style="yellow" if planned.moved else "dim",
                )
            )
    print_splits(plan, console)
    if plan.conflicts:
        names = {rule.number: rule.name for rule in analysis.rules.phases}
        console.print(f"\n[bold]Moved by dependencies[/] ({len(plan.conflicts)}):")
        for conflict in plan.conflicts:
            console.print(Text(f"  {one_line(conflict.describe(names))}"))
    for finding in plan.findings:
        console.print(
            Text(f"\n{finding.risk.label.upper()} {finding.rule} {shown_location(finding)}")
        )
        console.print(Text(f"  {one_line(finding.message)}"))
        console.print(Text(f"  fix: {one_line(finding.hint)}", style="dim"))


def _operations(operations: Sequence[Operation]) -> str:
    """The upgrade operations of a part: ``add_column historical_snapshot``, one per call."""
    shown = [
        " ".join([operation.name, *(operation.columns or [operation.table or ""])]).strip()
        for operation in operations
        if operation.function == "upgrade"
    ]
    return ", ".join(shown) or "none"


def split_summary(split: PlannedSplit) -> dict[str, str | int]:
    """One split as the terminal and the staging document say it."""
    return {
        "revision": split.revision,
        "expand_revision": split.expand_revision,
        "expand_path": split.expand_path,
        "expand_phase": split.expand_phase,
        "contract_phase": split.contract_phase,
        "expand": _operations(split.expand_operations),
        "contract": _operations(split.contract_operations),
        "reason": split.reason,
    }


def print_splits(plan: Plan, console: Console) -> None:
    """Each split migration, its parts' phases and operations, and the files split by hunk."""
    from rich.text import Text

    if not plan.splits and not plan.partials:
        return
    console.print(f"\n[bold]Expand/contract splits[/] ({len(plan.splits)}):")
    for split in plan.splits:
        revision = quote_path(split.revision)
        expand = one_line(_operations(split.expand_operations))
        contract = one_line(_operations(split.contract_operations))
        console.print(
            Text(
                f"  {revision}: its expand part ({expand}) is the new revision "
                f"{quote_path(split.expand_revision)} in phase {split.expand_phase}; "
                f"{revision} keeps its contract part ({contract}) in phase {split.contract_phase}"
            )
        )
        console.print(Text(f"      because {one_line(split.reason)}", style="dim"))
    for partial in plan.partials:
        console.print(Text(f"  {one_line(partial.describe())}"))


def _revisions(revisions: Sequence[str]) -> str:
    """Revision ids as the terminal shows them: quoted as git quotes a path; ``None`` for none."""
    return ", ".join(map(quote_path, revisions)) or "None"
