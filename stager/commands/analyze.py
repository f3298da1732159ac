"""`stager analyze`: the risk table, migration summary, findings and phases."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stager.analysis import analyze_branch
from stager.branches.merged import merged_content
from stager.commands.output import EXIT_FINDINGS, check_writable, emit
from stager.git.repository import Repository
from stager.render.analysis import render_json, render_markdown, render_terminal
from stager.render.formats import Format
from stager.render.progress import Progress
from stager.types import Risk


@dataclass(frozen=True)
class AnalyzeOptions:
    repo_path: Path
    rules_path: Path | None
    base: str | None
    head: str | None
    output_format: Format
    output: Path | None
    fail_on: Risk | None


def run(options: AnalyzeOptions) -> int:
    """Analyze the branch, print or write the report; 4 when --fail-on is met."""
    if options.output is not None:
        check_writable(options.output, "--output")  # before the analysis: refused at once
    with Progress.for_output(options.output_format).steps() as announce:
        analysis = analyze_branch(
            Repository(options.repo_path),
            options.base,
            options.head,
            options.rules_path,
            merged=merged_content,
            announce=announce,
        )
    emit(
        options.output_format,
        partial(render_terminal, analysis),
        partial(render_markdown, analysis),
        # Compact when piped into another program (as gh does), indented otherwise.
        lambda: render_json(analysis, pretty=options.output is not None or sys.stdout.isatty()),
        options.output,
    )
    if options.output is not None:
        print(f"wrote {options.output}", file=sys.stderr)
    if options.fail_on is not None:
        failing = analysis.findings_at_or_above(options.fail_on)
        if failing:
            # A CI log should say why the job failed, whatever --format and --output say.
            level = options.fail_on.label
            noun = "finding" if len(failing) == 1 else "findings"
            print(
                f"stager: {len(failing)} {noun} at or above {level} (--fail-on {level}): "
                f"exit {EXIT_FINDINGS}",
                file=sys.stderr,
            )
            return EXIT_FINDINGS
    return 0
