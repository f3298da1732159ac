"""The planner: rules ask, dependencies decide, migrations are re-chained, phases come out.

``find_dependencies`` reads the changed files (one blob batch) and returns
the edges between them; they depend on the contents only, so a plan file is
checked against the same edges later without reading anything again.
``assemble`` turns asked phases and edges into a :class:`Plan`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from stager.classify import FileClass
from stager.findings import Finding
from stager.git.diff import ChangedFile, Status
from stager.migrations.compare import MigrationReport
from stager.migrations.expand_contract import ExpandContract, KeptWhole
from stager.migrations.graph import RevisionGraph
from stager.migrations.revision_files import BlobSource, MigrationFile
from stager.plan.assign import Ask, ask_phases
from stager.plan.backfills import backfill_findings
from stager.plan.closure import CYCLE, Closure, Relaxed, close, usable
from stager.plan.expand_split import (
    Chosen,
    Placement,
    choose,
    contract_edge,
    contract_phase,
    expand_ask,
    kept_whole_findings,
    refused,
    split_candidates,
    split_graph,
    vet,
    without_contract_edges,
)
from stager.plan.facts_store import FactsStore
from stager.plan.hunks import routes_of
from stager.plan.imports import (
    ModuleIndex,
    js_dependencies,
    prefetch_imports,
    python_dependencies,
)
from stager.plan.model_links import EarlyVersions, model_dependencies
from stager.plan.partial_files import partial_files
from stager.plan.phase import (
    Conflict,
    Dependency,
    DependencyKind,
    DerivedFile,
    DerivedKind,
    Phase,
    Plan,
    PlannedFile,
    PlannedMigration,
    PlannedSplit,
    SplitInputs,
)
from stager.plan.rechain import Rechained, rechain
from stager.plan.schema_objects import build_index, schema_dependencies
from stager.plan.sources import Code, Texts, read_code, read_texts
from stager.plan.sql_order import (
    read_sql_dependencies,
    run_sql_with_revisions,
    sql_order_dependencies,
    sql_order_findings,
)
from stager.plan.subjects import subject_dependencies
from stager.rules.catalogue import RULES
from stager.rules.settings import Rules, apply_settings
from stager.types import MigrationKind, RepoPath, Revision, Risk, Sha
from stager.wording import count

_WINDOW_KINDS = (MigrationKind.DATA, MigrationKind.DESTRUCTIVE)


@dataclass(frozen=True)
class PlanInputs:
    """What the planner starts from: the analysis of the branch up to classification."""

    files: tuple[ChangedFile, ...]
    classes: tuple[FileClass, ...]
    rules: Rules
    migrations: MigrationReport
    merge_base: Sha
    head: Sha


def build_plan(
    inputs: PlanInputs,
    blobs: BlobSource,
    tree_paths: Collection[str] = (),
    texts: Texts | None = None,
    facts: FactsStore | None = None,
) -> Plan:
    """Plan the branch: phases from the rules, closed under every dependency.

    ``tree_paths``: every path of head's tree, to resolve imports to the right
    file (the changed paths are always known). ``texts``: the changed files'
    contents when already read (``read_texts``), else they are read here.
    ``facts``: where the Python files' facts are kept (the user's cache), else
    they are parsed for this plan alone.
    """
    if not inputs.rules.phases:
        return Plan(inputs.merge_base, inputs.head, (), (), ())
    asked, warnings = ask_phases(
        inputs.files, inputs.classes, inputs.rules, inputs.migrations.by_path
    )
    if texts is None:
        texts = read_texts(inputs.files, blobs)
    dependencies, unread = find_dependencies(inputs, blobs, tree_paths, texts, facts)
    asked = run_sql_with_revisions(asked, dependencies, inputs.migrations.by_path.keys())
    split_inputs = SplitInputs(split_candidates(inputs.files, inputs.migrations, blobs), texts)
    return assemble(inputs, asked, dependencies, [*warnings, *unread], split_inputs=split_inputs)


def prefetch_facts(inputs: PlanInputs, texts: Texts, facts: FactsStore) -> None:
    """Parse into ``facts`` now what the planner reads first, on every core when it is much.

    Call it while no other thread runs: the workers are forked.
    """
    files = {change.path: change for change in inputs.files}
    prefetch_imports(Code(files, texts.head, texts.base, _revision_files(inputs), facts))


def _revision_files(inputs: PlanInputs) -> frozenset[RepoPath]:
    return frozenset(
        change.path for change in inputs.files if change.path in inputs.migrations.by_path
    )


def find_dependencies(
    inputs: PlanInputs,
    blobs: BlobSource,
    tree_paths: Collection[str] = (),
    texts: Texts | None = None,
    facts: FactsStore | None = None,
) -> tuple[tuple[Dependency, ...], list[str]]:
    """Every edge between the changed files, found in their contents; warnings on reading them.

    A Python file stager's ``ast`` cannot read (newer syntax, too deep, too
    large) keeps its edges through a scan, and a warning names it.
    """
    report = inputs.migrations
    changed = {change.path for change in inputs.files}
    code = read_code(inputs.files, blobs, _revision_files(inputs), texts, facts)
    added = [m for m in report.added if m.revision is not None]
    index = build_index(added, lambda path: code.facts(path, head=True).words)
    every_path = set(tree_paths) | {p for change in inputs.files for p in change.paths}
    edges: list[Dependency] = [
        *_migration_dependencies(report, changed, rechain=inputs.rules.rechain),
        *schema_dependencies(index),
        *model_dependencies(code, index),
        *python_dependencies(code, ModuleIndex(every_path)),
        *js_dependencies(code, every_path),
        *subject_dependencies(inputs.files),
        *sql_order_dependencies(inputs.files, inputs.rules.is_sql_migration),
        *read_sql_dependencies(sorted(_revision_files(inputs)), code.head),
    ]
    return tuple(usable(edges, dict.fromkeys(changed, 0))), code.scan_warnings()


def _migration_dependencies(
    report: MigrationReport, changed: Collection[RepoPath], *, rechain: bool
) -> Iterable[Dependency]:
    """depends_on always; down_revision when it cannot be re-chained."""
    head = report.head
    added = {m.path for m in report.added}
    labels = {label: m.revision for m in head for label in m.branch_labels}
    for migration in (*report.added, *report.modified):
        for target in migration.depends_on:
            revision = target if target in head else labels.get(target)
            if revision is None or revision not in head:
                continue
            path = head.revision(Revision(revision)).path
            if path in changed:
                yield Dependency(
                    migration.path,
                    path,
                    DependencyKind.DEPENDS_ON,
                    f"depends on revision {revision} (depends_on)",
                )
        for parent in migration.down_revisions:
            if parent not in head:
                continue
            path = head.revision(parent).path
            # A revision that exists on the merge base keeps its parent: it is
            # never re-chained, so its parent must ship no later than it does.
            if path in added and (not rechain or migration.path not in added):
                why = "re-chaining is off" if migration.path in added else "it is not re-chained"
                yield Dependency(
                    migration.path,
                    path,
                    DependencyKind.MIGRATION,
                    f"revises {parent} (its down_revision; {why})",
                )


def assemble(
    inputs: PlanInputs,
    asked: Mapping[RepoPath, Ask],
    dependencies: Sequence[Dependency],
    warnings: Sequence[str] = (),
    source: str = "rules",
    split_inputs: SplitInputs | None = None,
) -> Plan:
    """The plan for ``asked`` phases, each file moved later as far as its edges need.

    ``split_inputs``: the branch's mixed migrations (``split_candidates``), the plan
    splits those it needs to, and the changed files' texts, for the files it splits
    by hunk; without them nothing is split.
    """
    rules = inputs.rules
    report = inputs.migrations
    asked_phases = {path: ask.phase for path, ask in asked.items()}
    closure = close(asked_phases, dependencies, len(rules.phases))
    candidates = split_inputs.candidates if split_inputs else None
    texts = split_inputs.texts if split_inputs else Texts({}, {})
    splits, contract_at, closure, kept_whole = _split(
        inputs, asked_phases, dependencies, closure, candidates, texts
    )
    final = closure.final
    names = {phase.number: phase.name for phase in rules.phases}
    # A split migration's file is written in its contract's phase; its expand part is R_e.
    placed = {**final, **contract_at}
    added: list[MigrationFile] = []
    graph = report.head
    if splits:
        graph = split_graph(report.head, splits)
        by_revision = {item.migration.revision: item for item in splits}
        for migration in report.added:
            item = by_revision.get(migration.revision)
            added.extend((item.expand, item.contract) if item is not None else (migration,))
        for item in splits:
            placed[item.expand.path] = final[item.migration.path]
    else:
        added = list(report.added)
    added = [m for m in added if m.revision is not None and m.path in placed]
    chained = rechain(added, placed, report.base, graph, allowed=rules.rechain)
    final = {**final, **contract_at}
    by_class = {item.path: item for item in inputs.classes}
    edges = usable(dependencies, final)
    partials = partial_files(
        inputs.files,
        texts,
        final,
        splits,
        {item.migration.path: placed[item.expand.path] for item in splits},
        routes_of(rules.phases),
        report.by_path.keys(),
        EarlyVersions(added, placed).too_early,
    )

    phases: list[Phase] = []
    for rule in rules.phases:
        members = [change for change in inputs.files if final[change.path] == rule.number]
        derived = (*_derived(splits, placed, rule.number), *partials.derived.get(rule.number, ()))
        if not members and not derived:
            continue  # an empty phase gets no branch and no PR; the others keep their numbers
        files = tuple(
            _planned_file(change, by_class[change.path], asked[change.path], closure, final, names)
            for change in members
        )
        migrations = tuple(
            _planned_migration(migration, chained.parents[migration.revision])  # type: ignore[index]
            for migration in chained.order
            if placed[migration.path] == rule.number
        )
        # An expand revision alone adds to the schema: the risk of an additive migration.
        risk = max([planned.risk for planned in files] + [Risk.MEDIUM] * bool(derived))
        window = rule.maintenance_window
        if window is None:
            window = risk is Risk.CRITICAL or any(
                report.by_path[change.path].kind in _WINDOW_KINDS
                for change in members
                if change.path in report.by_path
            )
        phases.append(
            Phase(
                number=rule.number,
                name=rule.name,
                title=rule.title,
                files=files,
                migrations=migrations,
                depends_on=_depends_on(rule.number, members, migrations, edges, placed, graph),
                risk=risk,
                maintenance_window=window,
                description=rule.description,
                derived=derived,
            )
        )
    conflicts = tuple(
        Conflict(path, asked[path].phase, final[path], edge)
        for path, edge in sorted(closure.forced.items())
    )
    assignment = {path: final[change.path] for change in inputs.files for path in change.paths}
    return Plan(
        merge_base=inputs.merge_base,
        head=inputs.head,
        phases=tuple(phases),
        conflicts=conflicts,
        dependencies=tuple(dependencies),
        # rules.toml's [rules.SP001] etc., here so an edited plan file honours them too
        findings=tuple(
            apply_settings(
                [
                    *_findings(closure.relaxed),
                    *_head_findings(chained, report, final, names),
                    *backfill_findings(
                        report,
                        final,
                        dependencies,
                        names,
                        split_inputs.texts.head if split_inputs else None,
                    ),
                    *kept_whole_findings(kept_whole),
                    *sql_order_findings(closure.forced, asked_phases, names),
                ],
                inputs.rules,
            )
        ),
        # A plan file's plan starts from the rules' warnings, which hold the rules' own.
        warnings=tuple(dict.fromkeys((*warnings, *partials.warnings))),
        assignment=assignment,
        source=source,
        splits=tuple(_planned_split(item, placed) for item in splits),
        partials=partials.steps,
        split_inputs=split_inputs,
    )


def _split(
    inputs: PlanInputs,
    asked: Mapping[RepoPath, int],
    dependencies: Sequence[Dependency],
    closure: Closure,
    candidates: Mapping[RepoPath, ExpandContract | KeptWhole] | None,
    texts: Texts,
) -> tuple[list[Chosen], dict[RepoPath, int], Closure, dict[RepoPath, KeptWhole]]:
    """The splits the plan makes, each contract's phase, the closure without their drops,
    and the mixed migrations it needed split but keeps whole (SP004), each with the reason.

    Without its contract edges a split migration is closed again as its expand
    part: where the migration would go if it only added. Each split is then
    vetted where it lands (``expand_split.vet``): its data step repeated early
    if code before the contract reads what it fills, no revision between its
    parts touching what they change; a split given up is closed again whole.
    """
    rules = inputs.rules
    kept = refused(rules, candidates or {}, closure.relaxed)
    chosen = choose(rules, inputs.migrations, candidates or {}, closure.relaxed)
    if not chosen:
        return [], {}, closure, kept
    last = len(rules.phases)
    windows = {phase.number for phase in rules.phases if phase.maintenance_window}
    while chosen:
        paths = {item.migration.path for item in chosen}
        again = {
            **asked,
            **{
                item.migration.path: expand_ask(rules, item.expand, asked[item.migration.path])
                for item in chosen
            },
        }
        reclosed = close(again, without_contract_edges(dependencies, paths), last)
        contract_at: dict[RepoPath, int] = {}
        for item in chosen:
            phase = contract_phase(item, dependencies, reclosed.final, windows, last)
            if phase is not None:
                contract_at[item.migration.path] = phase
        placement = Placement(
            reclosed.final,
            contract_at,
            inputs.migrations.added,
            inputs.migrations.by_path.keys(),
            chosen,
        )
        vetted: list[Chosen] = []
        for item in chosen:
            result = vet(item, placement, texts)
            if isinstance(result, KeptWhole):
                kept[item.migration.path] = result
            else:
                vetted.append(result)
        if vetted == chosen:
            return (
                chosen,
                contract_at,
                _contract_moves(chosen, dependencies, asked, contract_at, windows, reclosed),
                kept,
            )
        chosen = vetted
    return [], {}, closure, kept


def _contract_moves(
    chosen: Sequence[Chosen],
    dependencies: Sequence[Dependency],
    asked: Mapping[RepoPath, int],
    contract_at: Mapping[RepoPath, int],
    windows: Collection[int],
    reclosed: Closure,
) -> Closure:
    """``reclosed`` with each split file's move told by its contract, not by its expand part.

    The closure placed a split migration as its expand part (R_e's phase, which
    the plan says); the file itself is R reduced to its contract, in
    ``contract_at``: moved only when that is later than asked, by a drop's edge.
    """
    forced = {path: edge for path, edge in reclosed.forced.items() if path not in contract_at}
    for item in chosen:
        path = item.migration.path
        edge = contract_edge(item, dependencies, reclosed.final, windows)
        if contract_at[path] > asked[path] and edge is not None:
            forced[path] = edge
    return replace(reclosed, forced=forced)


def _derived(
    splits: Sequence[Chosen], placed: Mapping[RepoPath, int], number: int
) -> tuple[DerivedFile, ...]:
    """The expand and contract revisions a phase ships."""
    derived: list[DerivedFile] = []
    for item in splits:
        split = item.split
        path = item.migration.path
        if placed[split.expand_path] == number:
            derived.append(
                DerivedFile(
                    split.expand_path,
                    split.expand_source,
                    DerivedKind.EXPAND_REVISION,
                    path,
                    f"new revision {split.expand_revision}: the expand part of {split.revision}",
                )
            )
        if placed[path] == number:
            derived.append(
                DerivedFile(
                    path,
                    split.contract_source,
                    DerivedKind.CONTRACT_REVISION,
                    path,
                    f"revision {split.revision} reduced to its contract part; "
                    f"{split.expand_revision} already ran its expand part",
                )
            )
    return tuple(derived)


def _planned_split(item: Chosen, placed: Mapping[RepoPath, int]) -> PlannedSplit:
    split = item.split
    return PlannedSplit(
        revision=split.revision,
        expand_revision=split.expand_revision,
        path=item.migration.path,
        expand_path=split.expand_path,
        expand_phase=placed[split.expand_path],
        contract_phase=placed[item.migration.path],
        expand_operations=split.expand_operations,
        contract_operations=split.contract_operations,
        reason=item.reason,
    )


def _planned_file(
    change: ChangedFile,
    item: FileClass,
    ask: Ask,
    closure: Closure,
    final: Mapping[RepoPath, int],
    names: Mapping[int, str],
) -> PlannedFile:
    """``final``: each file's phase, a split migration's in its contract's phase."""
    edge = closure.forced.get(change.path)
    moved = moved_reason(edge, ask.phase, final, names) if edge is not None else ""
    return PlannedFile(
        path=change.path,
        reason=f"{ask.reason}; {moved}" if moved else ask.reason,
        old_path=change.old_path if change.status is Status.RENAMED else None,
        category=item.category,
        risk=item.risk,
        asked=ask.phase,
        note=ask.note,
        moved=moved,
    )


def moved_reason(
    edge: Dependency, asked: int, final: Mapping[RepoPath, int], names: Mapping[int, str]
) -> str:
    """Why a file left the phase it was asked for, naming the edge."""
    there = final[edge.dependency]
    return (
        f"moved from phase {asked} ({names.get(asked, '?')}) to phase {final[edge.dependent]} "
        f"({names.get(final[edge.dependent], '?')}) because it {edge.reason} "
        f"[{edge.kind}: {edge.dependency} is in phase {there}]"
    )


def _planned_migration(migration: MigrationFile, parents: tuple[Revision, ...]) -> PlannedMigration:
    assert migration.revision is not None
    return PlannedMigration(
        revision=migration.revision,
        down_revision=parents,
        original_down_revision=migration.down_revisions,
        path=migration.path,
        title=migration.title,
        depends_on=migration.depends_on,
        kind=migration.kind.value,
    )


def _depends_on(
    number: int,
    members: Sequence[ChangedFile],
    migrations: Sequence[PlannedMigration],
    edges: Sequence[Dependency],
    final: Mapping[RepoPath, int],
    graph: RevisionGraph,
) -> tuple[int, ...]:
    """Earlier phases this one needs: its files' dependencies and its migrations' parents."""
    paths = {change.path for change in members}
    needed = {final[edge.dependency] for edge in edges if edge.dependent in paths}
    for migration in migrations:
        for parent in migration.down_revision:
            if parent in graph:
                parent_path = graph.revision(parent).path
                if parent_path in final:
                    needed.add(final[parent_path])
    return tuple(sorted(phase for phase in needed if phase < number))


def _findings(relaxed: Sequence[Relaxed]) -> tuple[Finding, ...]:
    """One finding per migration whose drop could not come strictly after its users."""
    groups: dict[tuple[RepoPath, str], list[Relaxed]] = {}
    for item in relaxed:
        groups.setdefault((item.dependency.dependent, item.why), []).append(item)
    return tuple(_finding(items) for items in groups.values())


def _head_findings(
    chained: Rechained,
    report: MigrationReport,
    final: Mapping[RepoPath, int],
    names: Mapping[int, str],
) -> tuple[Finding, ...]:
    """One finding per phase that leaves another number of Alembic heads than the base has."""
    found: list[Finding] = []
    base_heads = report.base.heads()
    for number, heads in sorted(chained.problems.items()):
        first = next(m for m in chained.order if final.get(m.path) == number)
        found.append(
            RULES["SP003"].finding(
                first.path,
                None,
                f"after phase {number} ({names.get(number, '?')}) the Alembic graph has "
                f"{count(len(heads), 'head')} ({', '.join(heads) or 'none'}) where the merge base "
                f"has {len(base_heads)} ({', '.join(base_heads) or 'none'}): `stager split` "
                "would refuse this plan",
            )
        )
    return tuple(found)


def _finding(items: Sequence[Relaxed]) -> Finding:
    first = items[0]
    edge = first.dependency
    users = ", ".join(dict.fromkeys(item.dependency.dependency for item in items))
    drop = f"{edge.reason.split(';')[0]}, which the merge-base version of {users} uses"
    if first.why == CYCLE:
        return RULES["SP001"].finding(
            edge.dependent,
            edge.line,
            f"{drop}; yet it must ship with that code in phase {first.phase}, which needs what "
            "it adds: old instances still use what it drops while that phase deploys",
            phase=str(first.phase),
        )
    return RULES["SP002"].finding(
        edge.dependent,
        edge.line,
        f"{drop}; but that code is in phase {first.phase}, the last phase: the drop ships "
        "with the code that stops using it",
    )


def annotate_classes(classes: Sequence[FileClass], plan: Plan) -> list[FileClass]:
    """``classes`` with their planned phase, and reasons that say what put them there."""
    planned = {f.path: f for phase in plan.phases for f in phase.files}
    result: list[FileClass] = []
    for item in classes:
        entry = planned.get(item.path)
        if entry is None:
            result.append(item)
            continue
        # classify's own "unassigned → last phase" guess is replaced by the plan's answer.
        reasons = [
            reason
            for reason in item.reasons
            if not reason.startswith(f"category {item.category!r} is in no [[phase]]")
        ]
        reasons += [text for text in (entry.note, entry.moved) if text]
        result.append(replace(item, phase=plan.phase_of(item.path), reasons=tuple(reasons)))
    return result
