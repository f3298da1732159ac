"""SP006: a data migration that copies what a later phase drops, before the code stops writing it.

Expand, migrate, contract: the backfill copies the old column into the new
one, the code stops writing the old column, the drop removes it. A backfill
planned before the phase of that code misses every row the old code writes
in between, and the drop then deletes them. "The code that stops writing"
is what the dropping revision's contract edges say: the changed files (tests
left out, they are never deployed) whose merge-base version uses what it
drops and whose head version does not.

What a backfill reads is what its operations name (literal SQL included),
and, from its source, what its SQLAlchemy statements name
(:mod:`~stager.plan.sqla_reads`: ``sa.table``/``sa.column`` declarations,
``t.c.name``, ``text()`` SQL run on ``op.get_bind()``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stager.findings import Finding
from stager.migrations.compare import MigrationReport
from stager.migrations.revision_files import MigrationFile
from stager.plan.dropped_uses import Drop, drops
from stager.plan.phase import Dependency, DependencyKind
from stager.plan.pyscan import IDENTIFIER
from stager.plan.schema_objects import ObjectKey, describe, names_object, schema_use
from stager.plan.sqla_reads import read_names
from stager.rules.catalogue import RULES
from stager.types import MigrationKind, RepoPath


def backfill_findings(
    report: MigrationReport,
    final: Mapping[RepoPath, int],
    dependencies: Sequence[Dependency],
    names: Mapping[int, str],
    sources: Mapping[RepoPath, str] | None = None,
) -> list[Finding]:
    """SP006 for each data migration planned before the code that stops writing what it reads.

    ``sources``: the changed files' head text, to read SQLAlchemy backfills from.
    """
    dropped = [drop for drop in drops(report) if drop.migration.path in final]
    if not dropped:
        return []
    found: list[Finding] = []
    for migration in report.added:
        if migration.kind is not MigrationKind.DATA or migration.path not in final:
            continue
        source = (sources or {}).get(migration.path)
        reads = read_names(source) if source is not None else {}
        use = schema_use(migration, reads.keys)
        phase = final[migration.path]
        # one finding per dropping revision and phase of the code: its objects together
        late: dict[tuple[RepoPath, int], list[tuple[Drop, list[RepoPath]]]] = {}
        for drop in dropped:
            if final[drop.migration.path] <= phase or not names_object(use, drop.key):
                continue
            writers = [path for path in _writers(drop, dependencies) if path in final]
            code_phase = max((final[path] for path in writers), default=0)
            if code_phase > phase:
                users = [path for path in writers if final[path] == code_phase]
                late.setdefault((drop.migration.path, code_phase), []).append((drop, users))
        for (path, code_phase), objects in late.items():
            found.append(_finding(migration, phase, code_phase, final[path], objects, names, reads))
    return found


def _writers(drop: Drop, dependencies: Sequence[Dependency]) -> list[RepoPath]:
    """Changed code (no tests) that stops using what ``drop``'s revision drops.

    Per revision, not per object: the plan keeps one edge between two files,
    so a revision dropping three columns the same file stops using has one
    edge, about the first of them.
    """
    return [
        edge.dependency
        for edge in dependencies
        if edge.kind is DependencyKind.CONTRACT
        and edge.strict
        and edge.dependent == drop.migration.path
    ]


def _line(migration: MigrationFile, key: ObjectKey, reads: Mapping[str, int]) -> int | None:
    """The first line of ``upgrade()`` whose operation names the object's last part.

    Else the first line of the source that names it (a SQLAlchemy declaration).
    """
    name = key[-1]
    for operation in migration.operations:
        if operation.function != "upgrade":
            continue
        if name in (operation.table, *operation.columns) or (
            operation.sql is not None and name in IDENTIFIER.findall(operation.sql)
        ):
            return operation.line
    return reads.get(name) or migration.revision_line or None


def _finding(
    migration: MigrationFile,
    phase: int,
    code_phase: int,
    drop_phase: int,
    objects: Sequence[tuple[Drop, list[RepoPath]]],
    names: Mapping[int, str],
    reads: Mapping[str, int],
) -> Finding:
    keys = sorted(drop.key for drop, _ in objects)
    what = describe(keys[0]) if len(keys) == 1 else _several(keys)
    it = "it" if len(keys) == 1 else "them"
    users = ", ".join(dict.fromkeys(path for _, paths in objects for path in paths))
    revision = objects[0][0].migration.revision
    return RULES["SP006"].finding(
        migration.path,
        _line(migration, keys[0], reads),
        f"data migration {migration.revision} reads the {what} in phase {phase} "
        f"({names.get(phase, '?')}), but the code stops writing {it} only in phase {code_phase} "
        f"({names.get(code_phase, '?')}: {users}) and migration {revision} drops {it} in phase "
        f"{drop_phase} ({names.get(drop_phase, '?')}): rows written in between are never "
        "copied, and the drop deletes them",
        phase=str(code_phase),
    )


def _several(keys: Sequence[ObjectKey]) -> str:
    """``columns t.a, t.b and table u``: what one revision drops, each kind named once."""
    columns = [f"{key[1]}.{key[2]}" for key in keys if key[0] == "column"]
    tables = [key[1] for key in keys if key[0] == "table"]
    parts = [f"column{'s' if len(columns) > 1 else ''} {', '.join(columns)}"] if columns else []
    parts += [f"table{'s' if len(tables) > 1 else ''} {', '.join(tables)}"] if tables else []
    return " and ".join(parts)
