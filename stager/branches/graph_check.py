"""The branch's own Alembic graph, before a split re-chains it: a broken one is refused.

The planner re-chains migrations into phase order. On a graph the branch
itself broke (two heads, a cycle, a dangling ``down_revision``) that
re-chaining quietly repairs it: the phases come out linear, ``verify``
passes, and nobody decided it. So ``split`` refuses, naming each problem and
the exact re-chaining it would write, until ``--rechain-broken`` says to go
ahead; the run then says which files it rewrote and why, and the record
keeps it (``Rewrite.reason`` ``broken``), which ``verify`` asks for.

The problems are ``analyze``'s own findings SG001 to SG004, the ones the
branch introduced. SG008 (the base gained revisions since the merge base) is
no broken graph: ``--onto`` handles it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from stager.branches.split_types import BROKEN, SplitResult
from stager.branches.targets import Rechain, rechains
from stager.errors import StagerError
from stager.findings import Finding
from stager.migrations.compare import MigrationReport
from stager.migrations.graph import DEPENDS_ON, RevisionGraph
from stager.plan.phase import Phase
from stager.rules.catalogue import RULES
from stager.types import RepoPath, Revision

BROKEN_GRAPH_RULES = ("SG001", "SG002", "SG003", "SG004")
_SHOWN = 6


@dataclass(frozen=True)
class GraphProblem:
    """One way the branch broke its Alembic graph, and the revisions it is about."""

    finding: Finding
    revisions: frozenset[Revision]
    unrepairable: str | None = None  # why re-chaining cannot repair it; None: it can

    def describe(self) -> str:
        return f"{self.finding.rule} {self.finding.location()}: {self.finding.message}"


@dataclass(frozen=True)
class BrokenGraph:
    """The branch graph's problems and the plan's re-chainings of the revisions they name."""

    problems: tuple[GraphProblem, ...]
    rechains: tuple[Rechain, ...]
    old_parents: Mapping[RepoPath, tuple[Revision, ...]]

    @property
    def revisions(self) -> frozenset[Revision]:
        """The revisions whose re-chaining repairs the graph (``--rechain-broken`` marks them)."""
        return frozenset(rechain.revision for rechain in self.rechains)

    def why(self, revision: Revision) -> str:
        """The problems a re-chaining of ``revision`` repairs, in words."""
        return "; ".join(
            problem.describe() for problem in self.problems if revision in problem.revisions
        )

    def refuse(self, *, rechain_broken: bool) -> None:
        """Raise the refusal, unless the graph is sound or ``--rechain-broken`` can repair it."""
        if not self.problems:
            return
        shown = "; ".join(_first(problem.describe() for problem in self.problems))
        cannot = [problem for problem in self.problems if problem.unrepairable]
        if cannot:
            raise StagerError(
                f"the branch's own Alembic graph is broken in a way re-chaining cannot repair; "
                f"nothing was written: {shown} ("
                + "; ".join(dict.fromkeys(str(p.unrepairable) for p in cannot))
                + ")",
                _fixes(cannot),
            )
        if not self.rechains:
            raise StagerError(
                f"the branch's own Alembic graph is broken and the plan re-chains none of "
                f"its revisions; nothing was written: {shown}",
                _fixes(self.problems),
            )
        if rechain_broken:
            return
        would = ", ".join(_first(self._rewrite(rechain) for rechain in self.rechains))
        raise StagerError(
            f"the branch's own Alembic graph is broken, and the split would repair it by "
            f"re-chaining; nothing was written: {shown}; with --rechain-broken split would "
            f"re-chain {would}",
            f"fix the graph on the branch ({_fixes(self.problems)}), or run split again with "
            "--rechain-broken to write exactly these re-chainings (the output and the record "
            "of the split say so)",
        )

    def noted(self, result: SplitResult) -> SplitResult:
        """``result`` with a note for each file re-chained to repair the graph, saying why."""
        notes = [
            f"phase {built.phase.number}: {rewrite.revision} ({rewrite.path}) re-chained to "
            "repair the branch's own broken Alembic graph (--rechain-broken): "
            + self.why(rewrite.revision)
            for built in result.phases
            for rewrite in built.rewrites
            if rewrite.reason == BROKEN
        ]
        return replace(result, notes=(*result.notes, *notes)) if notes else result

    def unacknowledged(
        self, phases: Sequence[Phase], acknowledged: Iterable[RepoPath]
    ) -> dict[int, list[str]]:
        """Phase number → the re-chainings that repair the graph without ``--rechain-broken``.

        ``acknowledged``: the paths the record says were re-chained with it.
        """
        known = set(acknowledged)
        found: dict[int, list[str]] = {}
        numbers = {phase.number for phase in phases}
        for rechain in self.rechains:
            if rechain.phase in numbers and rechain.path not in known:
                found.setdefault(rechain.phase, []).append(
                    f"{self._rewrite(rechain)} repairs the branch's own broken Alembic graph "
                    f"({self.why(rechain.revision)}), which a split does only with "
                    "--rechain-broken: fix the graph on the branch, or split again with "
                    "--rechain-broken --force"
                )
        return found

    def _rewrite(self, rechain: Rechain) -> str:
        old = self.old_parents.get(rechain.path, ())
        return _change(rechain.path, rechain.revision, old, rechain.parents)


def broken_graph(report: MigrationReport, phases: Sequence[Phase]) -> BrokenGraph:
    """The problems the branch brought into its own Alembic graph, and their re-chainings."""
    problems = tuple(
        _problem(finding, report)
        for finding in report.findings
        # compare reports what the merge base already had once per rule, at low
        # risk: at its rule's own risk a finding is the branch's doing.
        if finding.rule in BROKEN_GRAPH_RULES and finding.risk >= RULES[finding.rule].risk
    )
    if not problems:
        return BrokenGraph((), (), {})
    # A problem re-chaining cannot repair is refused whatever the plan re-chains.
    involved = frozenset(
        revision
        for problem in problems
        if problem.unrepairable is None
        for revision in problem.revisions
    )
    planned = tuple(rechain for rechain in rechains(phases, report) if rechain.revision in involved)
    old = {rechain.path: report.by_path[rechain.path].down_revisions for rechain in planned}
    return BrokenGraph(problems, planned, old)


def _problem(finding: Finding, report: MigrationReport) -> GraphProblem:
    """The finding with the revisions it is about, and whether re-chaining repairs it."""
    migration = report.by_path.get(finding.path) if finding.path is not None else None
    revision = migration.revision if migration is not None else None
    if finding.rule == "SG004":
        ids = frozenset({revision} if revision else ())
        return GraphProblem(finding, ids, "re-chaining rewrites down_revision, never a revision id")
    graph = _graph_of(report, finding.path)
    if revision is None or graph is None:
        return GraphProblem(finding, frozenset(), "stager cannot tell which revision it is")
    if finding.rule == "SG001":
        added = {m.revision for m in report.added if m.revision is not None}
        return GraphProblem(finding, frozenset(h for h in graph.heads() if h in added))
    if finding.rule == "SG002":
        cycle = next((frozenset(c) for c in graph.cycles() if revision in c), frozenset())
        through = any(
            kind == DEPENDS_ON and parent in cycle and child in cycle
            for parent, child, kind in graph.edges
        )
        why = "a depends_on closes the cycle, and re-chaining keeps depends_on as written"
        return GraphProblem(finding, cycle or frozenset({revision}), why if through else None)
    # SG003: only a down_revision is re-chained; a dangling depends_on stays as written.
    fields = {d.field for d in graph.dangling() if d.migration.revision == revision}
    kept = "re-chaining keeps depends_on as written" if DEPENDS_ON in fields else None
    return GraphProblem(finding, frozenset({revision}), kept)


def _graph_of(report: MigrationReport, path: RepoPath | None) -> RevisionGraph | None:
    """The environment graph holding the revision file at ``path``."""
    for graph in report.environment_graphs():
        if any(migration.path == path for migration in graph):
            return graph
    return None


def _fixes(problems: Iterable[GraphProblem]) -> str:
    hints = dict.fromkeys(f"{p.finding.rule}: {p.finding.hint}" for p in problems)
    return "; ".join(hints)


def _first(items: Iterable[str]) -> list[str]:
    listed = list(items)
    more = len(listed) - _SHOWN
    return listed[:_SHOWN] + ([f"and {more} more"] if more > 0 else [])


def _change(
    path: RepoPath, revision: Revision, old: tuple[Revision, ...], new: tuple[Revision, ...]
) -> str:
    """ "migrations/b.py (rev b) from a → c": a re-chaining as people read it."""
    return f"{path} (rev {revision}) from {_parents(old)} → {_parents(new)}"


def _parents(parents: tuple[Revision, ...]) -> str:
    return ", ".join(parents) if parents else "None"
