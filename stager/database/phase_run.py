"""Every phase on a real database, as production would run it, then the end state.

Phase 0 is the base: ``upgrade heads`` in its tree, after the routing proof
(:mod:`stager.database.runner`). Then each phase in order, in a temporary
detached worktree of its branch: ``upgrade heads``, ``downgrade`` to each of
the previous phase's heads, ``upgrade heads`` again (``heads``: ``head`` for a
project with one head, and a project that keeps several upgrades them all,
where ``head`` would refuse), with a catalog snapshot after each step. After
each step ``alembic_version`` of stager's own database must say where the step
went (the project's version table: :mod:`stager.database.version_table`).
Last, the end state (:mod:`stager.database.end_state`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stager.database.alembic_run import ProjectAlembic
from stager.database.end_state import (
    Context,
    EditedRevision,
    EndState,
    Reached,
    Reference,
    compare_end_state,
)
from stager.database.fresh import fresh_database
from stager.database.psql import Psql
from stager.database.runner import SKIPPED, Runner, Step, phase_tree
from stager.database.schema_diff import SchemaDiff, diff_snapshots
from stager.database.seed import Seed
from stager.database.server import Progress
from stager.database.snapshot import take_snapshot
from stager.database.table_data import changed_tables, table_rows
from stager.database.version_table import locate, missing_schema, versions
from stager.git.repository import Repository
from stager.types import Sha, VersionTable


@dataclass(frozen=True)
class PhaseTree:
    number: int
    name: str
    commit: Sha


@dataclass(frozen=True)
class PhaseRun:
    number: int
    name: str
    upgrade: Step
    downgrade: Step
    reupgrade: Step
    change: SchemaDiff | None  # against the previous phase; None when the upgrade failed
    seconds: float
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    data_change: tuple[str, ...] | None = None  # tables whose rows changed; None: no seed

    @property
    def ok(self) -> bool:
        return not self.problems and not any(
            step.failed for step in (self.upgrade, self.downgrade, self.reupgrade)
        )


@dataclass(frozen=True)
class DatabaseVerification:
    phases: tuple[PhaseRun, ...]
    end_state: EndState
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(phase.ok for phase in self.phases) and self.end_state.ok


def _downgrade_targets(previous_heads: tuple[str, ...], heads: tuple[str, ...]) -> list[str]:
    """Where ``downgrade`` goes back to the previous phase: each of its heads in turn.

    Alembic downgrades to one revision at a time, removing that revision's
    descendants, so a previous phase with several heads takes one downgrade per
    head the phase built on (as the rollback commands of plan.assessment do).
    """
    if not previous_heads:
        return ["base"]
    return [head for head in previous_heads if head not in heads] or list(previous_heads)


def verify_on_database(
    repo: Repository,
    alembic_command: str,
    admin: Psql,
    base: Sha,
    phases: Sequence[PhaseTree],
    reference: Reference,
    progress: Progress,
    server_log: Path | None = None,
    env_templates: Sequence[tuple[str, str]] = (),
    easy_rollback: frozenset[int] = frozenset(),
    edited: Sequence[EditedRevision] = (),
    seed: Seed | None = None,
    version_table: VersionTable | None = None,
) -> DatabaseVerification:
    """Run the base, then every phase, then the reference; what each did to the schema.

    ``reference``: the tree the phases must end at (head, or the merge of the base's tip
    and head);
    ``env_templates``: ``[verify] env``, more variables that name stager's database;
    ``easy_rollback``: the phases whose assessment promises an easy rollback, for
    which a downgrade that raises on purpose is a failure; ``edited``: the base's
    revisions the branch edits, whose edit a database already past them never runs;
    ``seed``: rows loaded after the base's upgrade, whose every table is then hashed
    after each phase and compared at the end with the reference's, seeded alike;
    ``version_table``: ``[verify] version_table`` (None: env.py's, else Alembic's default).
    """
    alembic = ProjectAlembic.parse(alembic_command, env_templates)
    runs: list[PhaseRun] = []
    with fresh_database(admin) as psql:
        with phase_tree(repo, base, "0") as (tree, scratch):
            located = locate(tree, alembic, version_table)
            table = located.table
            runner = Runner(repo, alembic, psql, progress, table)
            progress("proving that the project's Alembic connects to stager's database")
            runner.prove_routing(tree, scratch, server_log, located)
            foreign = alembic.foreign_packages(tree, scratch, psql.connection)
            progress("phase 0 (the base): alembic upgrade heads")
            started = time.monotonic()
            base_step = runner.step(tree, scratch, "upgrade", "heads")
            if base_step.failed:
                problem = ("the base's own migrations do not run", *missing_schema(psql, table))
                runs.append(_base_run(base_step, 0.0, problem, foreign))
                return DatabaseVerification(tuple(runs), EndState(False, True))
            seed_error = _load_seed(runner, seed)
        if seed_error:
            failed = (f"the seed {seed.written if seed else ''} failed", *seed_error)
            runs.append(_base_run(base_step, time.monotonic() - started, failed, foreign))
            return DatabaseVerification(tuple(runs), EndState(False, True))
        base_schema = take_snapshot(psql, table)
        reached = Reached(
            base_schema,
            versions(psql, table),
            table_rows(psql, table) if seed is not None else None,
        )
        runs.append(_base_run(base_step, time.monotonic() - started, (), foreign))
        for phase in phases:
            run, after = _phase(runner, phase, reached, phase.number in easy_rollback)
            runs.append(run)
            if after is None:
                return DatabaseVerification(tuple(runs), EndState(False, True))
            reached = after
        context = Context(repo, alembic, admin, base, progress, table, seed)
        end_state = compare_end_state(context, reference, reached, base_schema, edited, psql)
    note = (
        f"data: the seed {seed.written} loaded after the base's upgrade; every table's rows "
        f"hashed after each phase and compared at the end with those of {reference.what}"
        if seed is not None
        else "data migrations ran on empty tables: not proven (set [verify] seed)"
    )
    return DatabaseVerification(tuple(runs), end_state, (note,))


def _load_seed(runner: Runner, seed: Seed | None) -> tuple[str, ...]:
    """``[verify] seed`` into the runner's database; the tail of its error (empty: it passed)."""
    if seed is None:
        return ()
    runner.progress(f"loading the seed {seed.written}")
    return seed.load(runner.psql, runner.alembic.templates)


def _base_run(
    step: Step, seconds: float, problems: tuple[str, ...], warnings: Sequence[str]
) -> PhaseRun:
    """Phase 0: the base's own ``upgrade heads``, nothing to downgrade to."""
    return PhaseRun(0, "base", step, SKIPPED, SKIPPED, None, seconds, problems, tuple(warnings))


def _phase(
    runner: Runner, phase: PhaseTree, before: Reached, rollback_promised: bool
) -> tuple[PhaseRun, Reached | None]:
    """Upgrade, downgrade, re-upgrade; the run, and where it left the database (None: failed)."""
    previous, previous_heads, previous_rows = before.schema, before.heads, before.rows
    psql, table = runner.psql, runner.version_table
    started = time.monotonic()
    problems: list[str] = []
    warnings: list[str] = []
    with phase_tree(runner.repo, phase.commit, str(phase.number)) as (tree, scratch):
        runner.progress(f"phase {phase.number} ({phase.name}): alembic upgrade heads")
        upgrade = runner.step(tree, scratch, "upgrade", "heads")
        if upgrade.failed:
            run = PhaseRun(
                phase.number,
                phase.name,
                upgrade,
                SKIPPED,
                SKIPPED,
                None,
                time.monotonic() - started,
                ("upgrade heads failed",),
            )
            return run, None
        upgraded = take_snapshot(psql, table)
        heads = versions(psql, table)
        upgraded_rows = table_rows(psql, table) if previous_rows is not None else None
        targets = _downgrade_targets(previous_heads, heads)
        runner.progress(f"phase {phase.number}: alembic downgrade {' then '.join(targets)}")
        downgrade = runner.downgrade(tree, scratch, targets)
        if downgrade.status == "irreversible" and rollback_promised:
            problems.append(
                "the downgrade raises on purpose (irreversible), but the phase's assessment "
                "says its rollback is EASY"
            )
        if downgrade.status == "ok":
            held = versions(psql, table)
            if held != previous_heads:
                problems.append(
                    f"after the downgrade alembic_version holds {held or 'nothing'}, "
                    f"not {', '.join(previous_heads) or 'nothing'}"
                )
            back = diff_snapshots(previous, take_snapshot(psql, table))
            if not back.empty:
                warnings.append(
                    "the downgrade does not return the schema to the previous phase's: "
                    + "; ".join(change.line() for change in back.changes)
                )
            elif previous_rows is not None:
                # a dropped column comes back empty: the schema returns, the data does not
                lost_rows = changed_tables(previous_rows, table_rows(psql, table))
                if lost_rows:
                    warnings.append(
                        "the downgrade brings back the previous phase's schema but not its "
                        f"rows: {', '.join(lost_rows)} (a rollback after this phase loses "
                        "their data: restore it from a backup)"
                    )
        runner.progress(f"phase {phase.number}: alembic upgrade heads again")
        reupgrade = runner.step(tree, scratch, "upgrade", "heads")
        if reupgrade.status == "ok":
            held = versions(psql, table)
            if held != heads:
                problems.append(f"after the re-upgrade alembic_version holds {held}, not {heads}")
            again = diff_snapshots(upgraded, take_snapshot(psql, table))
            if not again.empty:
                problems.append(
                    "the re-upgrade does not rebuild the schema of the first upgrade: "
                    + "; ".join(change.line() for change in again.changes)
                )
            if upgraded_rows is not None:
                lost = changed_tables(upgraded_rows, table_rows(psql, table))
                if lost:
                    warnings.append(
                        "the downgrade and the re-upgrade do not give back the rows of the "
                        f"first upgrade: {', '.join(lost)}"
                    )
    run = PhaseRun(
        phase.number,
        phase.name,
        upgrade,
        downgrade,
        reupgrade,
        diff_snapshots(previous, upgraded),
        time.monotonic() - started,
        tuple(problems),
        tuple(warnings),
        None
        if previous_rows is None or upgraded_rows is None
        else tuple(changed_tables(previous_rows, upgraded_rows)),
    )
    rows = table_rows(psql, table) if previous_rows is not None else None
    return run, Reached(upgraded, heads, rows)
