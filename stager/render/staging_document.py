"""The staging document: what templates/plan.md.j2 renders, computed from the plan.

Per phase: what it includes and excludes and why, and what it depends on. Its
risk, ratings, title and commands are the judgement of stager.plan.assessment,
which the pull request bodies render too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stager.analysis import Analysis
from stager.plan.assessment import PhaseAssessment, PhaseChain, assess_plan
from stager.plan.built_findings import phase_findings
from stager.plan.phase import Phase, Plan
from stager.types import RepoPath, Risk


@dataclass(frozen=True)
class FileDoc:
    path: RepoPath
    reason: str
    moved: bool


@dataclass(frozen=True)
class GroupDoc:
    title: str
    risk: str
    files: tuple[FileDoc, ...]


@dataclass(frozen=True)
class ExcludedDoc:
    what: str
    where: str
    why: str


@dataclass(frozen=True)
class PhaseDoc:
    phase: Phase
    assessment: PhaseAssessment
    branch: str
    parent: str
    merge_when: str
    groups: tuple[GroupDoc, ...]
    excluded: tuple[ExcludedDoc, ...]
    dependencies: tuple[str, ...]
    findings: tuple[str, ...]


def build_document(
    analysis: Analysis, plan: Plan, chains: Mapping[int, PhaseChain]
) -> tuple[PhaseDoc, ...]:
    """One PhaseDoc per planned phase, in merge order; ``chains``: what split built, if it did."""
    names = {rule.number: rule.name for rule in analysis.rules.phases}
    assessments = assess_plan(
        plan.phases,
        chains,
        analysis.rules,
        analysis.migrations,
        splits=plan.splits,
        partials=plan.partials,
    )
    docs: list[PhaseDoc] = []
    parent = analysis.refs.base_ref
    for index, (phase, assessment) in enumerate(zip(plan.phases, assessments, strict=True)):
        branch = analysis.rules.split.branch_name(phase.number, phase.name)
        docs.append(
            PhaseDoc(
                phase=phase,
                assessment=assessment,
                branch=branch,
                parent=parent,
                merge_when=_merge_when(phase, plan, names),
                groups=_groups(phase, analysis),
                excluded=_excluded(phase, plan, plan.phases[index + 1 :], analysis, names),
                dependencies=_dependencies(phase, plan, names),
                findings=tuple(
                    f"{f.risk.label.upper()} {f.rule} {f.location()}: {f.message}"
                    for f in phase_findings(analysis.findings, phase, analysis.envs, analysis.rules)
                ),
            )
        )
        parent = branch
    return tuple(docs)


def _merge_when(phase: Phase, plan: Plan, names: dict[int, str]) -> str:
    window = " — ⚠️ REQUIRES A MAINTENANCE WINDOW" if phase.maintenance_window else ""
    if not phase.depends_on:
        first = phase is plan.phases[0]
        return ("Can be merged first" if first else "Depends on no earlier phase") + window
    after = ", ".join(f"phase {n} ({names[n]})" for n in phase.depends_on)
    return f"Can be merged after {after}{window}"


def _groups(phase: Phase, analysis: Analysis) -> tuple[GroupDoc, ...]:
    titles = {summary.category: summary.title for summary in analysis.categories}
    order = [summary.category for summary in analysis.categories]
    by_category: dict[str, list[FileDoc]] = {}
    risks: dict[str, Risk] = {}
    for planned in phase.files:
        by_category.setdefault(planned.category, []).append(
            FileDoc(planned.path, planned.reason, bool(planned.moved))
        )
        risks[planned.category] = max(risks.get(planned.category, Risk.LOW), planned.risk)
    ranked = sorted(by_category, key=lambda c: (order.index(c) if c in order else len(order), c))
    return tuple(GroupDoc(titles.get(c, c), risks[c].label, tuple(by_category[c])) for c in ranked)


def _excluded(
    phase: Phase,
    plan: Plan,
    later: Sequence[Phase],
    analysis: Analysis,
    names: dict[int, str],
) -> tuple[ExcludedDoc, ...]:
    """Files asked for this phase but moved later, then what later phases hold, by category."""
    excluded = [
        ExcludedDoc(
            conflict.path,
            f"phase {conflict.needed} ({names[conflict.needed]})",
            f"{conflict.dependency.reason} [{conflict.dependency.kind}]",
        )
        for conflict in plan.conflicts
        if conflict.asked == phase.number
    ]
    titles = {summary.category: summary.title for summary in analysis.categories}
    for other in later:
        counts = Counter(planned.category for planned in other.files)
        what = ", ".join(f"{titles.get(c, c)} ({n})" for c, n in counts.items())
        excluded.append(
            ExcludedDoc(what, f"phase {other.number} ({other.name})", other.description or "")
        )
    return tuple(excluded)


def _dependencies(phase: Phase, plan: Plan, names: dict[int, str]) -> tuple[str, ...]:
    paths = {planned.path for planned in phase.files}
    lines: list[str] = []
    for number in phase.depends_on:
        example = next(
            (
                edge
                for edge in sorted(plan.dependencies, key=lambda e: e.sort_key())
                if edge.dependent in paths and plan.phase_of(edge.dependency) == number
            ),
            None,
        )
        why = f": {example.describe()}" if example is not None else ": its migrations stack on it"
        lines.append(f"Phase {number} ({names[number]}) must be merged first{why}")
    if phase.maintenance_window:
        lines.append("A maintenance window, announced beforehand, and a fresh database backup")
    return tuple(lines)
