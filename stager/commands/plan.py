"""`stager plan`: the phases with every file, why it is there, and what each phase needs."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stager.analysis import Analysis, analyze_branch, plan_inputs
from stager.branches.merged import merged_content
from stager.branches.record import built_chains, built_record
from stager.commands.output import check_writable, emit, write_file
from stager.git.repository import Repository
from stager.github.render import template_folders
from stager.plan import DEFAULT_PLAN_FILE, PlanError, render_plan_file
from stager.plan.planfile import edited
from stager.render.formats import Format
from stager.render.plan import (
    render_plan_json,
    render_plan_markdown,
    render_plan_mermaid,
    render_plan_terminal,
)
from stager.render.progress import Progress
from stager.wording import count

_SHOWN = 50


@dataclass(frozen=True)
class PlanOptions:
    repo_path: Path
    rules_path: Path | None
    base: str | None
    head: str | None
    output_format: Format
    write: Path | None = None
    strict: bool = False
    output: Path | None = None
    force: bool = False  # --write replaces a plan file edited since stager wrote it


def run(options: PlanOptions) -> int:
    """Print (or write) the plan; ``--write`` also writes the editable plan file."""
    repo = Repository(options.repo_path)
    for path, option in ((options.write, "--write"), (options.output, "--output")):
        if path is not None:
            check_writable(path, option)  # before the analysis: refused at once
    if options.write is not None:
        _refuse_not_a_file(options.write)
    with Progress.for_output(options.output_format).steps() as announce:
        analysis = analyze_branch(
            repo, options.base, options.head, options.rules_path, merged_content, announce
        )
    plan = analysis.plan
    _check(analysis, strict=options.strict)
    # Each phase's Alembic chain: as split built it, if it did.
    stored = built_record(repo, analysis.refs.head_ref, analysis.refs.head)
    chains = built_chains(stored, plan.phases, analysis.migrations.base.heads())
    if options.write is not None:
        text = render_plan_file(plan, plan_inputs(analysis), analysis.refs, str(options.write))
        _refuse_edited(options.write, text, force=options.force)
        write_file(options.write, text, "--write")
    templates = template_folders(repo.work_tree)
    if options.output_format is Format.MERMAID:  # the staging document's diagram alone
        diagram = render_plan_mermaid(analysis, plan, chains)
        if options.output is None:
            print(diagram, end="")
        else:
            write_file(options.output, diagram, "--output")
    else:
        emit(
            options.output_format,
            partial(render_plan_terminal, analysis, plan, chains=chains),
            partial(render_plan_markdown, analysis, plan, chains, templates),
            partial(render_plan_json, analysis, plan, chains),
            options.output,
        )
    if options.write is not None:
        print(_written_hint(options.write, repo.work_tree), file=sys.stderr)
    return 0


def _check(analysis: Analysis, *, strict: bool) -> None:
    """PlanError when the rules have no phase, or with ``strict`` when they put a
    file before what it needs (each conflict listed with the edge) or break the
    Alembic history.
    """
    plan = analysis.plan
    if not analysis.rules.phases:
        raise PlanError(
            f"the rules ({analysis.rules.source}) define no [[phase]]: there is nothing to plan",
            'add [[phase]] tables, or write extends = "default" to use the default phases',
        )
    if strict and plan.conflicts:
        names = {rule.number: rule.name for rule in analysis.rules.phases}
        lines = "\n".join(f"  - {c.describe(names)}" for c in plan.conflicts[:_SHOWN])
        more = len(plan.conflicts) - _SHOWN
        raise PlanError(
            f"--strict: the rules put {count(len(plan.conflicts), 'file')} before what "
            + ("it needs" if len(plan.conflicts) == 1 else "they need")
            + ":\n"
            + lines
            + (f"\n  … and {more} more" if more > 0 else "")
            + "\n",
            "change the rules' phases (paths, migrations, categories) so each file comes "
            "after what it needs, or drop --strict to let stager move them",
        )
    broken = [finding for finding in plan.findings if finding.rule == "SP003"]
    if strict and broken:
        # The split would refuse these phases: --strict refuses the plan already.
        raise PlanError(
            "--strict: the phases would break the Alembic history:\n"
            + "\n".join(f"  - {finding.message}" for finding in broken)
            + "\n",
            broken[0].hint,
        )


def _written_hint(path: Path, work_tree: Path | None) -> str:
    """What to tell after --write: split/open-pr find only the top-level default by themselves."""
    usage = "`stager split` and `stager open-pr` use it"
    if work_tree is None or not _same_file(path, work_tree / DEFAULT_PLAN_FILE):
        # A relative --write is relative to the current folder (or -C), like every
        # other path option, so a plan written elsewhere must be named with --plan.
        where = shlex.quote(str(path.absolute()))
        usage = f"`stager split --plan {where}` and `stager open-pr --plan {where}` use it"
    return f"wrote {path}: move lines between phases if you like; {usage} and check it again"


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except OSError:
        return False


def _refuse_not_a_file(path: Path) -> None:
    """PlanError when --write names a device, a pipe or a folder: no plan file would be kept."""
    if path.exists() and not path.is_file():
        raise PlanError(
            f"--write {path} is not a regular file (a device, a pipe or a folder): "
            "the plan file would not be kept",
            f"write it to a file, e.g. --write {DEFAULT_PLAN_FILE} (without --write the "
            "plan is only printed)",
        )


def _refuse_edited(path: Path, text: str, *, force: bool) -> None:
    """PlanError when ``path`` holds a plan edited by hand (or another file) and no --force.

    An empty file holds nothing to lose.
    """
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError):
        old = None
    if force or old in (text, "") or (old is not None and not edited(old)):
        return
    raise PlanError(
        f"{path} was edited since stager wrote it (or is not a plan stager wrote): "
        "--write would lose those edits",
        "pass --force to replace it, write the plan elsewhere, or delete the file first",
    )
