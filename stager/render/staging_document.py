"""The staging document: what templates/plan.md.j2 renders, computed from the plan.

Per phase: what it includes and excludes and why, its database impact,
backward compatibility and rollback difficulty (from its migrations' kinds),
what it depends on, its pull request title, the commands that verify it and
the steps that roll it back. Every sentence is derived from the branch.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stager.plan.phase import Phase, Plan, PlannedMigration, count
from stager.types import MigrationKind, RepoPath, Revision, Risk

if TYPE_CHECKING:
    from stager.analysis import Analysis

BRANCH_PATTERN = "stage/{number}-{name}"
"""The default of `[split] branch`: the names the verification commands use."""

_KIND_TEXT = {
    "additive": "additive schema",
    "reference-data": "reference data",
    "data": "data migration",
    "destructive": "destructive",
    "empty": "no operation",
}
_TESTING = {
    Risk.LOW: "Minimal: no business logic changes beyond the files listed",
    Risk.MEDIUM: "Moderate: run the test suite and check the changed features",
    Risk.HIGH: "Thorough: test on a copy of production-like data before merging",
    Risk.CRITICAL: "Critical: rehearse on a production snapshot, validate, then schedule",
}


@dataclass(frozen=True)
class Assessment:
    database: str
    compatibility: str
    rollback: str
    testing: str


@dataclass(frozen=True)
class MigrationDoc:
    revision: Revision
    title: str
    kind: str
    down_revision: str
    original: str
    rechained: bool
    reversible: bool
    path: RepoPath


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
    branch: str
    parent: str
    merge_when: str
    pr_title: str
    migrations: tuple[MigrationDoc, ...]
    groups: tuple[GroupDoc, ...]
    excluded: tuple[ExcludedDoc, ...]
    assessment: Assessment
    dependencies: tuple[str, ...]
    commands: tuple[str, ...]
    rollback: tuple[str, ...]
    findings: tuple[str, ...]
    heads_before: tuple[Revision, ...]
    heads_after: tuple[Revision, ...]


def alembic_command(analysis: Analysis) -> str:
    """``alembic`` with ``-c`` when the configuration is not the root alembic.ini."""
    for config in analysis.migrations.configs:
        source = config.source
        if source and posixpath.basename(source) == "alembic.ini" and source != "alembic.ini":
            return f"alembic -c {source}"
    return "alembic"


def _kinds(phase: Phase) -> set[str]:
    return {migration.kind for migration in phase.migrations}


def assess(phase: Phase, analysis: Analysis) -> Assessment:
    """Database impact, backward compatibility, rollback difficulty and testing of a phase."""
    kinds = _kinds(phase)
    paths = {planned.path for planned in phase.files}
    edited = [m for m in analysis.migrations.modified if m.path in paths]
    deleted = [m for m in analysis.migrations.deleted if m.path in paths]
    irreversible = [m for m in phase.migrations if not _reversible(m.path, analysis)]
    if MigrationKind.DESTRUCTIVE.value in kinds:
        database = (
            "HIGH: drops or renames tables or columns: dropped data is gone, and code "
            "still using an old name breaks"
        )
        compatibility = (
            "BREAKING: removes what older code read; deploy only once every instance runs "
            "the code of the earlier phases"
        )
        rollback = "DIFFICULT: requires restoring the database from a backup"
    elif MigrationKind.DATA.value in kinds:
        database = "HIGH: rewrites existing rows (UPDATE / DELETE or SQL stager cannot read)"
        compatibility = "MEDIUM: the running code must accept the rewritten rows"
        rollback = "COMPLEX: a data migration's downgrade rarely restores the rows exactly"
    elif phase.migrations:
        database = "LOW: adds tables, columns, indexes, enum values or reference rows"
        compatibility = "HIGH: additive; the running application does not notice"
        rollback = "EASY: every migration has a downgrade path"
    else:
        database = "NONE: no migration"
        compatibility = "code only: the database schema is unchanged"
        rollback = "EASY: revert the pull request and redeploy"
    if irreversible:
        names = ", ".join(m.revision for m in irreversible)
        rollback = f"DIFFICULT: no downgrade in {names}; restore from a backup"
    if edited or deleted:
        changed = ", ".join(str(m.revision) for m in (*edited, *deleted))
        database += (
            f"; edits or deletes migrations already on the base ({changed}): databases that "
            "ran them will not run them again"
        )
    return Assessment(database, compatibility, rollback, _TESTING[phase.risk])


def _reversible(path: RepoPath, analysis: Analysis) -> bool:
    migration = analysis.migrations.by_path.get(path)
    if migration is None:
        return True
    upgrades = any(op.function == "upgrade" for op in migration.operations)
    downgrades = any(op.function == "downgrade" for op in migration.operations)
    return downgrades or not upgrades


def _heads(
    analysis: Analysis, plan: Plan
) -> list[tuple[tuple[Revision, ...], tuple[Revision, ...]]]:
    """Alembic heads before and after each planned phase (the split's graph)."""
    heads = list(analysis.migrations.base.heads())
    result = []
    for phase in plan.phases:
        before = tuple(heads)
        for migration in phase.migrations:
            heads = [h for h in heads if h not in migration.down_revision]
            heads.append(migration.revision)
        result.append((before, tuple(heads)))
    return result


def build_document(analysis: Analysis, plan: Plan) -> tuple[PhaseDoc, ...]:
    """One PhaseDoc per planned phase, in merge order."""
    names = {rule.number: rule.name for rule in analysis.rules.phases}
    total = len(analysis.rules.phases)
    alembic = alembic_command(analysis)
    heads = _heads(analysis, plan)
    docs: list[PhaseDoc] = []
    parent = analysis.refs.base_ref
    for index, phase in enumerate(plan.phases):
        branch = BRANCH_PATTERN.format(number=phase.number, name=phase.name)
        before, after = heads[index]
        later = plan.phases[index + 1 :]
        docs.append(
            PhaseDoc(
                phase=phase,
                branch=branch,
                parent=parent,
                merge_when=_merge_when(phase, plan, names),
                pr_title=_pr_title(phase, total),
                migrations=tuple(_migration_doc(m, analysis) for m in phase.migrations),
                groups=_groups(phase, analysis),
                excluded=_excluded(phase, plan, later, analysis, names),
                assessment=assess(phase, analysis),
                dependencies=_dependencies(phase, plan, names),
                commands=_commands(
                    phase,
                    branch,
                    parent,
                    alembic,
                    before,
                    plan.phases[index - 1].number if index else 0,
                ),
                rollback=_rollback(phase, plan, alembic, before, names),
                findings=tuple(
                    f"{f.risk.label.upper()} {f.rule} {f.location()}: {f.message}"
                    for f in analysis.findings
                    if f.path in set(phase.paths)
                ),
                heads_before=before,
                heads_after=after,
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


def _pr_title(phase: Phase, total: int) -> str:
    title = f"feat: {phase.title} (Phase {phase.number}/{total})"
    return title + (" - REQUIRES MAINTENANCE" if phase.maintenance_window else "")


def _migration_doc(migration: PlannedMigration, analysis: Analysis) -> MigrationDoc:
    return MigrationDoc(
        revision=migration.revision,
        title=migration.title,
        kind=_KIND_TEXT.get(migration.kind, migration.kind),
        down_revision=", ".join(migration.down_revision) or "None",
        original=", ".join(migration.original_down_revision) or "None",
        rechained=migration.rechained,
        reversible=_reversible(migration.path, analysis),
        path=migration.path,
    )


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
        counts: dict[str, int] = {}
        for planned in other.files:
            counts[planned.category] = counts.get(planned.category, 0) + 1
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


def _downgrade_target(before: Sequence[Revision]) -> str:
    return " ".join(before) if before else "base"


def _commands(
    phase: Phase,
    branch: str,
    parent: str,
    alembic: str,
    before: Sequence[Revision],
    previous: int,
) -> tuple[str, ...]:
    commands = [
        f"git diff --name-status {parent}...{branch}   # only this phase's files",
        f"stager verify --phase {phase.number}",
    ]
    if phase.migrations:
        commands += [
            f"{alembic} upgrade head",
            f"{alembic} downgrade {_downgrade_target(before)}   # back to "
            + (f"phase {previous}" if previous else "the base")
            + f" (-{count(len(phase.migrations), 'step')})",
            f"{alembic} upgrade head",
        ]
    return tuple(commands)


def _rollback(
    phase: Phase,
    plan: Plan,
    alembic: str,
    before: Sequence[Revision],
    names: dict[int, str],
) -> tuple[str, ...]:
    kinds = _kinds(phase)
    steps: list[str] = []
    dependents = [other.number for other in plan.phases if phase.number in other.depends_on]
    if dependents:
        shown = ", ".join(f"phase {n} ({names[n]})" for n in dependents)
        verb = "they depend" if len(dependents) > 1 else "it depends"
        steps.append(f"Roll back {shown} first: {verb} on this phase")
    if phase.migrations:
        steps.append(
            f"Before deploying: back up the database "
            f"(`pg_dump -Fc $DATABASE > backup_phase{phase.number}_$(date +%Y%m%d).dump`)"
        )
        steps.append(
            f"Downgrade to the head the previous phase left: "
            f"`{alembic} downgrade {_downgrade_target(before)}`"
        )
        if kinds & {MigrationKind.DATA.value, MigrationKind.DESTRUCTIVE.value}:
            steps.append(
                "Restore the backup if rows were rewritten or dropped: a downgrade cannot "
                "bring the data back"
            )
    steps.append("Revert the phase's merge commit (`git revert -m 1 <merge commit>`) and redeploy")
    return tuple(steps)
