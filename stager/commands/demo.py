"""`stager demo`: build the realistic demo repository, analyze it, split it, verify the split."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from stager.analysis import Analysis, analyze_branch
from stager.branches.onto import start
from stager.branches.split import split_branch
from stager.branches.split_types import SplitOptions
from stager.branches.verify import verify_split
from stager.demo import build_demo_repository
from stager.git.repository import Repository
from stager.git.write import identity_problem, read_config, set_config
from stager.render.analysis import render_markdown, render_terminal
from stager.render.console import stdout_console
from stager.render.plan import print_splits
from stager.render.split import render_split_terminal

REPORT_NAME = "stager-report.md"


def run(directory: Path | None, rules_path: Path | None = None) -> int:
    """Write the demo repository (to a new temp folder by default), analyze it, say what next.

    ``rules_path`` (``stager --rules FILE demo``) tries a project's rules on the demo.
    """
    if directory is not None:
        return _run(directory, rules_path)
    folder = Path(tempfile.mkdtemp(prefix="stager-demo-"))
    try:
        return _run(folder / "fuel-credits", rules_path)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM: a half-made demo in a folder of its own is junk
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _run(target: Path, rules_path: Path | None) -> int:
    console = stdout_console()
    demo = build_demo_repository(target)
    console.print(
        f"[bold]Demo repository[/] written to {demo.path}\n"
        f"  base branch [bold]{demo.base_branch}[/], feature branch [bold]{demo.head_branch}[/]"
        " (checked out)\n"
    )
    repo = Repository(demo.path)
    analysis = analyze_branch(repo, demo.base_branch, demo.head_branch, rules_path)
    render_terminal(analysis, console)
    # The one move analyze's table cannot show: a migration split in two, a model by hunk.
    print_splits(analysis.plan, console)
    report = demo.path.parent / f"{demo.path.name}-{REPORT_NAME}"
    report.write_text(render_markdown(analysis), encoding="utf-8")
    console.print(f"\nMarkdown report (paste-ready for a PR or issue): {report}\n")
    _split_and_verify(repo, analysis, console)
    console.print(
        "\n[bold]Try next:[/]\n"
        f"  cd {demo.path}\n"
        "  stager analyze                    # the same table, from inside the repository\n"
        "  stager plan                       # every file's phase and the reason it is there\n"
        "  stager plan --format markdown     # the full staging document, phase by phase\n"
        "  stager plan --write stager-plan.toml  # an editable plan that split follows\n"
        "  stager lint backend/migrations/versions  # the migration risk rules alone\n"
        "  stager analyze --format json      # every file, migration and finding, for scripts\n"
        "  stager analyze --fail-on high     # exit 4 when a high-risk finding exists (for CI)\n"
        "  git log --oneline stage/2-data    # a phase branch: its commits on the previous one\n"
        "  stager verify --check 'python3 -m compileall -q backend'  # your tests, per phase\n"
        "  stager open-pr --all --dry-run    # the pull requests it would open, without network\n"
        "  stager split --undo               # remove the phase branches again\n"
    )
    if rules_path is not None:
        console.print(f"  (add --rules {rules_path.resolve()} after `stager` to use your rules)")
    return 0


def _split_and_verify(repo: Repository, analysis: Analysis, console: Console) -> None:
    """split --all (stacked, auto) and verify, as a user would run them next."""
    if identity_problem(read_config(repo), os.environ):
        # The demo repository is the demo's own: give its commits a name when git has none.
        set_config(repo, "user.name", "stager demo")
        set_config(repo, "user.email", "demo@stager.invalid")
    template = analysis.rules.split.branch
    phases = analysis.plan.phases
    where = start(analysis, None, from_merge_base=False)  # main moved: onto its tip, as split does
    options = SplitOptions(branch_template=template, onto=where.onto)
    result = where.noted(split_branch(repo, analysis, options, phases))
    console.print("[bold]stager split --all[/]: one branch per phase, the checkout untouched")
    render_split_terminal(result, console)
    verification = verify_split(repo, analysis, phases, branch_template=template)
    verdict = "[green]every check passed[/]" if verification.ok else "[red]a check FAILED[/]"
    console.print(
        f"\n[bold]stager verify[/]: {verdict} — each branch is its phase of the plan, nothing "
        "is lost (the last branch is the feature branch, except the migrations stager re-chained "
        "or split), "
        "every phase has one Alembic head and compiles"
    )
