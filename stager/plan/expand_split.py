"""Which mixed migrations the plan splits into expand and contract, and where each part goes.

Where the closure had to keep a migration with the code that stops using what
it drops (SP001: a strict edge relaxed inside a cycle), or where a
``[[phase]] contract`` asks for it, the migration's expand operations become a
new revision R_e (:func:`~stager.migrations.expand_contract.plan_split`) and the
original R keeps only its contract. R_e goes where the migration would go
without its drops; R goes strictly after every file that stops naming what it
drops (the same phase only when that phase declares a maintenance window).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from stager.findings import Finding
from stager.git.diff import ChangedFile
from stager.migrations.compare import MigrationReport
from stager.migrations.expand_contract import ExpandContract, KeptWhole, plan_split
from stager.migrations.graph import RevisionGraph
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import BlobSource, MigrationFile
from stager.plan.closure import CYCLE, Relaxed
from stager.plan.phase import Dependency, DependencyKind
from stager.rules.settings import Rules
from stager.types import RepoPath, Sha


def split_candidates(
    files: Sequence[ChangedFile], report: MigrationReport, blobs: BlobSource
) -> dict[RepoPath, ExpandContract | KeptWhole]:
    """Every added migration that mixes expand and contract: its split, or why it stays whole."""
    added = [m for m in report.added if m.revision is not None and not m.problems]
    changed = {change.path for change in files}
    added = [m for m in added if m.path in changed]
    if not added:
        return {}
    sources = blobs.read_blobs(m.blob for m in added)
    taken = {str(r) for graph in (report.base, report.head) for r in graph.files}
    config = report.configs[0] if report.configs else None
    found: dict[RepoPath, ExpandContract | KeptWhole] = {}
    for migration in added:
        source = sources.get(migration.blob)
        if source is None:
            continue
        result = plan_split(
            migration,
            source,
            taken_ids=taken,
            file_template=config.file_template if config else None,
            slug_length=config.truncate_slug_length if config else None,
        )
        if isinstance(result, ExpandContract) or result.mixed:
            found[migration.path] = result
    return found


@dataclass(frozen=True)
class Chosen:
    """A split the plan makes: the migration, its parts, and why."""

    migration: MigrationFile
    split: ExpandContract
    expand: MigrationFile  # R_e as read back
    contract: MigrationFile  # R reduced, as read back
    reason: str
    forced_phase: int | None  # a [[phase]] contract's phase


def choose(
    rules: Rules,
    report: MigrationReport,
    candidates: Mapping[RepoPath, ExpandContract | KeptWhole],
    relaxed: Sequence[Relaxed],
) -> list[Chosen]:
    """The candidates the plan splits: those SP001 would name, and those a phase asks for."""
    forced = {revision: phase.number for phase in rules.phases for revision in phase.contract}
    cycles = {item.dependency.dependent for item in relaxed if item.why == CYCLE}
    chosen: list[Chosen] = []
    for path, result in candidates.items():
        if not isinstance(result, ExpandContract):
            continue
        revision = result.revision
        if revision in forced:
            reason = f"revision {revision} is listed in a [[phase]] contract"
        elif rules.split.expand_contract and path in cycles:
            reason = (
                "it adds what code of its phase needs and drops what the previous version of "
                "that code uses"
            )
        else:
            continue
        migration = report.by_path[path]
        expand = parse_migration(result.expand_path, Sha("0" * 40), result.expand_source)
        contract = parse_migration(path, migration.blob, result.contract_source)
        chosen.append(Chosen(migration, result, expand, contract, reason, forced.get(revision)))
    return chosen


def kept_whole_findings(
    rules: Rules,
    candidates: Mapping[RepoPath, ExpandContract | KeptWhole],
    relaxed: Sequence[Relaxed],
    chosen: Collection[RepoPath],
) -> list[Finding]:
    """SP004 for every mixed migration the plan needed split but could not: why it stays whole.

    Needed: SP001 names it (it ships with code that needs what it adds and whose
    previous version uses what it drops), or a ``[[phase]] contract`` asks for it.
    A split the plan could not place (no phase late enough for the contract) says so.
    """
    forced = {revision for phase in rules.phases for revision in phase.contract}
    cycles = {item.dependency.dependent for item in relaxed if item.why == CYCLE}
    findings: list[Finding] = []
    for path, result in sorted(candidates.items()):
        if path in chosen or result.revision is None:
            continue
        wanted = result.revision in forced or (rules.split.expand_contract and path in cycles)
        if not wanted:
            continue
        kept = result
        if isinstance(kept, ExpandContract):
            kept = KeptWhole(
                kept.revision,
                "no phase is late enough for its contract part: every phase up to the last "
                "still ships code that uses what it drops",
                0,
            )
        finding = kept.finding(path)
        if finding is not None:
            findings.append(finding)
    return findings


def expand_ask(rules: Rules, expand: MigrationFile, fallback: int) -> int:
    """The phase the rules give a migration of the expand part's kind (by category)."""
    for category in rules.categories:
        if category.migration and expand.kind in category.migration and not category.paths:
            phase = rules.phase_of_category(category.name)
            if phase is not None:
                return phase.number
    return fallback


def without_contract_edges(
    edges: Sequence[Dependency], paths: Collection[RepoPath]
) -> list[Dependency]:
    """``edges`` less the drops' edges of the split migrations: the expand part has none."""
    return [
        edge
        for edge in edges
        if not (edge.dependent in paths and edge.kind is DependencyKind.CONTRACT)
    ]


def contract_phase(
    chosen: Chosen,
    edges: Sequence[Dependency],
    final: Mapping[RepoPath, int],
    windows: Collection[int],
    last: int,
) -> int | None:
    """The contract's phase: after every user of what it drops; None when none is late enough."""
    phase = final[chosen.migration.path]
    for need, _ in _contract_needs(chosen, edges, final, windows):
        phase = max(phase, need)
    if chosen.forced_phase is not None:
        phase = max(phase, chosen.forced_phase)
    return phase if phase <= last else None


def contract_edge(
    chosen: Chosen,
    edges: Sequence[Dependency],
    final: Mapping[RepoPath, int],
    windows: Collection[int],
) -> Dependency | None:
    """The drop's edge that asks the latest phase: why the contract went where it did."""
    needs = _contract_needs(chosen, edges, final, windows)
    return max(needs, key=lambda need: need[0])[1] if needs else None


def _contract_needs(
    chosen: Chosen,
    edges: Sequence[Dependency],
    final: Mapping[RepoPath, int],
    windows: Collection[int],
) -> list[tuple[int, Dependency]]:
    """Each drop's edge with the phase it asks: after the user, or with it in a window."""
    path = chosen.migration.path
    needs: list[tuple[int, Dependency]] = []
    for edge in edges:
        if edge.dependent != path or edge.kind is not DependencyKind.CONTRACT:
            continue
        there = final.get(edge.dependency)
        if there is None:
            continue
        needs.append((there + 1 if edge.strict and there not in windows else there, edge))
    return needs


def split_graph(head: RevisionGraph, chosen: Sequence[Chosen]) -> RevisionGraph:
    """Head's revision graph with each split migration as R_e and then R reduced."""
    replaced = {item.migration.revision: item for item in chosen}
    files: list[MigrationFile] = []
    for revision, migration in head.files.items():
        item = replaced.get(revision)
        files.extend((item.expand, item.contract) if item is not None else (migration,))
    files.extend(head.unidentified)
    return RevisionGraph.build(files)
