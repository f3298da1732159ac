"""`stager analyze`: the risk table, migration summary, findings and phases."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from stager.analysis import Analysis, analyze_branch
from stager.errors import OutputError
from stager.git.repository import Repository
from stager.render.analysis import render_json, render_markdown, render_terminal
from stager.render.console import plain_console, terminal_console
from stager.render.formats import Format
from stager.types import Risk

EXIT_FINDINGS = 4


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
    analysis = analyze_branch(
        Repository(options.repo_path), options.base, options.head, options.rules_path
    )
    emit(analysis, options.output_format, options.output)
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


def emit(analysis: Analysis, output_format: Format, output: Path | None) -> None:
    """Render in the asked format to stdout or to --output FILE."""
    if output_format is Format.JSON:
        # Compact when piped into another program (as gh does), indented otherwise.
        text = render_json(analysis, pretty=output is not None or sys.stdout.isatty())
    elif output_format is Format.MARKDOWN:
        text = render_markdown(analysis)
    else:
        text = render_table_text(analysis, to_terminal=output is None)
        if output is None:
            return  # already printed, with colours where the terminal has them
    if output is None:
        print(text, end="")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputError(
            f"cannot write {output}: {error.strerror}", "choose a writable --output path"
        ) from None


def render_table_text(analysis: Analysis, *, to_terminal: bool) -> str:
    """The rich table; printed live when to_terminal, else captured as plain text."""

    if to_terminal:
        render_terminal(analysis, terminal_console(highlight=False))
        return ""
    console = plain_console()
    render_terminal(analysis, console)
    return console.export_text()
