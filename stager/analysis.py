"""The analysis of a branch: everything `analyze` reports, computed once.

Data flows one way: git refs → changed files → migrations → classification →
phases. Later commands (plan, split, open-pr) start from an ``Analysis``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from stager.errors import StagerError, UnknownRef
from stager.findings import Finding, finding_order
from stager.git.diff import ChangedFile, Status
from stager.git.repository import (
    BranchRefs,
    Commit,
    Repository,
    TreeEntry,
    tree_after,
    tree_before,
)
from stager.rules.catalogue import RULES
from stager.rules.project import PROJECT_RULES, load_project_rules
from stager.rules.settings import Rules, apply_settings
from stager.types import Announce, RepoPath, Risk, Sha, unannounced

if TYPE_CHECKING:
    from stager.classify import CategorySummary, FileClass
    from stager.migrations.compare import MigrationReport
    from stager.migrations.lint.envpy import EnvSettings
    from stager.migrations.lint.sql_files import SqlMigrations
    from stager.migrations.revision_files import MigrationFile
    from stager.plan import FactsStore, Plan, PlanInputs
    from stager.plan.sources import Texts

FALLBACK_BASES = ("main", "master", "develop")


@dataclass(frozen=True)
class BaseDrift:
    """What the base gained since the merge base, and where it meets the branch."""

    commits: tuple[Commit, ...]
    overlapping: tuple[RepoPath, ...]


@dataclass(frozen=True)
class Analysis:
    refs: BranchRefs
    rules: Rules
    files: tuple[ChangedFile, ...]
    classes: tuple[FileClass, ...]
    categories: tuple[CategorySummary, ...]
    migrations: MigrationReport
    findings: tuple[Finding, ...]
    commits: tuple[Commit, ...]
    drift: BaseDrift
    warnings: tuple[str, ...]
    plan: Plan  # the rules' plan: phases, conflicts and the dependencies behind them
    # The env.py settings of each mixed migration the plan may split: what its parts are
    # linted with, in the phases that ship them (plan/built_findings.py).
    envs: Mapping[RepoPath, EnvSettings] = field(default_factory=dict)
    # The phases of the branch's last split found on the base (stager.branches.merged).
    merged_phases: tuple[MergedPhase, ...] = ()

    def findings_at_or_above(self, level: Risk) -> list[Finding]:
        """What --fail-on counts: the branch's own findings, not those its base already had."""
        return [f for f in self.findings if f.risk >= level and f.introduced]


@dataclass(frozen=True)
class MergedPhase:
    """A phase of the branch's last split that the base holds, all or part of it.

    ``state``: "merged", "partially merged" or "merged and reverted"; ``how``: "merge
    commit" (its tip is an ancestor of the base) or "squash or rebase" (its content is).
    """

    number: int
    branch: str
    commit: Sha  # its tip as split built it
    state: str
    how: str
    on_base: tuple[RepoPath, ...]  # the phase's paths the base holds as split built them
    missing: tuple[RepoPath, ...]  # the phase's paths it does not


@dataclass(frozen=True)
class MergedContent:
    """What the base already holds of the branch: the phases, and the changed paths that
    no longer count as the branch's (their phase is merged and the base has their content)."""

    phases: tuple[MergedPhase, ...] = ()
    settled: frozenset[RepoPath] = frozenset()
    # What the merged phases make wrong on the branch (SG012: a base-owned revision edited).
    findings: tuple[Finding, ...] = ()


# Asked once the refs are known (commands pass stager.branches.merged.merged_content).
MergedLookup = Callable[[Repository, BranchRefs, Mapping[RepoPath, TreeEntry]], MergedContent]


def default_base_ref(repo: Repository, rules: Rules) -> str:
    """``[stager] base``, else origin/HEAD, else the first of main/master/develop."""
    if rules.base:
        return rules.base
    found = repo.first_existing(("origin/HEAD", *FALLBACK_BASES))
    if found is None:
        raise StagerError(
            "no base branch given and none of origin/HEAD, main, master, develop exists",
            "pass --base REF, or set `base` under [stager] in .stager/rules.toml",
        )
    return found


def resolve_refs(repo: Repository, base_ref: str, head_ref: str) -> BranchRefs:
    head = repo.resolve(head_ref)
    base = repo.resolve(base_ref)
    merge_base = repo.merge_base(base, head, names=(base_ref, head_ref))
    return BranchRefs(base_ref, head_ref, base, head, merge_base)


def analyze_branch(
    repo: Repository,
    base_ref: str | None,
    head_ref: str | None,
    rules_path: Path | None,
    merged: MergedLookup | None = None,
    announce: Announce = unannounced,
) -> Analysis:
    """Compute the full analysis of head against merge-base(base, head).

    ``merged``: what the base already holds of the branch's last split; the files it
    settles are left out, as if the merge base had them as head has them. ``announce``
    is told each step as it begins (progress on a large repository).

    The parse cache gives the revision files and SQL texts earlier runs parsed; it
    keeps this run's for the next one, rewritten only when this run parsed something.
    """
    from stager.migrations import parse_cache
    from stager.migrations.pg_parser import recording

    cache = parse_cache.cache_file(str(repo.git_dir))
    stored = parse_cache.load(cache)
    with recording(stored.sql) as asked:
        analysis = _analyze_branch(
            repo, base_ref, head_ref, rules_path, merged, announce, stored.files
        )
    parsed = analysis.migrations.parsed
    if parsed.keys() != stored.files.keys() or not asked.keys() <= stored.sql.keys():
        parse_cache.save(cache, parsed, asked)
    return analysis


def _analyze_branch(
    repo: Repository,
    base_ref: str | None,
    head_ref: str | None,
    rules_path: Path | None,
    merged: MergedLookup | None,
    announce: Announce,
    known: Mapping[Sha, MigrationFile],
) -> Analysis:
    head_ref = head_ref or "HEAD"
    head = repo.resolve(head_ref)
    rules = load_project_rules(
        rules_path, repo.work_tree, lambda: repo.read_path(head, PROJECT_RULES)
    )
    try:
        refs = resolve_refs(repo, base_ref or default_base_ref(repo, rules), head_ref)
    except UnknownRef as error:
        if base_ref is not None or not rules.base or rules.base not in error.problem:
            raise
        # The base came from the rules: point at the line that names it.
        raise UnknownRef(
            f"{rules.source}:{rules.base_line or 1}: stager.base: {error.problem}",
            f"set base under [stager] to an existing branch, or pass --base REF; {error.fix}",
        ) from None
    candidates = (
        repo.upstream_warning(refs.base_ref),
        repo.ambiguity_warning(refs.base_ref, refs.head_ref),
    )
    warnings = [w for w in candidates if w]
    base_moved = refs.base != refs.merge_base

    announce("reading the branch's changes and trees")
    # The git processes are independent: run them side by side. The merge base's
    # tree is rebuilt from head's tree and the diff instead of listing it too.
    with ThreadPoolExecutor(max_workers=5) as pool:
        files_job = pool.submit(repo.changed_files, refs.merge_base, refs.head)
        head_tree_job = pool.submit(repo.list_tree, refs.head)
        commits_job = pool.submit(repo.commits, refs.merge_base, refs.head)
        drift_files_job = (
            pool.submit(repo.changed_files, refs.merge_base, refs.base) if base_moved else None
        )
        drift_commits_job = (
            pool.submit(repo.commits, refs.merge_base, refs.base) if base_moved else None
        )
        # Import the analysis proper while git works on the other core: these
        # modules cost ~60 ms to import, about what git's diff takes.
        from stager.classify import classify, summarize
        from stager.migrations.compare import analyze_migrations
        from stager.migrations.lint.engine import (
            PhaseUpgrade,
            with_phase_findings,
            with_rule_findings,
        )
        from stager.plan import FactsStore, PlanInputs, annotate_classes, read_texts

        # The Python files' facts of earlier runs (a JSON file to read), meanwhile.
        facts_job = pool.submit(FactsStore.for_repository, str(repo.git_dir))

        files, content = _branch_files(
            files_job.result(), merged and partial(merged, repo, refs, head_tree_job.result())
        )
        texts_job = pool.submit(read_texts, files, repo)  # the planner's reads, meanwhile
        base_tree = tree_before(head_tree_job.result(), files)
        tip_tree = tree_after(base_tree, drift_files_job.result()) if drift_files_job else None
        announce("parsing the migrations")
        migrations = analyze_migrations(base_tree, head_tree_job.result(), tip_tree, repo, known)
        commits = commits_job.result()
        drift_commits = drift_commits_job.result() if drift_commits_job else []
        # The pool stays open: the texts are read while the rules and the
        # classification run.

        if not files:
            # An empty table alone reads like a bug: say why it is empty.
            # A defaulted base (origin/HEAD of a clone of a clone) may be the branch itself.
            guess = (
                f"; {refs.base_ref} is the default base: pass --base REF to compare with another"
                if base_ref is None
                else ""
            )
            warnings.append(
                f"no changes between {refs.head_ref} and its merge base {refs.merge_base[:12]} "
                f"with {refs.base_ref}: the branch has nothing to analyze (is {refs.head_ref} "
                f"already merged, or is --head the branch you meant?{guess})"
            )
        drift = base_drift(
            files,
            drift_commits,
            branch_own_on_base(
                files, drift_files_job.result() if drift_files_job else [], migrations
            ),
        )
        sql = _sql_migrations(files, head_tree_job.result(), repo, rules)
        announce("checking the migrations and classifying the changed files")
        # The migration rules (SM…) of the branch's revisions and SQL migration files;
        # rules.toml's [rules.ID] settings.
        findings = with_rule_findings(
            [*migrations.findings, *drift_findings(drift, refs), *sql.findings, *content.findings],
            migrations,
            head_tree_job.result(),
            rules,
            repo,
        )
        findings.sort(key=finding_order)
        classes = classify(files, rules, migrations.by_path, findings, sql.kinds)
        inputs = PlanInputs(
            tuple(files), tuple(classes), rules, migrations, refs.merge_base, refs.head
        )
        texts, facts = texts_job.result(), facts_job.result()
    # The pool's threads are gone: the planner may fork workers to parse.
    announce("planning the phases")
    plan, dropped = _plan_and_dropped_uses(inputs, head_tree_job.result(), texts, facts, repo)
    classes = annotate_classes(classes, plan)
    findings = sorted([*findings, *plan.findings, *dropped], key=finding_order)
    # SM017 again along each phase's own upgrade: re-chaining may move a commit away.
    findings = sorted(
        with_phase_findings(
            findings,
            [PhaseUpgrade(p.number, tuple(m.path for m in p.migrations)) for p in plan.phases],
            migrations,
            head_tree_job.result(),
            rules,
            repo,
        ),
        key=finding_order,
    )
    return Analysis(
        refs=refs,
        rules=rules,
        files=tuple(files),
        classes=tuple(classes),
        categories=tuple(summarize(classes, rules)),
        migrations=migrations,
        findings=tuple(findings),
        commits=tuple(commits),
        drift=drift,
        warnings=(*warnings, *plan.warnings),
        plan=plan,
        envs=_split_envs(plan, head_tree_job.result(), repo),
        merged_phases=content.phases,
    )


def _sql_migrations(
    files: Sequence[ChangedFile],
    head_tree: Mapping[RepoPath, TreeEntry],
    repo: Repository,
    rules: Rules,
) -> SqlMigrations:
    """The branch's plain SQL migration files (``[migrations] sql``): linted, and their kinds."""
    from stager.migrations.lint.sql_files import sql_migrations

    paths = [f.path for f in files if f.status != Status.DELETED and rules.is_sql_migration(f.path)]
    return sql_migrations(paths, head_tree, repo, rules.postgres_version)


def _plan_and_dropped_uses(
    inputs: PlanInputs,
    head_tree: Mapping[RepoPath, TreeEntry],
    texts: Texts,
    facts: FactsStore,
    repo: Repository,
) -> tuple[Plan, list[Finding]]:
    """The plan, and SP005: what the branch drops, still named anywhere in head.

    SP005's `git grep` of head's whole tree runs while the plan is made; what it
    found is read after (ast must not parse in two threads at once).
    """
    from stager.plan import build_plan, prefetch_facts
    from stager.plan.dropped_uses import DroppedUses

    # What the planner reads first and is not cached yet is parsed now, on both cores
    # when it is much: no other thread runs yet, so the workers may be forked.
    if inputs.rules.phases:
        prefetch_facts(inputs, texts, facts)
    dropped_uses = DroppedUses(inputs.migrations, inputs.head, head_tree, repo, inputs.rules, facts)
    with ThreadPoolExecutor(max_workers=1) as side:
        dropped_job = side.submit(dropped_uses.grep)
        # The planner moves files later when a dependency needs it: the classes,
        # the risk table and the findings show the planned phases, as `plan` does.
        plan = build_plan(inputs, repo, head_tree.keys(), texts, facts)
    dropped = apply_settings(dropped_uses.findings(dropped_job.result()), inputs.rules)
    facts.save()  # for the next command: every fact this one needed
    return plan, dropped


def _branch_files(
    files: list[ChangedFile], merged: Callable[[], MergedContent] | None
) -> tuple[list[ChangedFile], MergedContent]:
    """The branch's changed files without those a merged phase settled, and what is merged.

    A settled file then reads as the merge base's own: the merge base's tree is rebuilt
    from head's and the files that remain, so a merged revision is the base's.
    """
    content = merged() if merged else MergedContent()
    return [f for f in files if not set(f.paths) <= content.settled], content


def _split_envs(
    plan: Plan, head_tree: Mapping[RepoPath, TreeEntry], repo: Repository
) -> Mapping[RepoPath, EnvSettings]:
    """The env.py settings of every mixed migration the plan (or a plan file) may split."""
    from stager.migrations.expand_contract import ExpandContract
    from stager.migrations.lint.engine import env_settings

    candidates = plan.split_inputs.candidates if plan.split_inputs else {}
    mixed = [path for path, part in candidates.items() if isinstance(part, ExpandContract)]
    return env_settings(mixed, head_tree, repo) if mixed else {}


def plan_inputs(analysis: Analysis) -> PlanInputs:
    """What the planner reads, taken from the analysis."""
    from stager.plan import PlanInputs

    return PlanInputs(
        analysis.files,
        analysis.classes,
        analysis.rules,
        analysis.migrations,
        analysis.refs.merge_base,
        analysis.refs.head,
    )


def chosen_plan(repo: Repository, analysis: Analysis, plan_path: Path | None) -> Plan:
    """The one plan source: ``--plan FILE``, else ``stager-plan.toml`` at the top, else the rules.

    The plan file is checked again (same head, every dependency): a stale or
    broken one is an error that says how to refresh it.
    """
    from stager.plan import DEFAULT_PLAN_FILE, load_plan_file

    if plan_path is None and repo.work_tree is not None:
        candidate = repo.work_tree / DEFAULT_PLAN_FILE
        # Not is_file(): a folder or a pipe in its place is an error, never silently skipped.
        plan_path = candidate if candidate.exists() or candidate.is_symlink() else None
    if plan_path is None:
        return analysis.plan
    return load_plan_file(plan_path, plan_inputs(analysis), analysis.refs, analysis.plan)


def base_drift(
    files: list[ChangedFile],
    drift_commits: list[Commit],
    own: frozenset[RepoPath] = frozenset(),
) -> BaseDrift:
    """Files changed both on the branch and on the base since the merge base.

    ``own``: paths the base changed only to the branch's own version (a merged
    phase): nothing of the base's to conflict with.
    """
    branch_paths = {path for changed in files for path in changed.paths}
    base_paths = {path for commit in drift_commits for path in commit.files}
    return BaseDrift(tuple(drift_commits), tuple(sorted((branch_paths & base_paths) - own)))


def branch_own_on_base(
    files: list[ChangedFile], drift_files: list[ChangedFile], migrations: MigrationReport
) -> frozenset[RepoPath]:
    """Paths whose version on the base's tip is the branch's own, as a merged phase leaves them.

    Head's very blob, or a revision file of a revision the branch added, which
    the base now has (re-chained onto the base's head by ``split``, maybe).
    """
    head_blobs = {changed.path: changed.new_blob for changed in files}
    own_revisions = {m.revision for m in migrations.added if m.revision is not None}
    tip = migrations.tip
    own: set[RepoPath] = set()
    for changed in drift_files:
        if head_blobs.get(changed.path) == changed.new_blob:
            own.add(changed.path)
    if tip is not None:
        own.update(
            migration.path
            for revision, migration in tip.files.items()
            if revision in own_revisions and migration.path in head_blobs
        )
    return frozenset(own)


def drift_findings(drift: BaseDrift, refs: BranchRefs) -> list[Finding]:
    """SB001 for each file both the branch and the base changed since the merge base."""
    findings = []
    for path in drift.overlapping:
        shas = [c.sha[:10] for c in drift.commits if path in c.files]
        message = (
            f"changed on the branch and on {refs.base_ref} since the merge base "
            f"(base commits {', '.join(shas)}): a likely conflict"
        )
        findings.append(RULES["SB001"].finding(path, None, message, base=refs.base_ref))
    return findings
