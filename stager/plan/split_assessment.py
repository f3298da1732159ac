"""What a phase's judgement says about the expand/contract splits it ships a part of.

The parts come from what the plan split (``Plan.splits``, ``Plan.partials``) and
the files stager derived for the phase (``Phase.derived``): the new expand
revision R_e with the revision R it came from, R reduced to its contract with
what it drops and the tables whose values only the backup keeps, and the files
the phase ships with only some of their hunks. The pull request bodies and the
staging document render these; neither works them out again.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import MigrationFile
from stager.plan.phase import DerivedKind, Phase, PlannedPartial, PlannedSplit
from stager.types import RepoPath, Revision, Sha

_REVISIONS = (DerivedKind.EXPAND_REVISION, DerivedKind.CONTRACT_REVISION)
_NO_BLOB = Sha("0" * 40)  # a derived file is in no commit of the branch


@dataclass(frozen=True)
class ExpandPart:
    """A new expand revision R_e the phase adds: the expand part of the branch's revision R."""

    revision: Revision  # R_e
    path: RepoPath
    origin: Revision  # R
    origin_path: RepoPath
    operations: tuple[str, ...]  # R_e's upgrade operations, e.g. "add_column table.column"
    contract_phase: int  # where R, reduced to its contract part, ships


@dataclass(frozen=True)
class ContractPart:
    """The branch's revision R, reduced to its contract part: what it drops, what to back up."""

    revision: Revision  # R
    path: RepoPath
    dropped: tuple[str, ...]  # "table.column" or "table"
    tables: tuple[str, ...]  # the tables whose dropped values only the backup keeps
    expand_revision: Revision  # R_e, which ran in an earlier phase
    expand_path: RepoPath
    expand_phase: int

    @property
    def restores(self) -> str:
        """What its downgrade brings back (empty): ``the columns``, ``the tables`` or both."""
        return restores_what(self.dropped)


@dataclass(frozen=True)
class PartialPart:
    """A file the phase ships as the merge-base version with only some of its hunks."""

    path: RepoPath
    hunks: tuple[int, ...]  # numbered from 1 in the file's diff
    hunk_count: int
    adds: tuple[str, ...]  # what those hunks add of an expand part
    file_phase: int  # the phase that ships the rest, with head's version


def derived_migrations(phase: Phase) -> dict[RepoPath, MigrationFile]:
    """The revision files stager derived for ``phase`` (R_e, R reduced), read as written there."""
    return {
        derived.path: parse_migration(derived.path, _NO_BLOB, derived.source)
        for derived in phase.derived
        if derived.kind in _REVISIONS
    }


def expand_parts(
    phase: Phase, splits: Sequence[PlannedSplit], operations: Mapping[RepoPath, tuple[str, ...]]
) -> tuple[ExpandPart, ...]:
    """The expand revisions ``phase`` adds; ``operations``: each revision file's, by path."""
    return tuple(
        ExpandPart(
            revision=split.expand_revision,
            path=split.expand_path,
            origin=split.revision,
            origin_path=split.path,
            operations=operations.get(split.expand_path, ()),
            contract_phase=split.contract_phase,
        )
        for split in splits
        if split.expand_phase == phase.number
    )


def contract_parts(
    phase: Phase, splits: Sequence[PlannedSplit], dropped: Mapping[RepoPath, tuple[str, ...]]
) -> tuple[ContractPart, ...]:
    """The revisions ``phase`` ships reduced to their contract; ``dropped``: what each drops."""
    parts = []
    for split in splits:
        if split.contract_phase != phase.number:
            continue
        drops = dropped.get(split.path, ())
        parts.append(
            ContractPart(
                revision=split.revision,
                path=split.path,
                dropped=drops,
                tables=tuple(dict.fromkeys(name.split(".")[0] for name in drops)),
                expand_revision=split.expand_revision,
                expand_path=split.expand_path,
                expand_phase=split.expand_phase,
            )
        )
    return tuple(parts)


def partial_parts(phase: Phase, partials: Sequence[PlannedPartial]) -> tuple[PartialPart, ...]:
    """The files ``phase`` ships with only some of their hunks."""
    return tuple(
        PartialPart(p.path, p.hunks, p.hunk_count, p.adds, p.file_phase)
        for p in partials
        if p.phase == phase.number
    )


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def restores_what(dropped: Sequence[str]) -> str:
    """``the columns``, ``the tables`` or ``the columns and tables``: what the downgrades of
    the revisions that drop ``dropped`` (``table.column`` or ``table``) bring back."""
    columns = any("." in name for name in dropped)
    tables = any("." not in name for name in dropped)
    return "the " + " and ".join(
        word for word, found in (("columns", columns or not tables), ("tables", tables)) if found
    )


def contract_rollback(contracts: Sequence[ContractPart]) -> str:
    """The rollback rating's text of a phase that ships contract revisions."""
    revisions = _names([part.revision for part in contracts])
    tables = _names(list(dict.fromkeys(t for part in contracts for t in part.tables)))
    restored = restores_what([name for part in contracts for name in part.dropped])
    return (
        f"the downgrade of {revisions} restores {restored}, not their values — "
        f"restore {tables} from the backup taken before this phase"
    )


def restore_tables_step(
    contracts: Sequence[ContractPart], backup_file: str, restore: str, phase: Phase
) -> str:
    """The rollback step that brings back the dropped values, after the downgrade."""
    tables = list(dict.fromkeys(t for part in contracts for t in part.tables))
    sql_file = shlex.quote(f"before-phase-{phase.number}-{phase.name}-tables.sql")
    selected = " ".join(f"--table={shlex.quote(table)}" for table in tables)
    extract = f"pg_restore --data-only {selected} --file={sql_file} {backup_file}"
    return (
        f"Then the values: {contract_rollback(contracts)} (`{backup_file}`). "
        f"`{extract}` writes those rows as SQL, to copy the dropped values back by primary key; "
        f"restoring the whole backup instead (`{restore}`) also undoes everything written since."
    )
