"""Every phase on a real database, as production would run it, and the end state against head's.

Phase 0 is the base: ``upgrade heads`` in its tree. Then each phase in order,
in a temporary detached worktree of its branch: ``upgrade heads``,
``downgrade`` to each of the previous phase's heads, ``upgrade heads`` again
(``heads``: ``head`` for a project with one head, and a project that keeps
several upgrades them all, where ``head`` would refuse), with a
catalog snapshot after each step. Before anything, the routing is proven: the
project's ``alembic current`` must read stager's database (a probe revision
stager writes there shows up in its error) and print no revision once the
probe is gone. After each step ``alembic_version`` of stager's own database
must say where the step went. Last, head's tree runs ``upgrade heads`` on an
empty database, and the last phase's schema must equal that one.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from stager.database.alembic_run import PROJECT_APPLICATION, AlembicOutcome, ProjectAlembic
from stager.database.errors import DatabaseError
from stager.database.fresh import fresh_database
from stager.database.psql import Psql
from stager.database.schema_diff import Action, Change, SchemaDiff, diff_snapshots
from stager.database.server import Progress
from stager.database.snapshot import CatalogSnapshot, take_snapshot
from stager.git.refs import worktree_add, worktree_remove
from stager.git.repository import Repository
from stager.interrupts import deferred
from stager.types import Sha

PROBE_REVISION = "stager_routing_probe"
_TAIL = 15


@dataclass(frozen=True)
class PhaseTree:
    number: int
    name: str
    commit: Sha


@dataclass(frozen=True)
class EditedRevision:
    """A revision the base already has and the branch edits (SG006): head's version of its file."""

    revision: str
    base_path: str  # its file in the base's tree
    head_path: str  # its file in head's tree (the same unless the branch moved it)
    head_text: bytes


@dataclass(frozen=True)
class Step:
    """One Alembic step: ``ok``, ``irreversible`` (a downgrade that raises on purpose), …"""

    status: str  # "ok" | "failed" | "irreversible" | "skipped"
    tail: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status == "failed"


SKIPPED = Step("skipped")


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

    @property
    def ok(self) -> bool:
        return not self.problems and not any(
            step.failed for step in (self.upgrade, self.downgrade, self.reupgrade)
        )


@dataclass(frozen=True)
class EndState:
    ok: bool
    skipped: bool
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatabaseVerification:
    phases: tuple[PhaseRun, ...]
    end_state: EndState
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(phase.ok for phase in self.phases) and self.end_state.ok


def _tail(output: str) -> tuple[str, ...]:
    return tuple(output.rstrip().splitlines()[-_TAIL:])


@contextmanager
def phase_tree(repo: Repository, commit: Sha, label: str) -> Iterator[tuple[Path, Path]]:
    """A temporary detached worktree of ``commit`` and a scratch folder; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"stager-database-{label}-"))
    tree = folder / "tree"
    scratch = folder / "scratch"
    scratch.mkdir()
    try:
        worktree_add(repo, tree, commit)
        yield tree, scratch
    finally:
        with deferred():
            worktree_remove(repo, tree)
            shutil.rmtree(folder, ignore_errors=True)


def _versions(psql: Psql) -> tuple[str, ...]:
    """What ``alembic_version`` of stager's database holds (nothing when there is no table)."""
    present = psql.json("SELECT 1 AS x FROM pg_class WHERE relname = 'alembic_version'")
    if not present:
        return ()
    return tuple(
        sorted(row["v"] for row in psql.json("SELECT version_num AS v FROM alembic_version"))
    )


class _Runner:
    def __init__(
        self, repo: Repository, alembic: ProjectAlembic, psql: Psql, progress: Progress
    ) -> None:
        self.repo = repo
        self.alembic = alembic
        self.psql = psql
        self.progress = progress

    def alembic_in(self, tree: Path, scratch: Path, *arguments: str) -> AlembicOutcome:
        return self.alembic.run(tree, scratch, self.psql.connection, arguments)

    def prove_routing(self, tree: Path, scratch: Path, server_log: Path | None) -> None:
        """The project's Alembic reads stager's database, or nothing runs at all."""
        log_start = server_log.stat().st_size if server_log is not None else 0
        self.psql.run(
            "CREATE TABLE alembic_version (version_num varchar(64) PRIMARY KEY);"
            f"INSERT INTO alembic_version VALUES ('{PROBE_REVISION}');"
        )
        probed = self.alembic_in(tree, scratch, "current")
        self.psql.run("DROP TABLE alembic_version;")
        if PROBE_REVISION not in probed.output and not probed.ok:
            raise DatabaseError(
                "the project's `alembic current` failed before it read stager's database: "
                f"{' | '.join(_tail(probed.output))}",
                "install the project's dependencies (alembic, its database driver) where "
                'stager runs, or name the command: [verify] alembic = ".venv/bin/alembic"',
            )
        if PROBE_REVISION not in probed.output:
            raise DatabaseError(
                "the project's Alembic did not read stager's database: it never saw the probe "
                f"revision stager wrote there, so it may be connected elsewhere; "
                f"its output: {' | '.join(_tail(probed.output))}",
                "make env.py take the URL from -x db_url, sqlalchemy.url or DATABASE_URL "
                "(stager sets all of them), or set [verify] env in rules.toml",
            )
        current = self.alembic_in(tree, scratch, "current")
        revisions = [line for line in current.output.splitlines() if _looks_like_revision(line)]
        if not current.ok or revisions:
            raise DatabaseError(
                "the project's `alembic current` on stager's empty database did not pass "
                f"cleanly: {' | '.join(_tail(current.output))}",
                "run `alembic current` in the project to see why",
            )
        if server_log is not None and not self._logged_connection(server_log, log_start):
            raise DatabaseError(
                "stager's server saw no connection of the project's Alembic "
                f"(application_name={PROJECT_APPLICATION})",
                "make env.py connect with the URL stager passes (-x db_url or sqlalchemy.url)",
            )

    def _logged_connection(self, server_log: Path, start: int) -> bool:
        """The server logged, since ``start``, a connection of the project to stager's database."""
        with server_log.open("rb") as log:
            log.seek(start)
            text = log.read().decode("utf-8", "replace")
        wanted = (
            "connection authorized",
            f"database={self.psql.connection.database}",
            f"application_name={PROJECT_APPLICATION}",
        )
        return any(all(part in line for part in wanted) for line in text.splitlines())

    def downgrade(self, tree: Path, scratch: Path, targets: Sequence[str]) -> Step:
        """``downgrade`` to each target in turn; the first step that does not pass."""
        for target in targets:
            step = self.step(tree, scratch, "downgrade", target)
            if step.status != "ok":
                return step
        return Step("ok")

    def step(self, tree: Path, scratch: Path, *arguments: str) -> Step:
        outcome = self.alembic_in(tree, scratch, *arguments)
        if outcome.ok:
            return Step("ok")
        if arguments[0] == "downgrade" and "NotImplementedError" in outcome.output:
            return Step("irreversible", _tail(outcome.output))
        return Step("failed", _tail(outcome.output))


def _downgrade_targets(previous_heads: tuple[str, ...], heads: tuple[str, ...]) -> list[str]:
    """Where ``downgrade`` goes back to the previous phase: each of its heads in turn.

    Alembic downgrades to one revision at a time, removing that revision's
    descendants, so a previous phase with several heads takes one downgrade per
    head the phase built on (as the rollback commands of plan.assessment do).
    """
    if not previous_heads:
        return ["base"]
    return [head for head in previous_heads if head not in heads] or list(previous_heads)


def _looks_like_revision(line: str) -> bool:
    """A line of ``alembic current`` that names a revision (``abc123 (head)``)."""
    words = line.split()
    return (
        bool(words)
        and not line.startswith(("INFO", "WARN", "DEBUG"))
        and ("(head)" in line or "(effective head)" in line or len(words) == 1)
    )


def verify_on_database(
    repo: Repository,
    alembic_command: str,
    admin: Psql,
    base: Sha,
    phases: Sequence[PhaseTree],
    reference: Sha | None,
    progress: Progress,
    server_log: Path | None = None,
    env_templates: Sequence[tuple[str, str]] = (),
    easy_rollback: frozenset[int] = frozenset(),
    edited: Sequence[EditedRevision] = (),
) -> DatabaseVerification:
    """Run the base, then every phase, then the reference; what each did to the schema.

    ``env_templates``: ``[verify] env``, more variables that name stager's database;
    ``easy_rollback``: the phases whose assessment promises an easy rollback, for
    which a downgrade that raises on purpose is a failure; ``edited``: the base's
    revisions the branch edits, whose edit a database already past them never runs.
    """
    alembic = ProjectAlembic.parse(alembic_command, env_templates)
    runs: list[PhaseRun] = []
    with fresh_database(admin) as psql:
        runner = _Runner(repo, alembic, psql, progress)
        with phase_tree(repo, base, "0") as (tree, scratch):
            progress("proving that the project's Alembic connects to stager's database")
            runner.prove_routing(tree, scratch, server_log)
            foreign = alembic.foreign_packages(tree, scratch, psql.connection)
            progress("phase 0 (the base): alembic upgrade heads")
            started = time.monotonic()
            base_step = runner.step(tree, scratch, "upgrade", "heads")
            if base_step.failed:
                problem = ("the base's own migrations do not run",)
                runs.append(_base_run(base_step, 0.0, problem, foreign))
                return DatabaseVerification(tuple(runs), EndState(False, True))
        previous = base_schema = take_snapshot(psql)
        previous_heads = _versions(psql)
        runs.append(_base_run(base_step, time.monotonic() - started, (), foreign))
        for phase in phases:
            run, snapshot, heads = _phase(
                runner, phase, previous, previous_heads, phase.number in easy_rollback
            )
            runs.append(run)
            if snapshot is None:
                return DatabaseVerification(tuple(runs), EndState(False, True))
            previous, previous_heads = snapshot, heads
    end_state = (
        EndState(True, True, warnings=("--onto: the end state is not compared yet",))
        if reference is None
        else _end_state(
            _Edits(repo, alembic, admin, base, base_schema, edited, progress),
            reference,
            previous,
        )
    )
    return DatabaseVerification(
        tuple(runs), end_state, ("data migrations ran on empty tables: not proven",)
    )


def _base_run(
    step: Step, seconds: float, problems: tuple[str, ...], warnings: Sequence[str]
) -> PhaseRun:
    """Phase 0: the base's own ``upgrade heads``, nothing to downgrade to."""
    return PhaseRun(0, "base", step, SKIPPED, SKIPPED, None, seconds, problems, tuple(warnings))


def _phase(
    runner: _Runner,
    phase: PhaseTree,
    previous: CatalogSnapshot,
    previous_heads: tuple[str, ...],
    rollback_promised: bool,
) -> tuple[PhaseRun, CatalogSnapshot | None, tuple[str, ...]]:
    psql = runner.psql
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
            return run, None, previous_heads
        upgraded = take_snapshot(psql)
        heads = _versions(psql)
        targets = _downgrade_targets(previous_heads, heads)
        runner.progress(f"phase {phase.number}: alembic downgrade {' then '.join(targets)}")
        downgrade = runner.downgrade(tree, scratch, targets)
        if downgrade.status == "irreversible" and rollback_promised:
            problems.append(
                "the downgrade raises on purpose (irreversible), but the phase's assessment "
                "says its rollback is EASY"
            )
        if downgrade.status == "ok":
            if _versions(psql) != previous_heads:
                problems.append(
                    f"after the downgrade alembic_version holds {_versions(psql) or 'nothing'}, "
                    f"not {', '.join(previous_heads) or 'nothing'}"
                )
            back = diff_snapshots(previous, take_snapshot(psql))
            if not back.empty:
                warnings.append(
                    "the downgrade does not return the schema to the previous phase's: "
                    + "; ".join(change.line() for change in back.changes)
                )
        runner.progress(f"phase {phase.number}: alembic upgrade heads again")
        reupgrade = runner.step(tree, scratch, "upgrade", "heads")
        if reupgrade.status == "ok":
            if _versions(psql) != heads:
                problems.append(
                    f"after the re-upgrade alembic_version holds {_versions(psql)}, not {heads}"
                )
            again = diff_snapshots(upgraded, take_snapshot(psql))
            if not again.empty:
                problems.append(
                    "the re-upgrade does not rebuild the schema of the first upgrade: "
                    + "; ".join(change.line() for change in again.changes)
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
    )
    return run, upgraded, heads


def _against_head(change: Change) -> str:
    """One difference of the phases' end schema from head's, said from the phases' side."""
    if change.action is Action.DROPPED:
        return f"head's schema has {change.kind} {change.name}; the phases end without it"
    if change.action is Action.ADDED:
        return f"the phases end with {change.kind} {change.name}; head's schema has none"
    return f"{change.kind} {change.name} differs from head's: {change.detail}"


@dataclass(frozen=True)
class _Edits:
    """What the branch's edits of applied revisions do: the base run with head's version of each."""

    repo: Repository
    alembic: ProjectAlembic
    admin: Psql
    base: Sha
    base_schema: CatalogSnapshot
    edited: Sequence[EditedRevision]
    progress: Progress

    def objects(self) -> dict[tuple[str, str], str]:
        """(kind, name) of every object an edit changes → the edited revision."""
        found: dict[tuple[str, str], str] = {}
        for edit in self.edited:
            schema = self._base_with(edit)
            if schema is None:
                continue
            for change in diff_snapshots(self.base_schema, schema).changes:
                found.setdefault((change.kind, change.name), edit.revision)
        return found

    def _base_with(self, edit: EditedRevision) -> CatalogSnapshot | None:
        """The base's ``upgrade heads`` with head's version of ``edit``; None when it fails."""
        with fresh_database(self.admin) as psql:
            runner = _Runner(self.repo, self.alembic, psql, self.progress)
            with phase_tree(self.repo, self.base, "edit") as (tree, scratch):
                self.progress(
                    f"the base with head's edit of {edit.revision}: alembic upgrade heads"
                )
                (tree / edit.base_path).unlink(missing_ok=True)
                (tree / edit.head_path).parent.mkdir(parents=True, exist_ok=True)
                (tree / edit.head_path).write_bytes(edit.head_text)
                if runner.step(tree, scratch, "upgrade", "heads").failed:
                    return None
            return take_snapshot(psql)


def _never_runs(change: Change, revision: str) -> str:
    """The warning for an object that differs only because the branch edited ``revision``."""
    if change.action is Action.DROPPED:
        where = "exists only on databases created from scratch"
    elif change.action is Action.ADDED:
        where = "exists only on databases already past it"
    else:
        where = "differs between databases created from scratch and those already past it"
    return (
        f"head's edit of {revision} never runs on a database already past it: "
        f"{change.kind} {change.name} {where} (SG006)"
    )


def _end_state(edits: _Edits, reference: Sha, phased: CatalogSnapshot) -> EndState:
    """Head's ``upgrade heads`` on an empty database: the schema the phases must end at.

    An object that differs only because the branch edited a revision the base had
    already applied is a warning: SG006 already reports that edit, and no phased
    rollout can run it on a database past that revision.
    """
    with fresh_database(edits.admin) as psql:
        runner = _Runner(edits.repo, edits.alembic, psql, edits.progress)
        with phase_tree(edits.repo, reference, "head") as (tree, scratch):
            edits.progress("the reference: head's alembic upgrade heads on an empty database")
            step = runner.step(tree, scratch, "upgrade", "heads")
            if step.failed:
                return EndState(False, False, ("head's own `upgrade heads` failed", *step.tail))
        expected = take_snapshot(psql)
    difference = diff_snapshots(expected, phased)
    explained = edits.objects() if difference.changes and edits.edited else {}
    problems = tuple(
        _against_head(change)
        for change in difference.changes
        if (change.kind, change.name) not in explained
    )
    warnings = tuple(
        _never_runs(change, explained[(change.kind, change.name)])
        for change in difference.changes
        if (change.kind, change.name) in explained
    ) + tuple(f"{table}: columns in another order than head's" for table in difference.column_order)
    return EndState(not problems, False, problems, warnings)
