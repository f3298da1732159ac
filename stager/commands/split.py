"""`stager split`: one branch per phase, without touching the checkout; `--undo` puts them back."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stager.analysis import Analysis, analyze_branch, chosen_plan
from stager.branches.base_owned import base_owned
from stager.branches.graph_check import broken_graph
from stager.branches.journal import after_interrupt
from stager.branches.merged import merged_content, merged_notes
from stager.branches.onto import start
from stager.branches.record import record_name, record_ref
from stager.branches.refs import undo_last_split
from stager.branches.split import refused_error, split_branch
from stager.branches.split_types import (
    BuildStatus,
    KeptCommit,
    Layout,
    SplitOptions,
    SplitResult,
    Strategy,
)
from stager.commands.output import emit
from stager.git.refs import read_refs
from stager.git.repository import Repository
from stager.interrupts import Interrupted
from stager.render.formats import Format
from stager.render.progress import Progress
from stager.render.split import (
    render_split_json,
    render_split_markdown,
    render_split_terminal,
    render_undo,
)
from stager.rules.project import PROJECT_RULES, load_project_rules
from stager.types import Announce, unannounced


@dataclass(frozen=True)
class SplitCommandOptions:
    repo_path: Path
    rules_path: Path | None
    base: str | None = None
    head: str | None = None
    phase: int | None = None  # None: --all
    strategy: Strategy = Strategy.AUTO
    layout: Layout = Layout.STACKED
    onto: str | None = None
    from_merge_base: bool = False
    dry_run: bool = False
    force: bool = False
    undo: bool = False
    sign: bool | None = None
    plan_path: Path | None = None
    output_format: Format = Format.TABLE
    rechain_broken: bool = False
    # sync: phase number → the commits someone else pushed to its branch, replayed on it
    replay: tuple[tuple[int, tuple[KeptCommit, ...]], ...] = ()


def split(
    options: SplitCommandOptions,
    repo: Repository | None = None,
    analysis: Analysis | None = None,
    announce: Announce = unannounced,
) -> SplitResult:
    """Analyze the branch (unless ``analysis`` is given: sync's) and build its phase branches
    (the data ``run`` prints).

    ``announce`` is told each step as it begins (progress on a large repository).
    """
    repo = repo or Repository(options.repo_path)
    if analysis is None:
        analysis = analyze_branch(
            repo, options.base, options.head, options.rules_path, merged_content, announce
        )
    plan = chosen_plan(repo, analysis, options.plan_path)
    phases = plan.phases
    broken = broken_graph(analysis.migrations, phases)
    broken.refuse(rechain_broken=options.rechain_broken)  # before anything is written
    # A base that moved is built onto: phase 1 from the merge base would give it two heads.
    where = start(analysis, options.onto, from_merge_base=options.from_merge_base)
    announce("writing the phase branches" if not options.dry_run else "building the phases")
    result = split_branch(
        repo,
        analysis,
        SplitOptions(
            phase=options.phase,
            strategy=options.strategy,
            layout=options.layout,
            onto=where.onto,
            dry_run=options.dry_run,
            force=options.force,
            sign=options.sign,
            branch_template=analysis.rules.split.branch,
            broken=broken.revisions,
            replay=options.replay,
        ),
        phases,
        base_owned(repo, analysis),
    )
    if plan.source != "rules":  # an edited plan may differ from what the rules say: say so
        followed = f"following the plan file {plan.source}, not the rules"
        result = dataclasses.replace(result, notes=(followed, *result.notes))
    return merged_notes(broken.noted(where.noted(result)), analysis.merged_phases)


def run(options: SplitCommandOptions) -> int:
    """Split (or undo the last split) and print what was done."""
    repo = Repository(options.repo_path)
    head = options.head or "HEAD"
    if options.undo:
        rules = load_project_rules(
            options.rules_path,
            repo.work_tree,
            lambda: repo.read_path(repo.resolve(head), PROJECT_RULES),
        )
        undone = undo_last_split(repo, head, split=rules.split, force=options.force)
        print(render_undo(undone), end="")
        return 0
    name = record_name(repo, head)
    before = read_refs(repo, [record_ref(name)]).get(record_ref(name))
    try:
        with Progress.for_output(options.output_format).steps() as announce:
            result = split(options, repo, announce=announce)
        emit(
            options.output_format,
            partial(render_split_terminal, result),
            partial(render_split_markdown, result),
            lambda: render_split_json(result, pretty=sys.stdout.isatty()),
        )
    except KeyboardInterrupt as interrupt:
        # The signal may come after the branches moved: say what was written, not just "stopped".
        raise Interrupted.of(interrupt, after_interrupt(repo, name, before)) from None
    refused = [
        f"{built.branch} (at {built.previous[:12]})"
        for built in result.phases
        if built.status is BuildStatus.REFUSED and built.previous is not None
    ]
    if refused:  # the table says "would refuse"; the exit status says the real run stops
        raise refused_error(refused, dry_run=True)
    return 0
