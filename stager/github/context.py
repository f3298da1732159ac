"""What the pull request templates see: one ``PullContext`` per phase.

Every field is documented in docs/open-pr.md (a test checks it): it is the
contract a project's own templates in ``.stager/templates/`` rely on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from stager import __version__
from stager.analysis import Analysis
from stager.branches.history_invariant import HistoryWarning, planned_warning
from stager.classify import FileClass
from stager.findings import Finding, finding_order
from stager.plan.assessment import PhaseAssessment, PhaseChain, assess_plan
from stager.plan.built_findings import phase_findings
from stager.plan.phase import Phase, PlannedPartial, PlannedSplit
from stager.render.formats import RISK_BADGES
from stager.render.mermaid import diagram_block
from stager.render.quoting import code_span
from stager.types import RepoPath, Risk


@dataclass(frozen=True)
class FileView:
    path: str
    category: str
    reason: str
    status: str  # A, M, D, R, C or T
    additions: int | None  # None for a binary file
    deletions: int | None


@dataclass(frozen=True)
class DerivedView:
    """A file stager wrote for the phase, that no commit of the branch holds."""

    path: str
    kind: str  # expand-revision, contract-revision or partial
    origin: str  # the branch file it comes from
    note: str


@dataclass(frozen=True)
class CategoryView:
    """One row of the phase's change counts."""

    name: str
    title: str
    count: int
    risk: str
    risk_badge: str


@dataclass(frozen=True)
class FindingView:
    rule: str
    risk: str
    risk_badge: str
    location: str  # path:line, path, or "-"
    message: str
    hint: str


@dataclass(frozen=True)
class PhaseView:
    """A phase as its pull request describes it (everything but the stack's PR links)."""

    number: int  # the phase's number in the rules, as in its branch and title
    name: str
    title: str
    description: str
    branch: str
    base: str  # the pull request's base branch
    risk: str
    risk_badge: str
    files: tuple[FileView, ...]
    derived: tuple[DerivedView, ...]  # files stager derived (an expand revision, a partial file)
    additions: int
    deletions: int
    categories: tuple[CategoryView, ...]
    findings: tuple[FindingView, ...]
    depends_on: tuple[int, ...]  # phase numbers
    assessment: PhaseAssessment  # the judgement the staging document renders too
    # The first phase of the stack only: databases at revisions the phases re-chain
    # must be downgraded or restored first (its body opens with it).
    history_warning: HistoryWarning | None = None
    # A phase a sync re-chained after its tip was pushed: what databases that ran the old
    # branch must do first, one sentence per revision (read from the records).
    database_warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PullLink:
    number: int
    url: str


@dataclass(frozen=True)
class StackEntry:
    """One phase of the stack, with its pull request when it is open."""

    number: int
    name: str
    title: str
    branch: str
    base: str
    risk: str
    risk_badge: str
    maintenance_window: bool
    pr_number: int | None
    pr_url: str | None
    link: str  # "#12"; the branch name while no pull request is open; "this pull request"
    current: bool  # the phase this pull request is for


@dataclass(frozen=True)
class PullContext:
    """The variables of pr_title.j2 and pr_body.md.j2."""

    phase: PhaseView
    stack: tuple[StackEntry, ...]
    depends_on: tuple[StackEntry, ...]
    follow_ups: tuple[StackEntry, ...]
    total: int  # every phase the rules define: "phase 3 of 4" with phase 2 empty
    repository: str  # OWNER/NAME
    base_branch: str
    head_ref: str  # the feature branch's name (or the ref given with --head)
    head_sha: str
    layout: str  # "stacked" or "independent"
    stager_version: str
    # The stack's migrations as a ```mermaid block, this phase drawn thicker ("" without any).
    diagram: str = ""

    def variables(self) -> dict[str, object]:
        """The context as template variables: one per field."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True)
class StackPhase:
    """A phase with the branch and base its pull request uses."""

    phase: Phase
    branch: str
    base: str


def phase_views(
    analysis: Analysis,
    stack: Sequence[StackPhase],
    chains: Mapping[int, PhaseChain],
    findings: Sequence[Finding],
    *,
    splits: Sequence[PlannedSplit] = (),
    partials: Sequence[PlannedPartial] = (),
    database_warnings: Mapping[int, tuple[str, ...]] | None = None,
) -> list[PhaseView]:
    """The PhaseView of every phase of the stack, in stack order.

    ``chains`` and ``findings`` come from the record of what split built when
    there is one: the revisions' parents as written, and only the findings the
    built branches have not already settled. ``splits`` and ``partials``: the
    plan's expand/contract splits and files split by hunk. ``database_warnings``: phase
    number → its warnings for databases that ran its old branch (``sync_plan``'s).
    """
    classes = {c.path: c for c in analysis.classes}
    changed = {f.path: f for f in analysis.files}
    titles = {c.category: c.title for c in analysis.categories}
    phases = [entry.phase for entry in stack]
    assessments = assess_plan(
        phases, chains, analysis.rules, analysis.migrations, splits=splits, partials=partials
    )
    warning = planned_warning(chains, phases, analysis.migrations)
    views = []
    for index, (entry, assessment) in enumerate(zip(stack, assessments, strict=True)):
        phase = entry.phase
        files = tuple(
            FileView(
                path=planned.path,
                category=classes[planned.path].category if planned.path in classes else "other",
                reason=planned.reason,
                status=str(changed[planned.path].status) if planned.path in changed else "M",
                additions=changed[planned.path].additions if planned.path in changed else None,
                deletions=changed[planned.path].deletions if planned.path in changed else None,
            )
            for planned in phase.files
        )
        rule = analysis.rules.phase(phase.number)
        views.append(
            PhaseView(
                number=phase.number,
                name=phase.name,
                title=phase.title,
                description=rule.description if rule is not None else "",
                branch=entry.branch,
                base=entry.base,
                risk=assessment.risk.label,
                risk_badge=RISK_BADGES[assessment.risk],
                files=files,
                derived=tuple(
                    DerivedView(d.path, d.kind.value, d.origin, d.note) for d in phase.derived
                ),
                additions=sum(f.additions or 0 for f in files),
                deletions=sum(f.deletions or 0 for f in files),
                categories=_categories(files, classes, titles),
                findings=_findings(phase_findings(findings, phase, analysis.envs, analysis.rules)),
                depends_on=tuple(n for n in phase.depends_on if n in {p.number for p in phases}),
                assessment=assessment,
                history_warning=warning if index == 0 else None,
                database_warnings=(database_warnings or {}).get(phase.number, ()),
            )
        )
    return views


def _findings(findings: Sequence[Finding]) -> tuple[FindingView, ...]:
    return tuple(
        FindingView(
            rule=f.rule,
            risk=f.risk.label,
            risk_badge=RISK_BADGES[f.risk],
            location=f.location(),
            message=f.message,
            hint=f.hint,
        )
        for f in sorted(findings, key=finding_order)
    )


def _categories(
    files: Sequence[FileView], classes: Mapping[RepoPath, FileClass], titles: Mapping[str, str]
) -> tuple[CategoryView, ...]:
    counts = Counter(f.category for f in files)
    risks: dict[str, Risk] = {}
    for f in files:
        file_class = classes.get(RepoPath(f.path))
        risk = file_class.risk if file_class is not None else Risk.LOW
        risks[f.category] = max(risks.get(f.category, Risk.LOW), risk)
    order = list(titles)  # the risk table's order (staging order)
    ranked = sorted(counts, key=lambda name: order.index(name) if name in order else len(order))
    return tuple(
        CategoryView(
            name=name,
            title=titles.get(name, name),
            count=counts[name],
            risk=risks[name].label,
            risk_badge=RISK_BADGES[risks[name]],
        )
        for name in ranked
    )


def stack_entries(
    views: Sequence[PhaseView], links: Mapping[int, PullLink], current: int
) -> tuple[StackEntry, ...]:
    """The stack as pull request ``current`` shows it, with the links known so far."""
    entries = []
    for view in views:
        link = links.get(view.number)
        entries.append(
            StackEntry(
                number=view.number,
                name=view.name,
                title=view.title,
                branch=view.branch,
                base=view.base,
                risk=view.risk,
                risk_badge=view.risk_badge,
                maintenance_window=view.assessment.maintenance_window,
                pr_number=link.number if link else None,
                pr_url=link.url if link else None,
                link=(
                    "this pull request"
                    if view.number == current
                    else f"#{link.number}"
                    if link
                    else code_span(view.branch)
                ),
                current=view.number == current,
            )
        )
    return tuple(entries)


def pull_context(
    analysis: Analysis,
    views: Sequence[PhaseView],
    view: PhaseView,
    links: Mapping[int, PullLink],
    *,
    repository: str,
    base_branch: str,
    head_name: str,
    layout: str,
) -> PullContext:
    """The template variables of ``view``'s pull request."""
    stack = stack_entries(views, links, view.number)
    return PullContext(
        phase=view,
        stack=stack,
        depends_on=tuple(e for e in stack if e.number in view.depends_on),
        follow_ups=tuple(e for e in stack if e.number > view.number),
        total=view.assessment.total,
        repository=repository,
        base_branch=base_branch,
        head_ref=head_name,
        head_sha=analysis.refs.head,
        layout=layout,
        stager_version=__version__,
        diagram=diagram_block(
            [v.assessment for v in views],
            {v.number: v.title for v in views},
            base_branch,
            current=view.number,
        ),
    )
