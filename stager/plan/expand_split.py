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

import posixpath
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from stager.findings import Finding
from stager.git.diff import ChangedFile
from stager.migrations.compare import MigrationReport
from stager.migrations.ec_classify import ObjectKey, object_keys
from stager.migrations.expand_contract import ExpandContract, KeptWhole, plan_split
from stager.migrations.graph import RevisionGraph
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import BlobSource, MigrationFile
from stager.plan.closure import CYCLE, Relaxed
from stager.plan.phase import Dependency, DependencyKind
from stager.plan.schema_objects import describe, names_object, object_name, schema_use
from stager.plan.sources import Texts
from stager.plan.subjects import subject_names
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


def refused(
    rules: Rules,
    candidates: Mapping[RepoPath, ExpandContract | KeptWhole],
    relaxed: Sequence[Relaxed],
) -> dict[RepoPath, KeptWhole]:
    """The mixed migrations the plan would split but stager cannot: each one's reason (SP004)."""
    forced = {revision for phase in rules.phases for revision in phase.contract}
    cycles = {item.dependency.dependent for item in relaxed if item.why == CYCLE}
    return {
        path: result
        for path, result in candidates.items()
        if isinstance(result, KeptWhole)
        and result.mixed
        and (result.revision in forced or (rules.split.expand_contract and path in cycles))
    }


def kept_whole_findings(kept: Mapping[RepoPath, KeptWhole]) -> list[Finding]:
    """One SP004 per mixed migration the plan needed split and keeps whole."""
    return [
        finding
        for path, result in sorted(kept.items())
        if (finding := result.finding(path)) is not None
    ]


@dataclass(frozen=True)
class Placement:
    """Where the plan puts every migration of the branch, as far as it knows yet.

    ``final``: each changed file's phase, a split migration's path giving its
    expand revision's; ``contract_at``: each split migration's contract phase;
    ``order``: the branch's added revisions in head's upgrade order;
    ``revision_files``: every revision file the branch changes; ``chosen``:
    the splits the plan makes so far.
    """

    final: Mapping[RepoPath, int]
    contract_at: Mapping[RepoPath, int]
    order: Sequence[MigrationFile]
    revision_files: Collection[RepoPath]
    chosen: Sequence[Chosen]


def vet(item: Chosen, placement: Placement, texts: Texts) -> Chosen | KeptWhole:
    """``item`` as the plan can make it, or why it cannot be split after all.

    Its data statements are repeated in the expand revision when code shipped
    before the contract reads what they fill (:func:`early_readers`); then no
    revision placed between its two parts may touch what either part changes
    (:func:`between_problem`).
    """
    split = item.split
    if item.migration.path not in placement.contract_at:
        return KeptWhole(
            split.revision,
            "no phase is left after the code that stops using what it drops, for its contract part",
            0,
        )
    if split.fills and not split.repeated:
        readers = early_readers(item, placement, texts)
        if readers:
            path, phase, filled = readers[0]
            early = split.early_data
            contract = placement.contract_at[item.migration.path]
            who = (
                f"{path}, in phase {phase} before the contract (phase {contract}), "
                f"reads {describe(_schema_key(filled) or filled)}"
            )
            if not isinstance(early, ExpandContract):
                reason = early.reason if early is not None else "its data step cannot be repeated"
                line = early.line if early is not None else 0
                return KeptWhole(split.revision, f"{who}; {reason}", line)
            lines = ", ".join(str(op.line) for op in early.repeated)
            item = _chosen(
                item.migration,
                early,
                f"{item.reason}; its data statement (line {lines}) is repeated in the expand "
                f"revision, idempotent, since {who}",
                item.forced_phase,
            )
    problem = between_problem(item, placement)
    if problem:
        return KeptWhole(split.revision, problem[0], problem[1])
    return item


def _chosen(
    migration: MigrationFile, split: ExpandContract, reason: str, forced_phase: int | None
) -> Chosen:
    expand = parse_migration(split.expand_path, Sha("0" * 40), split.expand_source)
    contract = parse_migration(migration.path, migration.blob, split.contract_source)
    return Chosen(migration, split, expand, contract, reason, forced_phase)


_TABLE_NAME = r"__tablename__\s*=\s*['\"]{}['\"]"


def early_readers(
    item: Chosen, placement: Placement, texts: Texts
) -> list[tuple[RepoPath, int, ObjectKey]]:
    """Changed files that start naming what ``item``'s data statements fill, shipped before R.

    A file counts from its own phase, or from the expand revision's when it
    also stops naming what R drops (its adding hunks may ship with R_e, split
    by hunk). A model mapping the table is no reader: SQLAlchemy maps a column
    before it is filled. Nor is a test: it is never deployed, and its
    database is migrated to the phase's head before it runs. A revision that
    ran after R on the branch and now runs between R_e and R reads too.
    Sorted by phase, then path.
    """
    path = item.migration.path
    contract = placement.contract_at[path]
    expand = placement.final[path]
    found = _migration_readers(item, placement)
    dropped = {object_name(key[-1]) for key in item.split.dropped if key[0] in {"column", "table"}}
    for reader, head in sorted(texts.head.items()):
        phase = placement.final.get(reader)
        if phase is None or reader in placement.revision_files or _is_test(reader):
            continue
        base = texts.base.get(reader, "")
        if phase >= contract and any(
            _names(base, name) and not _names(head, name) for name in dropped
        ):
            phase = expand
        if phase >= contract:
            continue
        for key in item.split.fills:
            name, table = object_name(key[-1]), object_name(key[1])
            started = _adds_use(base, head, name)
            if started and not re.search(_TABLE_NAME.format(re.escape(table)), head):
                found.append((reader, phase, key))
                break
    return sorted(found, key=lambda found: (found[1], found[0]))


def _migration_readers(item: Chosen, placement: Placement) -> list[tuple[RepoPath, int, ObjectKey]]:
    """Revisions after R on the branch, between R_e and R here, that name what R's data fills."""
    found: list[tuple[RepoPath, int, ObjectKey]] = []
    for migration, phase, at, here in _between(item, placement):
        if at < here:
            continue  # it ran before R's data step on the branch too
        use = schema_use(migration)
        for key in item.split.fills:
            converted = _schema_key(key)
            if converted is not None and names_object(use, converted):
                found.append((migration.path, phase, key))
                break
    return found


def _between(item: Chosen, placement: Placement) -> list[tuple[MigrationFile, int, float, int]]:
    """The revisions (a split one by its parts) that run after R_e and before R.

    The phased history runs migrations by phase, then in head's upgrade order,
    R_e in R's place. Each comes with its phase, its place in that order and R's.
    """
    path = item.migration.path
    position = {m.path: index for index, m in enumerate(placement.order)}
    here = position[path]
    start = (placement.final[path], here - 0.5)
    end = (placement.contract_at[path], here)
    splits = {other.migration.path: other for other in placement.chosen}
    found: list[tuple[MigrationFile, int, float, int]] = []
    for migration in placement.order:
        if migration.path == path or migration.revision is None:
            continue
        at = position[migration.path]
        split = splits.get(migration.path)
        parts = (
            [
                (split.expand, placement.final.get(migration.path), at - 0.5),
                (split.contract, placement.contract_at.get(migration.path), at),
            ]
            if split is not None
            else [(migration, placement.final.get(migration.path), at)]
        )
        for part, phase, place in parts:
            if phase is not None and start < (phase, place) < end:
                found.append((part, phase, place, here))
    return found


def _is_test(path: str) -> bool:
    return bool(subject_names(path)) or posixpath.basename(path) == "conftest.py"


def _names(text: str, name: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text) is not None


def _adds_use(base: str, head: str, name: str) -> bool:
    """True when head has a line naming ``name`` that base does not have.

    Not "base never names it": a file that moves from ``UserCustomer.user_id``
    to ``Customer.user_id`` already named ``user_id`` and starts reading the new
    column all the same. Lines are compared as a multiset, so a moved line is no use.
    """
    if not _names(head, name):
        return False
    before = Counter(line.strip() for line in base.splitlines() if _names(line, name))
    after = Counter(line.strip() for line in head.splitlines() if _names(line, name))
    return bool(after - before)


def between_problem(item: Chosen, placement: Placement) -> tuple[str, int] | None:
    """A revision placed between R_e and R that touches what R drops, or what R_e creates.

    A revision X that lands after R_e and before R (:func:`_between`) must not
    touch what R drops (a column X re-adds, reads or writes would be gone on
    the branch and still there here), nor, when X ran before R on the branch,
    what R_e creates (R_e now runs first). Returns the reason and R's line.
    """
    path = item.migration.path
    first, last = placement.final[path], placement.contract_at[path]
    for part, _, at, here in _between(item, placement):
        revision = part.revision
        touched = _touched(part, item.split.dropped)
        what = f"which {item.split.revision} drops"
        if touched is None and at < here:
            touched = _touched(part, item.split.created)
            what = (
                f"which the expand revision creates: on the branch {revision} "
                f"runs before {item.split.revision}"
            )
        if touched is not None:
            key, line = touched
            return (
                f"revision {revision} ({part.path}) would run between its expand revision "
                f"(phase {first}) and its contract (phase {last}), and it touches "
                f"{describe(key)}, {what}; ship {revision} before phase {first} or after "
                f"phase {last}, or split the migration by hand",
                _line(item, key) or line,
            )
    return None


def _schema_key(key: ObjectKey) -> ObjectKey | None:
    """An expand/contract object key as the plan's schema objects name it."""
    kind, *names = key
    names = [object_name(name) for name in names]
    if kind in {"column", "alter"} and len(names) == 2:
        return ("column", *names)
    if kind in {"table", "index", "type", "constraint"} and names:
        return (kind, names[0])
    if kind == "enum_value" and names:
        return ("enum_value", names[-1])
    return None  # rows: data, not an object


def _touched(migration: MigrationFile, keys: Collection[ObjectKey]) -> tuple[ObjectKey, int] | None:
    """The first of ``keys`` an upgrade operation of ``migration`` names, and its line."""
    own = {
        key: op.line
        for op in migration.operations
        if op.function == "upgrade"
        for key in object_keys(op)
    }
    use = schema_use(migration)
    for key in keys:
        converted = _schema_key(key)
        if converted is None:
            continue
        if key in own:
            return converted, own[key]
        if names_object(use, converted):
            return converted, use.touches.get(converted, 0)
    return None


def _line(item: Chosen, key: ObjectKey) -> int:
    """R's first upgrade line acting on ``key`` (a schema key)."""
    for op in item.migration.operations:
        if op.function == "upgrade" and any(_schema_key(own) == key for own in object_keys(op)):
            return op.line
    return 0
