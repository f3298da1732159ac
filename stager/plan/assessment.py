"""The one judgement of a phase: what a reviewer and a deployer need to know.

Risk, database impact, backward compatibility, rollback difficulty, the title,
the maintenance window, and the backup, upgrade, downgrade and restore
commands with the project's own ``alembic -c …``. The staging document and
the pull request bodies both render this result; neither judges on its own.

The Alembic chain comes in as data (:class:`PhaseChain`): the parents each
revision has as written in the phase and the heads the phase starts from.
``plan_chains`` reads it from the plan; what split really built may differ
(``--onto`` re-chains the first revision onto the base's new head), and a
chain read from that record goes in the same way.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stager.migrations.actions import Effect, operation_actions
from stager.migrations.compare import MigrationReport
from stager.migrations.revision_files import AlembicConfig, MigrationFile, Operation
from stager.plan.phase import Phase, PlannedPartial, PlannedSplit
from stager.plan.split_assessment import (
    ContractPart,
    ExpandPart,
    PartialPart,
    contract_parts,
    contract_rollback,
    derived_migrations,
    expand_parts,
    partial_parts,
    restore_tables_step,
)
from stager.rules.settings import Rules
from stager.types import MigrationKind, RepoPath, Revision, Risk
from stager.wording import count

_DATABASE_URL = '"$DATABASE_URL"'
_TESTING = {
    Risk.LOW: "minimal: no business logic changes beyond the files listed",
    Risk.MEDIUM: "moderate: run the test suite and check the changed features",
    Risk.HIGH: "thorough: test on a copy of production-like data before merging",
    Risk.CRITICAL: "critical: rehearse on a production snapshot, validate, then schedule",
}


@dataclass(frozen=True)
class ChainLink:
    """One revision the phase adds, with its parents as written in the phase."""

    revision: Revision
    parents: tuple[Revision, ...]
    original: tuple[Revision, ...]  # its parents on the feature branch
    path: RepoPath


@dataclass(frozen=True)
class PhaseChain:
    """The Alembic heads a phase starts from and the revisions it adds, in upgrade order."""

    start: tuple[Revision, ...]
    links: tuple[ChainLink, ...]

    @property
    def end(self) -> tuple[Revision, ...]:
        """The heads once the phase's revisions have run."""
        heads = list(self.start)
        for link in self.links:
            heads = [head for head in heads if head not in link.parents]
            heads.append(link.revision)
        return tuple(heads)


def plan_chains(phases: Sequence[Phase], base_heads: Sequence[Revision]) -> dict[int, PhaseChain]:
    """Each phase's chain as the plan re-chains it, starting from the merge base's heads."""
    chains: dict[int, PhaseChain] = {}
    start = tuple(base_heads)
    for phase in phases:
        links = tuple(
            ChainLink(m.revision, m.down_revision, m.original_down_revision, m.path)
            for m in phase.migrations
        )
        chains[phase.number] = chain = PhaseChain(start, links)
        start = chain.end
    return chains


@dataclass(frozen=True)
class PhaseMigration:
    """A revision file of the phase: one it adds, or an edit of one the base already has."""

    revision: Revision
    title: str
    path: RepoPath
    kind: str  # MigrationKind value
    change: str  # "added"; "modified" or "deleted" for a revision the base already has
    down_revision: tuple[Revision, ...]  # as written in the phase
    original_down_revision: tuple[Revision, ...]  # as written on the feature branch
    reversible: bool  # its downgrade() does something (or its upgrade does nothing)
    dropped: tuple[str, ...]  # "table.column" or "table" its upgrade drops
    data_loss: bool  # its upgrade drops tables or columns (by op.* or literal SQL)
    operations: tuple[str, ...]  # e.g. "add_column organization.company_details"

    @property
    def rechained(self) -> bool:
        return self.down_revision != self.original_down_revision


@dataclass(frozen=True)
class Rating:
    """A level and the reason for it, e.g. LOW — adds tables and columns."""

    level: str
    text: str


@dataclass(frozen=True)
class PhaseCommands:
    """The commands a deployer runs, from the repository root."""

    alembic: str  # "alembic", or "alembic -c backend/alembic.ini"
    backup_file: str
    backup: str  # pg_dump, before deploying
    upgrade: str
    heads: str  # alembic heads
    downgrade: str | None  # None without new revisions; starts with its precondition
    restore: str  # pg_restore of backup_file


@dataclass(frozen=True)
class PhaseAssessment:
    """Everything judged about one phase."""

    number: int  # the rules' phase number, as in the branch name
    total: int  # every phase the rules define, empty ones included (see phase_total)
    title: str  # the pull request's title
    risk: Risk
    maintenance_window: bool
    migrations: tuple[PhaseMigration, ...]  # the revisions it adds, in upgrade order
    edited: tuple[PhaseMigration, ...]  # revisions the base already has that it edits or deletes
    migration_count: str  # e.g. "6 new migrations, 1 edited base revision"
    heads_before: tuple[Revision, ...]
    heads_after: tuple[Revision, ...]
    database_impact: Rating
    backward_compatibility: Rating
    rollback: Rating
    testing_effort: str
    restore_from_backup: bool  # a downgrade cannot undo the phase
    commands: PhaseCommands
    rollback_steps: tuple[str, ...]
    testing: tuple[str, ...]  # the testing checklist
    pre_deployment: tuple[str, ...]  # empty unless a maintenance window is needed
    expands: tuple[ExpandPart, ...] = ()  # new expand revisions of split migrations
    contracts: tuple[ContractPart, ...] = ()  # split migrations reduced to their contract
    partials: tuple[PartialPart, ...] = ()  # files shipped with only some of their hunks


def alembic_invocation(configs: Sequence[AlembicConfig], paths: Sequence[RepoPath] = ()) -> str:
    """``alembic`` as run from the repository root for the environment holding ``paths``.

    A configuration at the root is alembic's default; elsewhere it is named with
    ``-c`` (alembic reads an alembic.ini or a pyproject.toml there).
    """
    chosen = next(
        (
            config
            for config in configs
            if any(
                path.startswith(folder.rstrip("/") + "/")
                for path in paths
                for folder in config.version_locations
            )
        ),
        configs[0] if configs else None,
    )
    source = chosen.source if chosen is not None else None
    if source is None or "/" not in source:
        return "alembic"
    return f"alembic -c {shlex.quote(source)}"


def phase_total(rules: Rules) -> int:
    """The M of "phase N of M": every phase the rules define.

    Numbers are the rules' and an empty phase keeps its number (no branch, no
    pull request) and still counts: with phase 2 empty the stack is 1, 3, 4,
    each "of 4", and stays so whichever phases fill up or empty later.
    """
    return len(rules.phases)


def assess_plan(
    phases: Sequence[Phase],
    chains: Mapping[int, PhaseChain],
    rules: Rules,
    report: MigrationReport,
    *,
    splits: Sequence[PlannedSplit] = (),
    partials: Sequence[PlannedPartial] = (),
) -> tuple[PhaseAssessment, ...]:
    """The judgement of every phase of the stack, in merge order.

    ``chains``: each phase's Alembic chain (``plan_chains``, or what split recorded);
    ``splits`` and ``partials``: the plan's expand/contract splits and files split by hunk.
    """
    total = phase_total(rules)
    return tuple(
        _assess(phase, chains[phase.number], report, phases, total, splits, partials)
        for phase in phases
    )


def _added(phase: Phase, chain: PhaseChain, report: MigrationReport) -> tuple[PhaseMigration, ...]:
    """The revisions the phase adds, as the phase writes them.

    A split migration's parts are files stager derived: the new expand revision
    is in no commit of the branch, and R's file holds only its contract part.
    R's original parents are the branch's, whatever revision it now revises.
    """
    derived = derived_migrations(phase)
    added = []
    for link in chain.links:
        branch = report.by_path.get(link.path)
        migration = derived.get(link.path, branch)
        if migration is None:
            continue
        original = branch.down_revisions if link.path in derived and branch else link.original
        added.append(phase_migration(migration, "added", link.parents, original))
    return tuple(added)


def _assess(
    phase: Phase,
    chain: PhaseChain,
    report: MigrationReport,
    phases: Sequence[Phase],
    total: int,
    splits: Sequence[PlannedSplit],
    partials: Sequence[PlannedPartial],
) -> PhaseAssessment:
    added = _added(phase, chain, report)
    by_path = {m.path: m for m in added}
    expands = expand_parts(phase, splits, {path: m.operations for path, m in by_path.items()})
    contracts = contract_parts(phase, splits, {path: m.dropped for path, m in by_path.items()})
    paths = set(phase.paths)
    edited = tuple(
        phase_migration(m, change, m.down_revisions, m.down_revisions)
        for change, group in (("modified", report.modified), ("deleted", report.deleted))
        for m in group
        if m.path in paths
    )
    alembic = alembic_invocation(report.configs, [m.path for m in (*added, *edited)])
    backup_file = shlex.quote(f"before-phase-{phase.number}-{phase.name}.dump")
    commands = PhaseCommands(
        alembic=alembic,
        backup_file=backup_file,
        backup=f"pg_dump --format=custom --file={backup_file} {_DATABASE_URL}",
        upgrade=f"{alembic} upgrade head",
        heads=f"{alembic} heads",
        downgrade=downgrade_command(alembic, chain) if added else None,
        restore=f"pg_restore --clean --if-exists --dbname={_DATABASE_URL} {backup_file}",
    )
    restore = any(not m.reversible or m.data_loss for m in added)
    # A contract revision's downgrade brings its columns back, empty: when every loss of
    # the phase is one, the rollback downgrades, then restores those tables' values.
    contracted = {part.path for part in contracts}
    undo = (
        contracts
        if restore
        and all(m.reversible for m in added)
        and all(m.path in contracted for m in added if m.data_loss)
        else ()
    )
    window = " — REQUIRES MAINTENANCE WINDOW" if phase.maintenance_window else ""
    later = [other for other in phases if other.number > phase.number]
    dependents = [other for other in later if phase.number in other.depends_on]
    return PhaseAssessment(
        number=phase.number,
        total=total,
        title=f"{phase.title} (phase {phase.number}/{total}){window}",
        risk=phase.risk,
        maintenance_window=phase.maintenance_window,
        migrations=added,
        edited=edited,
        migration_count=_count(added, edited),
        heads_before=chain.start,
        heads_after=chain.end,
        database_impact=_database_impact(added, edited),
        backward_compatibility=_compatibility(added),
        rollback=Rating("DIFFICULT", contract_rollback(undo))
        if undo
        else _rollback(added, restore),
        testing_effort=_TESTING[phase.risk],
        restore_from_backup=restore,
        commands=commands,
        rollback_steps=_rollback_steps(
            added,
            chain,
            commands,
            dependents,
            restore=restore,
            undo=restore_tables_step(undo, backup_file, commands.restore, phase) if undo else "",
        ),
        testing=_testing(phase, added, edited, commands, chain, follow_ups=bool(later)),
        pre_deployment=_pre_deployment(phase, added, commands),
        expands=expands,
        contracts=contracts,
        partials=partial_parts(phase, partials),
    )


def phase_migration(
    migration: MigrationFile,
    change: str,
    parents: Sequence[Revision],
    original: Sequence[Revision],
) -> PhaseMigration:
    """What a revision file of the phase does, with its parents as written there."""
    upgrade = [op for op in migration.operations if op.function == "upgrade"]
    downgrade = [op for op in migration.operations if op.function == "downgrade"]
    # What the upgrade drops, written as op.* calls or as SQL alike.
    dropped = tuple(
        f"{action.table}.{column}" if column else action.table or "?"
        for op in upgrade
        for action in operation_actions(op)
        if action.effect is Effect.DROP
        for column in action.columns or ("",)
    )
    return PhaseMigration(
        revision=migration.revision or Revision(""),
        title=migration.title,
        path=migration.path,
        kind=migration.kind.value,
        change=change,
        down_revision=tuple(parents),
        original_down_revision=tuple(original),
        reversible=bool(downgrade) or not upgrade,
        dropped=dropped,
        # Destructive also covers renames, which break running code but lose no data.
        data_loss=bool(dropped),
        operations=tuple(_describe(op) for op in upgrade),
    )


def _describe(op: Operation) -> str:
    if op.table and op.columns:
        return f"{op.name} " + ", ".join(f"{op.table}.{column}" for column in op.columns)
    return f"{op.name} {op.table}" if op.table else op.name


def _count(added: Sequence[PhaseMigration], edited: Sequence[PhaseMigration]) -> str:
    parts = [count(len(added), "new migration")] if added else []
    if edited:
        parts.append(count(len(edited), "edited base revision"))
    return ", ".join(parts) or "no migration"


def _of(migrations: Sequence[PhaseMigration], kind: MigrationKind) -> list[PhaseMigration]:
    return [m for m in migrations if m.kind == kind.value]


def _ids(migrations: Sequence[PhaseMigration]) -> str:
    return ", ".join(f"`{m.revision}`" for m in migrations)


def _dropped(migrations: Sequence[PhaseMigration]) -> str:
    names = [f"`{name}`" for m in migrations for name in m.dropped]
    return ", ".join(names) or "tables or columns"


def _database_impact(added: Sequence[PhaseMigration], edited: Sequence[PhaseMigration]) -> Rating:
    lossy = [m for m in added if m.data_loss]
    destructive = _of(added, MigrationKind.DESTRUCTIVE)
    data = _of(added, MigrationKind.DATA)
    if lossy:
        rating = Rating("CRITICAL", f"drops {_dropped(lossy)}: their data is gone")
    elif destructive:
        rating = Rating(
            "HIGH",
            f"renames tables or columns ({_ids(destructive)}): code using an old name breaks",
        )
    elif data:
        rating = Rating("HIGH", f"rewrites existing rows ({_ids(data)})")
    elif added:
        rating = Rating(
            "LOW",
            "adds tables, columns, indexes, enum values or reference rows; existing data "
            "is unchanged",
        )
    elif edited:
        rating = Rating("HIGH", "no new migration")
    else:
        return Rating("NONE", "no migrations: the schema and the data are unchanged")
    if edited:
        rating = Rating(
            "CRITICAL" if rating.level == "CRITICAL" else "HIGH",
            f"{rating.text}; edits or deletes revisions the base already has ({_ids(edited)}): "
            "databases that ran them will not run them again",
        )
    return rating


def _compatibility(added: Sequence[PhaseMigration]) -> Rating:
    destructive = _of(added, MigrationKind.DESTRUCTIVE)
    if destructive:
        lossy = [m for m in destructive if m.dropped]
        what = _dropped(lossy) if lossy else f"or renames what {_ids(destructive)} change"
        return Rating(
            "BREAKING",
            f"removes {what}: code still reading them fails; deploy the code that stops "
            "using them first",
        )
    if _of(added, MigrationKind.DATA):
        return Rating("MEDIUM", "changes data the running application reads")
    return Rating(
        "HIGH",
        "additive only: the running application does not notice"
        if added
        else "the database schema is unchanged",
    )


def _rollback(added: Sequence[PhaseMigration], restore: bool) -> Rating:
    if restore:
        return Rating("DIFFICULT", "requires a restore from the backup")
    if _of(added, MigrationKind.DATA):
        return Rating(
            "COMPLEX", "the downgrade cannot restore the values the data migration rewrote"
        )
    return Rating(
        "EASY",
        "every migration has a downgrade" if added else "revert the merge commit and redeploy",
    )


def downgrade_command(alembic: str, chain: PhaseChain) -> str:
    """``downgrade`` to the head the phase built on, only while the database is at its end.

    Once a later phase (or another team's revision) has run, ``downgrade <start>``
    would undo that too: the precondition stops it. With several heads, only the
    ones the phase built on are the target (the others stay as they are).
    """
    current = f"{alembic} current | cut -d' ' -f1"
    end = chain.end
    if len(end) == 1:
        check = f'test "$({current})" = {shlex.quote(end[0])}'
    else:
        check = f'test "$({current} | sort | xargs)" = {shlex.quote(" ".join(sorted(end)))}'
    # alembic downgrades to one revision at a time, removing that revision's
    # descendants: a phase that merges two heads goes back to each of them in turn
    # (``alembic downgrade a b`` is a usage error, not a downgrade).
    targets: list[str] = [head for head in chain.start if head not in end] or ["base"]
    downgrades = (f"{alembic} downgrade {shlex.quote(target)}" for target in targets)
    return " && ".join((check, *downgrades))


def _rollback_steps(
    added: Sequence[PhaseMigration],
    chain: PhaseChain,
    commands: PhaseCommands,
    later: Sequence[Phase],
    *,
    restore: bool,
    undo: str = "",
) -> tuple[str, ...]:
    """``undo``: the step that restores what a contract revision's downgrade cannot."""
    steps: list[str] = []
    if later:
        shown = ", ".join(f"phase {other.number} ({other.name})" for other in later)
        verb = "they depend" if len(later) > 1 else "it depends"
        steps.append(f"Roll back {shown} first: {verb} on this phase.")
    revert = (
        "Revert this pull request's merge commit (`git revert -m 1 <merge commit>`) and "
        "redeploy the previous release."
    )
    if commands.downgrade is None:
        return (*steps, revert)
    steps.append(f"Before deploying: back up the database with `{commands.backup}`.")
    at = ", ".join(chain.end)
    if restore and not undo:
        irreversible = [m for m in added if not m.reversible]
        why = (
            f"the downgrade of {_ids(irreversible)} does nothing"
            if irreversible
            else f"{_ids([m for m in added if m.data_loss])} dropped data a downgrade cannot "
            "bring back"
        )
        steps += [
            f"Stop the application: {why}.",
            f"Restore the backup taken before deploying: `{commands.restore}`.",
            f"The database is then at `{' '.join(chain.start) or 'base'}`; redeploy the "
            "previous release.",
            "Revert this pull request's merge commit.",
        ]
        return tuple(steps)
    undone = _ids(added[::-1])
    steps += [
        f"Downgrade, only while `{commands.alembic} current` prints `{at}` (otherwise later "
        f"phases' or other teams' migrations have run, and the downgrade would undo them "
        f"too): `{commands.downgrade}` (undoes {undone}, in that order).",
        *([undo] if undo else []),
        revert,
    ]
    data = _of(added, MigrationKind.DATA)
    if data:
        steps.append(
            f"The downgrade of {_ids(data)} cannot restore rewritten values: if they matter, "
            f"restore the backup instead (`{commands.restore}`)."
        )
    return tuple(steps)


def _testing(
    phase: Phase,
    added: Sequence[PhaseMigration],
    edited: Sequence[PhaseMigration],
    commands: PhaseCommands,
    chain: PhaseChain,
    *,
    follow_ups: bool,
) -> tuple[str, ...]:
    items = ["CI passes"]
    if added:
        items.append(f"`{commands.upgrade}` runs on a copy of production data")
        if commands.downgrade is not None and all(m.reversible for m in added):
            items.append(f"`{commands.downgrade}` then `{commands.upgrade}` run")
        items.append(f"`{commands.heads}` shows {', '.join(chain.end)}")
    rechained = [m for m in added if m.rechained]
    if rechained:
        items.append(f"the re-chained revisions ({_ids(rechained)}) apply in their new order")
    items += [
        f"data migration `{m.revision}` ({m.title}) checked: row counts, sample values"
        for m in _of(added, MigrationKind.DATA)
    ]
    items += [
        f"edited revision `{m.revision}`: databases that already ran it will not run it again: "
        "is a new revision needed instead?"
        for m in edited
    ]
    if any(m.dropped for m in added):
        items.append(f"no code reads {_dropped(added)} any more")
    categories = {planned.category for planned in phase.files}
    if any("frontend" in name for name in categories):
        items.append("the changed pages work in a browser")
    if any("etl" in name for name in categories):
        items.append("the ETL runs on production-like data and its validation passes")
    if follow_ups:
        items.append("the application works with this phase deployed and the later ones not")
    return tuple(items)


def _pre_deployment(
    phase: Phase, added: Sequence[PhaseMigration], commands: PhaseCommands
) -> tuple[str, ...]:
    if not phase.maintenance_window:
        return ()
    items = [
        f"full database backup taken: `{commands.backup}`",
        "migrations run on a copy of production data, timings noted (they size the window)",
    ]
    if _of(added, MigrationKind.DATA):
        items.append("data migration results validated on that copy")
    if any(m.dropped for m in added):
        items.append(f"no deployed code reads {_dropped(added)} any more")
    return (*items, "rollback plan below rehearsed", "maintenance window scheduled and announced")
