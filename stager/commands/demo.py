"""`stager demo`: build the realistic demo repository and analyze it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console

from stager.analysis import analyze_branch
from stager.demo import build_demo_repository
from stager.git import Repository
from stager.report import render_markdown, render_terminal

REPORT_NAME = "stager-report.md"


def run(directory: Path | None) -> int:
    """Write the demo repository (to a new temp folder by default), analyze it, say what next."""
    console = Console(highlight=False)
    target = directory or Path(tempfile.mkdtemp(prefix="stager-demo-")) / "fuel-credits"
    demo = build_demo_repository(target)
    console.print(
        f"[bold]Demo repository[/] written to {demo.path}\n"
        f"  base branch [bold]{demo.base_branch}[/], feature branch [bold]{demo.head_branch}[/]"
        " (checked out)\n"
    )
    analysis = analyze_branch(Repository(demo.path), demo.base_branch, demo.head_branch, None)
    render_terminal(analysis, console)
    report = demo.path.parent / f"{demo.path.name}-{REPORT_NAME}"
    report.write_text(render_markdown(analysis), encoding="utf-8")
    console.print(
        f"\nMarkdown report (paste-ready for a PR or issue): {report}\n\n"
        "[bold]Try next:[/]\n"
        f"  cd {demo.path}\n"
        "  stager analyze                    # the same table, from inside the repository\n"
        "  stager analyze --format markdown  # GitHub-ready markdown\n"
        "  stager analyze --format json      # every file, migration and finding, for scripts\n"
        "  stager analyze --fail-on high     # exit 4 when a high-risk finding exists (for CI)\n"
    )
    return 0
