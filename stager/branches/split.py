"""``stager split``: one branch per phase, written with plumbing, moved in one transaction.

The order of work makes a failure harmless: every object is written first
(into a quarantine for ``--dry-run``), the Alembic graph of every phase and
the existing branches are checked, and only then does one ``update-ref``
transaction move all the branches, their backups and the run's record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from stager.analysis import Analysis
from stager.branches.base_owned import BaseOwned
from stager.branches.cherry_pick import (
    Recipe,
    ReplayConflict,
    Step,
    recipes,
    simulate,
    versions,
)
from stager.branches.heads import GraphReader, check_plan, onto_parents, ref_parents
from stager.branches.history_invariant import planned_warning
from stager.branches.journal import Command, Settle, move_refs, settle
from stager.branches.messages import derived_message, patch_message
from stager.branches.onto import PhaseConflicts, conflict_error, merge_onto, transplant
from stager.branches.patch import apply_phase, check_planned
from stager.branches.record import (
    RecordedChain,
    RecordedMigration,
    RecordedPhase,
    SplitRecord,
    read_record,
    record_name,
    record_ref,
    recorded_branches,
    recorded_chains,
    timestamp,
    write_record,
)
from stager.branches.refs import (
    BACKUP_PREFIX,
    backup_name,
    foreign_error,
    moved_refs,
    ref_updates,
    refuse_checked_out,
    refuse_foreign_branches,
)
from stager.branches.reviewer_commits import replay_kept
from stager.branches.split_types import (
    ONTO,
    BuildStatus,
    BuiltCommit,
    BuiltPhase,
    KeptCommit,
    Layout,
    SplitOptions,
    SplitResult,
    Strategy,
)
from stager.branches.targets import PhaseTarget, phase_targets, relink_versions
from stager.errors import StagerError
from stager.git.history import (
    HistoryCommit,
    commit_messages,
    first_parent_history,
    is_ancestor,
    signed,
    trees_of,
)
from stager.git.refs import RefUpdate, list_refs, read_refs
from stager.git.repository import Repository
from stager.git.trees import PathClash, TreeModel
from stager.git.write import Writer, require_identity, signs_by_default
from stager.migrations.graph import RevisionGraph
from stager.plan.assessment import phase_total
from stager.plan.phase import Phase
from stager.rules.sections import branch_name
from stager.types import RepoPath, Revision, Sha


@dataclass(frozen=True)
class _Spec:
    """A phase worked out: its commits to write, before their parents are known."""

    target: PhaseTarget
    strategy: Strategy
    note: str
    recipes: tuple[Recipe, ...]
    tree: Sha  # the planned tree (from the merge base)
    prerequisite: bool
    patch: Recipe  # the phase as one patch commit (what auto falls back to)


def _label(phase: Phase) -> str:
    return f"phase {phase.number} ({phase.name})"


def select_phases(plan: Sequence[Phase], options: SplitOptions) -> list[tuple[Phase, bool]]:
    """The phases to build, in order, each with whether it is only a prerequisite."""
    if options.phase is None:
        return [(phase, False) for phase in plan]
    numbers = [phase.number for phase in plan]
    if options.phase not in numbers:
        known = ", ".join(_label(phase) for phase in plan)
        raise StagerError(
            f"there is no phase {options.phase} in the plan; its phases are {known}",
            "pick one of these numbers (a phase with no file gets no branch), or use --all",
        )
    if options.layout is Layout.INDEPENDENT:
        return [(phase, False) for phase in plan if phase.number == options.phase]
    return [
        (phase, phase.number != options.phase) for phase in plan if phase.number <= options.phase
    ]


def independent_problem(plan: Sequence[Phase]) -> str | None:
    """Why the plan cannot be split into independent branches, None when it can."""
    dependent = [phase for phase in plan if phase.depends_on]
    if dependent:
        phase = dependent[0]
        needs = ", ".join(str(number) for number in phase.depends_on)
        return f"{_label(phase)} depends on phase {needs}: it must stack on it"
    with_migrations = [phase for phase in plan if phase.migrations]
    if len(with_migrations) > 1:
        names = " and ".join(_label(phase) for phase in with_migrations)
        return (
            f"{names} both add migrations: chained on the same parent, they would give the "
            "base two Alembic heads once both merge"
        )
    return None


def _refuse_unbuildable(plan: Sequence[Phase]) -> None:
    """An empty plan."""
    if not plan:
        raise StagerError(
            "the plan has no phase: there is nothing to split",
            "check `stager analyze`: the branch must change files and the rules need [[phase]] "
            "tables",
        )


def split_branch(
    repo: Repository,
    analysis: Analysis,
    options: SplitOptions,
    phases: Sequence[Phase],
    owned: BaseOwned | None = None,
) -> SplitResult:
    """Build the phase branches of ``phases`` (the chosen plan's) and move them.

    ``owned``: what the merged phases of earlier splits settled (``base_owned``).
    """
    plan = list(phases)
    _refuse_unbuildable(plan)
    # A split a killed run left half-applied: finished first (a dry run only says so).
    settled = settle(repo, Settle.REPORT if options.dry_run else Settle.FINISH)
    selected = select_phases(plan, options)
    if options.layout is Layout.INDEPENDENT:
        problem = independent_problem(plan)
        if problem is not None:
            raise StagerError(
                f"--layout independent is not possible: {problem}",
                "use --layout stacked (the default), where each phase builds on the previous one",
            )
    require_identity(repo)
    sign = options.sign if options.sign is not None else signs_by_default(repo)
    names = {
        phase.number: branch_name(options.branch_template, phase.number, phase.name)
        for phase in plan
    }
    refs = {number: f"refs/heads/{name}" for number, name in names.items()}
    merge_base, head = analysis.refs.merge_base, analysis.refs.head
    onto_sha = repo.resolve(options.onto) if options.onto else None
    refuse_foreign_branches(
        repo,
        list(refs.values()),
        analysis.refs,
        options.branch_template,
        analysis.rules.source,
    )
    refuse_checked_out(repo, [refs[phase.number] for phase, _ in selected])

    onto_graph: RevisionGraph | None = None
    mapping: dict[Revision, Revision] = {}
    if onto_sha is not None and options.onto is not None:
        if not is_ancestor(repo, merge_base, onto_sha):
            raise StagerError(
                f"--onto {options.onto} ({onto_sha[:12]}) does not contain the merge base "
                f"{merge_base[:12]} of the branch and its base: the phases would undo "
                "the base's changes",
                f"use a ref that has built on the merge base (fetch first if {options.onto} "
                "is a stale remote branch), e.g. the base's current tip",
            )
        onto_graph = GraphReader(repo).graph(repo.list_tree(onto_sha))
        mapping = onto_parents(
            analysis.migrations.base, onto_graph, options.onto, analysis.migrations.head
        )

    stacked = options.layout is Layout.STACKED
    with Writer(repo, dry_run=options.dry_run) as writer:
        targets = _targets(writer, analysis, plan, options, mapping, onto_graph, owned)
        chain = [(targets[phase.number], prerequisite) for phase, prerequisite in selected]
        # Refuse phases that would break the Alembic graph, before anything is written;
        # each phase's Alembic heads before and after it.
        heads = check_plan(
            analysis.migrations,
            [
                (
                    _label(t.phase),
                    {path: node[1] if node else None for path, node in t.head.items()},
                )
                for t, _ in chain
            ],
            {
                rw.path: rw.new_parents
                for t in targets.values()
                for rw in t.rewrites
                if not rw.derived
            },
            stacked=stacked,
            base=onto_graph,
            derived=[t.derived for t, _ in chain],
        )
        notes = [
            f"{rewrite.revision} re-chained onto {options.onto}'s Alembic head "
            f"{', '.join(rewrite.new_parents)}"
            for target, _ in chain
            for rewrite in target.rewrites
            if rewrite.reason == ONTO
            and (onto_graph is None or rewrite.revision not in onto_graph.files)
        ]
        total = phase_total(analysis.rules)  # "stage N of M", as the titles say
        specs = _specs(writer, chain, options, stacked, merge_base, head, total)
        built = _commits(writer, repo, analysis, specs, refs, names, options, onto_sha, sign)
        result = SplitResult(
            base=analysis.refs.base,
            head=head,
            merge_base=merge_base,
            start=onto_sha or merge_base,
            onto=options.onto,
            layout=options.layout,
            dry_run=options.dry_run,
            phases=tuple(built),
            notes=tuple(
                ([settled.describe()] if settled else [])
                + [
                    f"building {_label(item.phase)} first: phase {options.phase} stacks on it"
                    for item in built
                    if item.prerequisite and item.status is not BuildStatus.UNCHANGED
                ]
                + notes
            ),
        )
        head_ref = repo.symbolic_full_name(analysis.refs.head_ref) or analysis.refs.head_ref
        record = _record(analysis, head_ref, options, result, heads)
        result = _with_history_warning(result, analysis, plan, record)
        writer.flush()  # every object, in one pack, before a ref names one of them
        name = record_name(repo, analysis.refs.head_ref)
        written = _record_to_write(repo, name, record, built)
        if written is None:
            return result
        record = written
        result = replace(result, record=record)
        if not options.dry_run:
            # The record moves with the branches: a transaction that fails writes neither.
            ref = record_ref(name)
            previous = read_refs(repo, [ref]).get(ref)
            commit = write_record(writer, record, previous)
            writer.migrate()  # every check passed: the objects leave the quarantine
            updates = [*ref_updates(built), RefUpdate(ref, commit, previous)]
            move_refs(repo, updates, Command.SPLIT)
    return result


def _targets(
    writer: Writer,
    analysis: Analysis,
    plan: Sequence[Phase],
    options: SplitOptions,
    mapping: dict[Revision, Revision],
    onto_graph: RevisionGraph | None,
    owned: BaseOwned | None,
) -> dict[int, PhaseTarget]:
    """Each phase's target by number; what merged phases put on the base written as the
    record has it, never as head has it."""
    planned = phase_targets(
        writer,
        analysis.files,
        plan,
        analysis.migrations,
        mapping,
        ref_parents(onto_graph),
        options.broken,
    )
    planned = (owned or BaseOwned()).apply(
        writer, planned, analysis.migrations, analysis.refs.head_ref
    )
    return {target.phase.number: target for target in planned}


def _with_history_warning(
    result: SplitResult, analysis: Analysis, plan: Sequence[Phase], record: SplitRecord
) -> SplitResult:
    """``result`` noting what databases at the revisions the phases re-chain must do first."""
    report = analysis.migrations
    chains = recorded_chains(record, plan, report.base.heads())
    warning = planned_warning(chains, plan, report)
    if warning is None:
        return result
    return replace(result, notes=(*result.notes, warning.message))


def _record_to_write(
    repo: Repository, name: str, record: SplitRecord, built: Sequence[BuiltPhase]
) -> SplitRecord | None:
    """The record the run writes (a dry run: would write); None when the stored one stays.

    Branches that all stay as they were rewrite the record only when what it says of
    them changed (a re-chaining now made with --rechain-broken), keeping the refs the
    split that built them moved, for --undo.
    """
    if all(item.status is BuildStatus.UNCHANGED for item in built):
        return _kept_record(repo, name, record)
    return record


def _kept_record(repo: Repository, name: str, record: SplitRecord) -> SplitRecord | None:
    """``record`` for branches a run kept as they were; None when the stored one says the same."""
    try:
        stored = read_record(repo, name)
    except StagerError:
        return record  # a damaged record is replaced by what the run knows
    if stored is None:
        return record

    def said(phases: tuple[RecordedPhase, ...]) -> tuple[RecordedPhase, ...]:
        return tuple(replace(phase, unchanged=False) for phase in phases)

    if said(stored.record.phases) == said(record.phases):
        return None
    return replace(record, moved=stored.record.moved)


def _record(
    analysis: Analysis,
    head_ref: str,
    options: SplitOptions,
    result: SplitResult,
    heads: Sequence[tuple[tuple[Revision, ...], tuple[Revision, ...]]],
) -> SplitRecord:
    """What the run built, for ``verify``, ``open-pr`` and ``--undo`` (docs/split.md)."""
    report = analysis.migrations
    phases: list[RecordedPhase] = []
    for built, (start_heads, end_heads) in zip(result.phases, heads, strict=True):
        written = {rewrite.path: rewrite.new_parents for rewrite in built.rewrites}
        # An expand revision R_e is new: on the feature branch it is R's part, with R's parents.
        origins = {item.path: item.origin for item in built.phase.derived}
        migrations = tuple(
            RecordedMigration(
                planned.revision,
                planned.path,
                written.get(
                    planned.path,
                    report.by_path[origins.get(planned.path, planned.path)].down_revisions,
                ),
                report.by_path[origins.get(planned.path, planned.path)].down_revisions,
            )
            for planned in built.phase.migrations
        )
        phases.append(
            RecordedPhase(
                number=built.phase.number,
                name=built.phase.name,
                title=built.phase.title,
                branch=built.branch,
                commit=built.commit,
                parent=built.parent,
                strategy=built.strategy,
                files=tuple(sorted(built.phase.paths)),
                chain=RecordedChain(start_heads, end_heads, migrations),
                rewrites=built.rewrites,
                unchanged=built.status is BuildStatus.UNCHANGED,
                kept=_kept(built, dict(options.replay).get(built.phase.number, ())),
            )
        )
    return SplitRecord(
        time=timestamp(),
        head_ref=head_ref,
        head=result.head,
        base_ref=analysis.refs.base_ref,
        base=result.base,
        merge_base=result.merge_base,
        start=result.start,
        onto=result.onto,
        layout=result.layout,
        strategy=options.strategy,
        phases=tuple(phases),
        moved=moved_refs(result.phases),
    )


def _with_kept(
    writer: Writer,
    spec: _Spec,
    commits: list[BuiltCommit] | None,
    tree: Sha,
    base: Sha,
    options: SplitOptions,
    *,
    sign: bool,
) -> tuple[list[BuiltCommit] | None, Sha]:
    """The phase's commits and tree with the commits sync keeps replayed on top (a reviewer's)."""
    phase = spec.target.phase
    replays = dict(options.replay).get(phase.number, ())
    if not replays:
        return commits, tree
    if commits is None:
        commits = _write_chain(writer, spec.recipes, base, sign=sign)
    made, _held = replay_kept(writer, commits, base, replays, _label(phase), sign=sign)
    return made, made[-1].tree if made else tree


def _kept(built: BuiltPhase, replayed: Sequence[KeptCommit]) -> tuple[KeptCommit, ...]:
    """The kept commits as the phase holds them: replayed now, or as they were (unchanged)."""
    if not replayed or built.status is BuildStatus.UNCHANGED:
        return tuple(replayed)
    originals = {item.original for item in replayed}
    return tuple(
        KeptCommit(commit.source, commit.sha)
        for commit in built.commits
        if commit.source is not None and commit.source in originals
    )


def _specs(
    writer: Writer,
    chain: Sequence[tuple[PhaseTarget, bool]],
    options: SplitOptions,
    stacked: bool,
    merge_base: Sha,
    head: Sha,
    total: int,
) -> list[_Spec]:
    model = TreeModel(writer)
    base_tree = writer.tree_of(merge_base)
    model.load(base_tree)
    history: list[HistoryCommit] = []
    if options.strategy is not Strategy.PATCH:
        history = first_parent_history(writer.repo, merge_base, head)
    specs: list[_Spec] = []
    parent_tree = base_tree
    derived: set[RepoPath] = set()  # paths earlier phases wrote as stager derived them
    current: PhaseTarget | None = None
    try:
        for target, prerequisite in chain:
            current = target
            start_tree = parent_tree if stacked else base_tree
            planned = model.build(start_tree, target.changes)
            strategy, note, made = Strategy.PATCH, "patch (--strategy patch)", None
            if options.strategy is not Strategy.PATCH:
                outcome = simulate(history, target)
                if isinstance(outcome, ReplayConflict):
                    if options.strategy is Strategy.CHERRY_PICK:
                        raise StagerError(
                            f"{_label(target.phase)} cannot be cherry-picked: "
                            f"{outcome.describe()}; nothing was written",
                            "use --strategy patch (the phase's changes as one patch) or "
                            "--strategy auto (patch only where cherry-pick cannot work)",
                        )
                    note = f"patch: cherry-pick would stop at {outcome.describe()}"
                else:
                    made = _replay(writer, model, outcome, target, start_tree, planned, total)
                    end = made[-1].tree if made else start_tree
                    if end != planned:
                        if options.strategy is Strategy.CHERRY_PICK:
                            raise StagerError(
                                f"{_label(target.phase)}: the replayed commits do not "
                                "reproduce the planned tree; nothing was written",
                                "use --strategy patch or --strategy auto",
                            )
                        made, note = None, "patch: the replayed commits do not reproduce the phase"
                    else:
                        strategy = Strategy.CHERRY_PICK
                        count = f"{len(made)} commit{'s' if len(made) != 1 else ''}"
                        note = f"cherry-pick: {count} replayed, giving exactly the planned tree"
            message = patch_message(
                target.phase,
                total,
                files=len(target.paths),
                head=head,
                merge_base=merge_base,
                rewrites=target.rewrites,
            )
            patch = Recipe(planned, message, None, None)
            if made is None:
                model.flush()  # git reads the parent tree into the temporary index
                tree = apply_phase(writer, start_tree, target, merge_base, head, derived)
                check_planned(tree, planned, target)
                made = [patch]
            specs.append(_Spec(target, strategy, note, tuple(made), planned, prerequisite, patch))
            parent_tree = planned
            if stacked:
                derived.update(item.path for item in target.phase.derived)
    except PathClash as clash:
        assert current is not None  # raised while building a phase
        raise _clash_error(current, clash, [item for item, _ in chain]) from None
    return specs


def _replay(
    writer: Writer,
    model: TreeModel,
    steps: Sequence[Step],
    target: PhaseTarget,
    start_tree: Sha,
    planned: Sha,
    total: int,
) -> list[Recipe]:
    """The phase's replayed commits; then one commit that writes the files stager derived.

    The replay must give exactly the phase with head's versions of the derived
    paths (else the recipes end elsewhere and the caller falls back to patch);
    only then does the last commit replace those by the derived files.
    """
    paths = [rewrite.path for rewrite in target.rewrites]
    relinked = relink_versions(writer, target.rewrites, versions(steps, paths))
    derived = [rewrite for rewrite in target.rewrites if rewrite.derived]
    replayed = replace(target, rewrites=tuple(rw for rw in target.rewrites if not rw.derived))
    made = recipes(model, steps, replayed, start_tree, relinked, total)
    if not derived:
        return made
    without = {path: node for path, node in target.changes.items() if path in target.head}
    without.update({rw.path: target.head[rw.path] for rw in derived if rw.path in target.head})
    end = made[-1].tree if made else start_tree
    if end != model.build(start_tree, without):
        return made  # not the phase: the caller sees the tree differ
    made.append(Recipe(planned, derived_message(target.phase, total, derived), None, None))
    return made


def _clash_error(
    target: PhaseTarget, clash: PathClash, targets: Sequence[PhaseTarget]
) -> StagerError:
    """A phase that would hold a file and a folder of the same name: refuse, naming both."""
    inside = f"{clash.path}/"
    owners = sorted(
        {
            f"{path} ({_label(other.phase)})"
            for other in targets
            for path in other.paths
            if path == clash.path or path.startswith(inside)
        }
    )
    shown = ", ".join(owners[:6]) + (f" and {len(owners) - 6} more" if len(owners) > 6 else "")
    return StagerError(
        f"{_label(target.phase)} cannot be built: {clash.path} would be a file and a folder "
        f"at once (the branch replaces one by the other, and the plan splits that change: "
        f"{shown}); nothing was written",
        f"put {clash.path} and every path under it in the same phase "
        "(edit stager-plan.toml or the [[phase]] rules)",
    )


def _write_chain(
    writer: Writer, made: Sequence[Recipe], parent: Sha, *, sign: bool
) -> list[BuiltCommit]:
    built: list[BuiltCommit] = []
    for recipe in made:
        sha = writer.commit(recipe.tree, [parent], recipe.message, author=recipe.author, sign=sign)
        built.append(BuiltCommit(sha, recipe.tree, parent, recipe.subject, recipe.source))
        parent = sha
    return built


@dataclass
class _Branches:
    """The existing branches a run may replace, and the backups it names."""

    existing: dict[str, Sha]
    trees: dict[Sha, Sha]
    start: Sha
    stamp: str
    taken: set[str]
    recorded: frozenset[str]  # the branches a stager record lists: stager's own
    refused: list[str] = field(default_factory=list)  # exist and differ, without --force
    foreign: list[str] = field(default_factory=list)  # exist and no record lists them

    @classmethod
    def read(cls, repo: Repository, refs: Sequence[str], start: Sha) -> _Branches:
        existing = read_refs(repo, refs)
        trees = dict(zip(existing.values(), trees_of(repo, list(existing.values())), strict=True))
        recorded = recorded_branches(repo) if existing else frozenset()
        taken = set(list_refs(repo, BACKUP_PREFIX))
        return cls(existing, trees, start, timestamp(), taken, recorded)

    def replacing(
        self, ref: str, branch: str, options: SplitOptions
    ) -> tuple[BuildStatus, str | None]:
        """What the run does to ``ref`` (not kept as it is), and the backup of its old tip.

        A branch no record lists is someone's, which not even --force
        replaces; without --force no existing branch is.
        """
        previous = self.existing.get(ref)
        if previous is None:
            return BuildStatus.CREATED, None
        if ref not in self.recorded:
            self.foreign.append(branch)
        elif not options.force:
            self.refused.append(f"{branch} (at {previous[:12]})")
            if options.dry_run:  # say so in the table; the real run stops
                return BuildStatus.REFUSED, None
        return BuildStatus.UPDATED, backup_name(branch, self.stamp, self.taken)

    def keeps(
        self,
        repo: Repository,
        ref: str,
        tree: Sha,
        base: Sha,
        subjects: Sequence[str],
        *,
        sign: bool,
    ) -> Sha | None:
        """The existing tip when it already is the phase: same tree, on the same base.

        Its commits must have the ``subjects`` the run would write, and be
        signed or not as asked: a branch built with another strategy (one patch
        commit, or replayed commits) or another signing choice is rebuilt.
        """
        previous = self.existing.get(ref)
        # A commit this run wrote cannot be in an existing branch: only check the others.
        reused = base == self.start or base in self.existing.values()
        if previous is None or self.trees[previous] != tree or not reused:
            return None
        if not is_ancestor(repo, base, previous):
            return None
        found = [message.split("\n", 1)[0] for message in commit_messages(repo, base, previous)]
        if found != list(subjects) or any(was != sign for was in signed(repo, base, previous)):
            return None
        return previous


def _built(
    spec: _Spec,
    names: dict[int, str],
    ref: str,
    tip: Sha,
    base: Sha,
    tree: Sha,
    note: str,
    commits: Sequence[BuiltCommit],
    status: BuildStatus,
    previous: Sha | None,
    backup: str | None = None,
) -> BuiltPhase:
    phase = spec.target.phase
    return BuiltPhase(
        phase=phase,
        branch=names[phase.number],
        ref=ref,
        commit=tip,
        parent=base,
        tree=tree,
        strategy=spec.strategy,
        strategy_note=note,
        commits=tuple(commits),
        rewrites=spec.target.rewrites,
        status=status,
        previous=previous,
        backup=backup,
        prerequisite=spec.prerequisite,
    )


@dataclass(frozen=True)
class _Moved:
    """A phase moved onto --onto REF (or onto the previous phase, moved)."""

    spec: _Spec  # the patch fallback's when auto used it
    commits: list[BuiltCommit]
    tree: Sha
    planned_tip: Sha  # the phase's tip as built from the merge base
    note: str
    conflicts: PhaseConflicts | None = None
    stand_in: Sha | None = None  # on conflicts: the phase merged with git's markers


def _move(
    writer: Writer, spec: _Spec, planned_base: Sha, base: Sha, options: SplitOptions, *, sign: bool
) -> _Moved:
    """Transplant ``spec`` onto ``base``; auto retries a conflicting replay as one patch."""
    onto = options.onto or ""
    planned = _write_chain(writer, spec.recipes, planned_base, sign=False)
    moved, found, failed = transplant(writer, planned, spec.recipes, base, sign=sign)
    planned_tip = planned[-1].sha if planned else planned_base
    if failed is not None and options.strategy is Strategy.AUTO and len(spec.recipes) > 1:
        # Commit by commit, a file the base changed too conflicts with the branch's
        # intermediate versions even when the phase's net change merges cleanly.
        single = replace(
            spec,
            strategy=Strategy.PATCH,
            recipes=(spec.patch,),
            note=f"patch: the replayed commits do not merge onto {onto} "
            f"(at {failed.subject!r}), the phase as one patch does",
        )
        planned_single = _write_chain(writer, single.recipes, planned_base, sign=False)
        retried = transplant(writer, planned_single, single.recipes, base, sign=sign)
        if retried[2] is None:
            spec, planned_tip = single, planned_single[-1].sha
            moved, found, failed = retried
    if failed is not None:
        merged = merge_onto(writer, writer.tree_of(base), planned_base, planned_tip)
        stand_in = writer.commit(merged.tree, [base], "stager: stand-in for a conflicted phase\n")
        conflicts = PhaseConflicts(_label(spec.target.phase), failed, found)
        return _Moved(spec, [], merged.tree, planned_tip, spec.note, conflicts, stand_in)
    tree = moved[-1].tree if moved else writer.tree_of(base)
    return _Moved(spec, moved, tree, planned_tip, _onto_note(spec, len(moved), onto))


def _onto_note(spec: _Spec, moved: int, onto: str) -> str:
    """The strategy note, saying what --onto REF already had."""
    if not moved and spec.recipes:
        return empty_note(onto, [planned.path for planned in spec.target.phase.files])
    left = len(spec.recipes) - moved
    if left:
        return f"{spec.note}; {left} commit{'s' if left != 1 else ''} already on {onto} left out"
    return spec.note


def empty_note(onto: str, paths: Sequence[str]) -> str:
    """What split and open-pr say of a phase the base already holds: no commit, no pull request
    (GitHub refuses one with "No commits between"), and no record says it was merged."""
    return (
        f"empty: its files already are on {onto} ({', '.join(sorted(paths))}); the branch is "
        f"{onto}'s tip, and open-pr opens no pull request for it"
    )


def refused_error(refused: Sequence[str], *, dry_run: bool = False) -> StagerError:
    """Existing branches that differ from what the split builds, and --force was not given."""
    done = "the real run would stop" if dry_run else "nothing was written"
    return StagerError(
        f"branch(es) {', '.join(refused)} already exist and differ from what the split "
        f"builds; {done}",
        "re-run with --force to replace them (their tips are kept under "
        f"{BACKUP_PREFIX}<branch>/<time>), or delete them first",
    )


def _commits(
    writer: Writer,
    repo: Repository,
    analysis: Analysis,
    specs: Sequence[_Spec],
    refs: dict[int, str],
    names: dict[int, str],
    options: SplitOptions,
    onto: Sha | None,
    sign: bool,
) -> list[BuiltPhase]:
    """Write the commits on their real parents; keep a branch that already is what we built."""
    stacked = options.layout is Layout.STACKED
    merge_base = analysis.refs.merge_base
    start = onto if onto is not None else merge_base
    branches = _Branches.read(repo, [refs[spec.target.phase.number] for spec in specs], start)
    built: list[BuiltPhase] = []
    conflicts: list[PhaseConflicts] = []
    parent = start  # the previous phase's tip (stacked)
    planned_parent = merge_base  # the same, before --onto moves it
    for planned_spec in specs:
        spec = planned_spec
        phase = spec.target.phase
        base = parent if stacked else start
        commits: list[BuiltCommit] | None = None
        tree, note = spec.tree, spec.note
        if onto is not None:
            planned_base = planned_parent if stacked else merge_base
            moved = _move(writer, spec, planned_base, base, options, sign=sign)
            planned_parent = moved.planned_tip
            if moved.conflicts is not None:
                # Go on with the phase merged as git leaves it (conflict markers and
                # all), so that every phase's conflicts are reported at once.
                conflicts.append(moved.conflicts)
                parent = moved.stand_in or base
                continue
            spec, commits, tree, note = moved.spec, moved.commits, moved.tree, moved.note
        commits, tree = _with_kept(writer, spec, commits, tree, base, options, sign=sign)
        ref = refs[phase.number]
        subjects = [c.subject for c in (spec.recipes if commits is None else commits)]
        # Kept with --force too: a new sha for the same phase would make open-pr force-push
        # it, re-running CI and dismissing approvals.
        kept = branches.keeps(repo, ref, tree, base, subjects, sign=sign)
        if kept is not None:
            unchanged = "unchanged: the branch already has exactly this content"
            built.append(
                _built(
                    spec, names, ref, kept, base, tree, unchanged, (), BuildStatus.UNCHANGED, kept
                )
            )
            parent = kept
            continue
        if commits is None:
            commits = _write_chain(writer, spec.recipes, base, sign=sign)
        tip = commits[-1].sha if commits else base
        previous = branches.existing.get(ref)
        status, backup = branches.replacing(ref, names[phase.number], options)
        built.append(
            _built(spec, names, ref, tip, base, tree, note, commits, status, previous, backup)
        )
        parent = tip
    if conflicts:
        raise conflict_error(
            conflicts, options.onto or "", repo.commits(merge_base, start), analysis.commits
        )
    if branches.foreign:
        template, source = options.branch_template, analysis.rules.source
        raise foreign_error(branches.foreign, template, source, dry_run=options.dry_run)
    if branches.refused and not options.dry_run:
        raise refused_error(branches.refused)
    return built
