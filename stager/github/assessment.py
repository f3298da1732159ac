"""What a reviewer and a deployer need to know about a phase, derived from its migrations.

The seed's hand-written PR bodies rate each phase's database impact, backward
compatibility and rollback difficulty, and list what to test, what to do
before deploying and how to roll back. Here the same judgements come from the
operations stager read in each revision file (never run) and the findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stager.findings import Finding
from stager.migrations.revision_files import MigrationFile, Operation
from stager.types import MigrationKind

DROP_OPERATIONS = frozenset({"drop_column", "drop_table"})
SQL_DROPS = frozenset({"DROP TABLE", "ALTER TABLE DROP COLUMN"})
EDITED_MIGRATION_RULE = "SG006"


@dataclass(frozen=True)
class MigrationView:
    """One revision file of the phase, in upgrade order."""

    revision: str
    title: str  # first line of the docstring
    path: str
    kind: str  # additive, reference-data, data, destructive, empty
    change: str  # "added", or "modified" for an edit of a revision the base already has
    down_revision: tuple[str, ...]  # its parents once split
    original_down_revision: tuple[str, ...]  # its parents on the feature branch
    rechained: bool
    reversible: bool  # its downgrade() does something (an upgrade with an empty downgrade is not)
    data_loss: bool  # its upgrade drops tables or columns: a downgrade cannot bring data back
    dropped: tuple[str, ...]  # "table.column" or "table" the upgrade drops
    operations: tuple[str, ...]  # e.g. "add_column organization.company_details"


@dataclass(frozen=True)
class Level:
    """A rating and the reason for it, e.g. LOW — adds tables and columns."""

    level: str
    text: str


@dataclass(frozen=True)
class Assessment:
    database_impact: Level
    backward_compatibility: Level
    rollback: Level


@dataclass(frozen=True)
class RollbackPlan:
    """How to undo the phase once deployed."""

    downgrade_to: str | None  # `alembic downgrade` target; None without migrations
    restore_from_backup: bool  # a downgrade cannot undo the phase: restore instead
    irreversible: tuple[str, ...]  # revisions whose downgrade cannot undo their upgrade
    backup_file: str
    backup_command: str  # pg_dump, taken before deploying
    restore_command: str
    steps: tuple[str, ...]


def migration_view(
    migration: MigrationFile,
    change: str,
    down_revision: Sequence[str],
    original_down_revision: Sequence[str],
) -> MigrationView:
    upgrade = [op for op in migration.operations if op.function == "upgrade"]
    downgrade = [op for op in migration.operations if op.function == "downgrade"]
    dropped = tuple(
        name
        for op in upgrade
        if op.name in DROP_OPERATIONS
        for name in (
            [f"{op.table}.{column}" for column in op.columns] if op.columns else [op.table or "?"]
        )
    )
    return MigrationView(
        revision=migration.revision or "",
        title=migration.title,
        path=migration.path,
        kind=migration.kind.value,
        change=change,
        down_revision=tuple(down_revision),
        original_down_revision=tuple(original_down_revision),
        rechained=tuple(down_revision) != tuple(original_down_revision),
        reversible=bool(downgrade) or not upgrade,
        # Destructive also covers renames, which break running code but lose no data.
        data_loss=bool(dropped) or any(_drops_in_sql(op) for op in upgrade),
        dropped=dropped,
        operations=tuple(_describe(op) for op in upgrade),
    )


def _drops_in_sql(op: Operation) -> bool:
    """A literal ``DROP TABLE`` / ``ALTER TABLE … DROP COLUMN`` inside ``op.execute``."""
    statements = op.details.statements or () if op.name == "execute" else ()
    return any(kind in SQL_DROPS for kind in statements)


def _describe(op: Operation) -> str:
    if op.table and op.columns:
        return f"{op.name} " + ", ".join(f"{op.table}.{column}" for column in op.columns)
    if op.table:
        return f"{op.name} {op.table}"
    return op.name


def _kinds(migrations: Sequence[MigrationView], *kinds: MigrationKind) -> list[MigrationView]:
    return [m for m in migrations if m.kind in {kind.value for kind in kinds}]


def _revisions(migrations: Sequence[MigrationView]) -> str:
    return ", ".join(f"`{m.revision}`" for m in migrations)


def assess(migrations: Sequence[MigrationView], findings: Sequence[Finding]) -> Assessment:
    """Database impact, backward compatibility and rollback difficulty of a phase."""
    if not migrations:
        return Assessment(
            Level("NONE", "no migrations: the schema and the data are unchanged"),
            Level("HIGH", "no schema change"),
            Level("EASY", "revert the merge commit and redeploy"),
        )
    destructive = [m for m in migrations if m.data_loss]
    data = _kinds(migrations, MigrationKind.DATA)
    edited = [m for m in migrations if m.change == "modified"]
    irreversible = [m for m in migrations if not m.reversible]
    dropped = ", ".join(f"`{name}`" for m in destructive for name in m.dropped)
    if destructive:
        impact = Level("CRITICAL", f"drops {dropped or 'tables or columns'}: their data is gone")
    elif data:
        impact = Level("HIGH", f"rewrites existing rows ({_revisions(data)})")
    elif edited or any(f.rule == EDITED_MIGRATION_RULE for f in findings):
        impact = Level(
            "HIGH",
            "edits revisions that already exist on the base: databases that ran them "
            "will not run them again",
        )
    else:
        impact = Level("LOW", "adds tables, columns or reference rows; existing data is unchanged")

    if destructive:
        compatibility = Level(
            "BREAKING",
            f"removes {dropped or 'tables or columns'}: code still reading them fails; "
            "deploy the code that stops using them first",
        )
    elif data:
        compatibility = Level("MEDIUM", "changes data the running application reads")
    else:
        compatibility = Level("HIGH", "additive only: the running application does not notice")

    if irreversible or destructive:
        rollback = Level("DIFFICULT", "requires a restore from backup")
    elif data:
        rollback = Level(
            "COMPLEX", "the downgrade cannot restore the values the data migration rewrote"
        )
    else:
        rollback = Level("EASY", "every migration has a downgrade")
    return Assessment(impact, compatibility, rollback)


def rollback_plan(number: int, name: str, migrations: Sequence[MigrationView]) -> RollbackPlan:
    """Downgrade path, or restore from backup when a downgrade cannot undo the phase."""
    backup_file = f"before-phase-{number}-{name}.dump"
    backup_command = f'pg_dump --format=custom --file={backup_file} "$DATABASE_URL"'
    restore_command = f'pg_restore --clean --if-exists --dbname="$DATABASE_URL" {backup_file}'
    added = [m for m in migrations if m.change == "added"]
    if not added:
        return RollbackPlan(
            None,
            False,
            (),
            backup_file,
            backup_command,
            restore_command,
            ("Revert this pull request's merge commit and redeploy the previous release.",),
        )
    first = added[0]
    # "base" for a first revision with no parent; a merge point names every parent
    target = "+".join(first.down_revision) or "base"
    irreversible = tuple(m.revision for m in added if not m.reversible)
    lossy = [m for m in added if m.data_loss]
    restore = bool(irreversible or lossy)
    undone = ", ".join(f"`{m.revision}`" for m in reversed(added))
    steps: tuple[str, ...]
    if restore:
        why = (
            f"the downgrade of {', '.join(f'`{r}`' for r in irreversible)} does nothing"
            if irreversible
            else f"{_revisions(lossy)} dropped data a downgrade cannot bring back"
        )
        steps = (
            f"Stop the application: {why}.",
            f"Restore the backup taken before deploying: `{restore_command}`.",
            f"The database is then at revision `{target}`; redeploy the previous release.",
            "Revert this pull request's merge commit.",
        )
    else:
        steps = (
            f"`alembic downgrade {target}` (undoes {undone}, in that order).",
            "Revert this pull request's merge commit and redeploy the previous release.",
        )
        data = _kinds(added, MigrationKind.DATA)
        if data:
            steps += (
                f"The downgrade of {_revisions(data)} cannot restore rewritten values: "
                f"if they matter, restore the backup instead (`{restore_command}`).",
            )
    return RollbackPlan(
        target, restore, irreversible, backup_file, backup_command, restore_command, steps
    )


def testing_checklist(
    migrations: Sequence[MigrationView],
    categories: Sequence[str],
    *,
    downgrade_to: str | None,
    has_follow_ups: bool,
) -> tuple[str, ...]:
    """What to check before approving, from the phase's migrations and categories."""
    items = ["CI passes"]
    if migrations:
        items.append("`alembic upgrade head` runs on a copy of production data")
        if downgrade_to is not None and all(m.reversible for m in migrations):
            items.append(f"`alembic downgrade {downgrade_to}` then `alembic upgrade head` run")
        items.append("`alembic heads` shows a single head")
    rechained = [m for m in migrations if m.rechained]
    if rechained:
        items.append(f"the re-chained revisions ({_revisions(rechained)}) apply in their new order")
    for m in _kinds(migrations, MigrationKind.DATA):
        items.append(
            f"data migration `{m.revision}` ({m.title}) checked: row counts, sample values"
        )
    for m in migrations:
        if m.change == "modified":
            items.append(
                f"edited revision `{m.revision}`: databases that already ran it will not run "
                "it again: is a new revision needed instead?"
            )
    dropped = [name for m in migrations for name in m.dropped]
    if dropped:
        items.append("no code reads " + ", ".join(f"`{name}`" for name in dropped) + " any more")
    if any("frontend" in name for name in categories):
        items.append("the changed pages work in a browser")
    if any("etl" in name for name in categories):
        items.append("the ETL runs on production-like data and its validation passes")
    if has_follow_ups:
        items.append("the application works with this phase deployed and the later ones not")
    return tuple(items)


def pre_deployment_checklist(
    migrations: Sequence[MigrationView], plan: RollbackPlan, *, maintenance_window: bool
) -> tuple[str, ...]:
    """Before deploying a phase that needs a maintenance window; empty for the others."""
    if not maintenance_window:
        return ()
    items = [
        f"full database backup taken: `{plan.backup_command}`",
        "migrations run on a copy of production data, timings noted (they size the window)",
    ]
    if _kinds(migrations, MigrationKind.DATA):
        items.append("data migration results validated on that copy")
    dropped = [name for m in migrations for name in m.dropped]
    if dropped:
        items.append(
            "no deployed code reads " + ", ".join(f"`{name}`" for name in dropped) + " any more"
        )
    items += [
        "rollback plan below rehearsed",
        "maintenance window scheduled and announced",
    ]
    return tuple(items)
