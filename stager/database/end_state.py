"""The end state: the schema the phases end at against the reference's, built from scratch.

The reference is the tree the lossless proof compares the last phase with:
head, or with ``--onto`` git's merge of the base's tip and head (written out
as files, since that merge is never committed). Its ``upgrade heads`` runs on
an empty database. An object that differs only because the branch edited a
revision the base had already applied is a warning: SG006 already reports
that edit, and no phased rollout can run it on a database past that revision.
stager works this out by running the base once more with head's version of
each edited revision.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stager.database.alembic_run import ProjectAlembic
from stager.database.fresh import fresh_database
from stager.database.psql import Psql
from stager.database.runner import Runner, files_tree, phase_tree
from stager.database.schema_diff import Action, Change, diff_snapshots
from stager.database.schema_dump import dump_diff
from stager.database.seed import Seed
from stager.database.server import Progress
from stager.database.snapshot import CatalogSnapshot, take_snapshot
from stager.database.table_data import TableRows, changed_tables, table_rows
from stager.git.repository import Repository
from stager.types import Sha, VersionTable


@dataclass(frozen=True)
class Reference:
    """The tree the phases must end at: a commit, or a merge's files already written out."""

    what: str  # "head", "the merge of main's tip and head"
    commit: Sha | None = None
    files: Path | None = None
    missing: str | None = None  # why there is no tree (the merge conflicts): not compared


@dataclass(frozen=True)
class EditedRevision:
    """A revision the base already has and the branch edits (SG006): head's version of its file."""

    revision: str
    base_path: str  # its file in the base's tree
    head_path: str  # its file in head's tree (the same unless the branch moved it)
    head_text: bytes


@dataclass(frozen=True)
class EndState:
    ok: bool
    skipped: bool
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    against: str = "head"  # what the reference is
    dump_diff: tuple[str, ...] = ()  # pg_dump's schema, the reference's to the phases'


@dataclass(frozen=True)
class Reached:
    """Where a phase left the database: its schema, Alembic heads and rows (None: no seed)."""

    schema: CatalogSnapshot
    heads: tuple[str, ...]
    rows: Mapping[str, TableRows] | None


@dataclass(frozen=True)
class Context:
    """What the end state's own runs need: the project's Alembic, a server, the base."""

    repo: Repository
    alembic: ProjectAlembic
    admin: Psql
    base: Sha
    progress: Progress
    version_table: VersionTable  # where the project's Alembic keeps its revisions
    seed: Seed | None = None


@contextmanager
def _reference_tree(repo: Repository, reference: Reference) -> Iterator[tuple[Path, Path]]:
    if reference.files is not None:
        with files_tree(reference.files, "reference") as pair:
            yield pair
    else:
        assert reference.commit is not None
        with phase_tree(repo, reference.commit, "reference") as pair:
            yield pair


def _against_reference(change: Change, what: str) -> str:
    """One difference of the phases' end schema from the reference's, said from the phases' side."""
    if change.action is Action.DROPPED:
        return f"{what}'s schema has {change.kind} {change.name}; the phases end without it"
    if change.action is Action.ADDED:
        return f"the phases end with {change.kind} {change.name}; {what}'s schema has none"
    return f"{change.kind} {change.name} differs from {what}'s: {change.detail}"


def _base_with(context: Context, edit: EditedRevision) -> CatalogSnapshot | None:
    """The base's ``upgrade heads`` with head's version of ``edit``; None when it fails."""
    with fresh_database(context.admin) as psql:
        runner = Runner(
            context.repo, context.alembic, psql, context.progress, context.version_table
        )
        with phase_tree(context.repo, context.base, "edit") as (tree, scratch):
            context.progress(f"the base with head's edit of {edit.revision}: alembic upgrade heads")
            (tree / edit.base_path).unlink(missing_ok=True)
            (tree / edit.head_path).parent.mkdir(parents=True, exist_ok=True)
            (tree / edit.head_path).write_bytes(edit.head_text)
            if runner.step(tree, scratch, "upgrade", "heads").failed:
                return None
        return take_snapshot(psql, context.version_table)


def _edited_objects(
    context: Context, base_schema: CatalogSnapshot, edited: Sequence[EditedRevision]
) -> dict[tuple[str, str], str]:
    """(kind, name) of every object an edit of an applied revision changes → that revision."""
    found: dict[tuple[str, str], str] = {}
    for edit in edited:
        schema = _base_with(context, edit)
        if schema is None:
            continue
        for change in diff_snapshots(base_schema, schema).changes:
            found.setdefault((change.kind, change.name), edit.revision)
    return found


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


def _seeded_rows(context: Context, reference: Reference) -> dict[str, TableRows] | str:
    """The rows of the reference upgraded from the base with the seed, as the phases were.

    A string when a step fails: what failed.
    """
    assert context.seed is not None
    with fresh_database(context.admin) as psql:
        runner = Runner(
            context.repo, context.alembic, psql, context.progress, context.version_table
        )
        with phase_tree(context.repo, context.base, "seeded-base") as (tree, scratch):
            context.progress("the reference's data: the base's alembic upgrade heads, the seed")
            if runner.step(tree, scratch, "upgrade", "heads").failed:
                return "the base's `upgrade heads` failed"
        if context.seed.load(psql, context.alembic.templates):
            return f"the seed {context.seed.written} failed"
        with _reference_tree(context.repo, reference) as (tree, scratch):
            context.progress(f"the reference's data: {reference.what}'s alembic upgrade heads")
            step = runner.step(tree, scratch, "upgrade", "heads")
            if step.failed:
                return f"{reference.what}'s `upgrade heads` after the seed failed: " + " | ".join(
                    step.tail[-3:]
                )
        return table_rows(psql, context.version_table)


def _data_problems(
    context: Context, reference: Reference, phased: Mapping[str, TableRows]
) -> tuple[str, ...]:
    """Tables whose rows the phases leave other than the reference, both seeded alike."""
    expected = _seeded_rows(context, reference)
    if isinstance(expected, str):
        return (f"the data is not compared: {expected}",)
    return tuple(
        f"table {table}: the phases leave other rows than {reference.what}, seeded alike "
        f"({phased[table].count} rows; {reference.what}: {expected[table].count})"
        for table in changed_tables(expected, phased, counts=False)
    )


def compare_end_state(
    context: Context,
    reference: Reference,
    reached: Reached,
    base_schema: CatalogSnapshot,
    edited: Sequence[EditedRevision],
    phased: Psql,
) -> EndState:
    """The reference's ``upgrade heads`` on an empty database against the phases' end schema.

    With a seed, also the rows of every table against the reference upgraded from the
    seeded base. ``phased``: the phases' database, still there, for the dump's diff.
    """
    if reference.missing is not None:
        return EndState(
            True, True, warnings=(f"the end state is not compared: {reference.missing}",)
        )
    with fresh_database(context.admin) as psql:
        runner = Runner(
            context.repo, context.alembic, psql, context.progress, context.version_table
        )
        with _reference_tree(context.repo, reference) as (tree, scratch):
            context.progress(
                f"the reference, {reference.what}: alembic upgrade heads on an empty database"
            )
            step = runner.step(tree, scratch, "upgrade", "heads")
            if step.failed:
                problem = f"{reference.what}'s own `upgrade heads` failed"
                return EndState(False, False, (problem, *step.tail), against=reference.what)
        expected = take_snapshot(psql, context.version_table)
        difference = diff_snapshots(expected, reached.schema)
        shown = (
            dump_diff(psql, phased, reference.what, context.version_table)
            if difference.changes
            else ()
        )
    explained = (
        _edited_objects(context, base_schema, edited) if difference.changes and edited else {}
    )
    problems = tuple(
        _against_reference(change, reference.what)
        for change in difference.changes
        if (change.kind, change.name) not in explained
    )
    if context.seed is not None and reached.rows is not None:
        problems += _data_problems(context, reference, reached.rows)
    warnings = tuple(
        _never_runs(change, explained[(change.kind, change.name)])
        for change in difference.changes
        if (change.kind, change.name) in explained
    ) + tuple(
        f"{table}: columns in another order than {reference.what}'s"
        for table in difference.column_order
    )
    return EndState(not problems, False, problems, warnings, reference.what, shown)
