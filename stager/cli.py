"""Command line: options, exit codes, output format. No business logic lives here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from stager import __version__
from stager.error_handler import error_handler
from stager.report import Format
from stager.types import Risk

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class GlobalOptions:
    repo_path: Path
    rules_path: Path | None
    verbose: bool


def _risk(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Risk | None:
    return Risk.parse(value) if value else None


def _log_to_stderr() -> None:
    """-v: stager's debug log (every git call) on standard error, once per run."""
    import logging
    import sys

    logger = logging.getLogger("stager")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("stager: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


def branch_options(function: F) -> F:
    """--base/--head, shared by every command that reads the branch."""
    function = click.option(
        "--head",
        metavar="REF",
        help="Branch (or any commit) to split. Default: HEAD.",
    )(function)
    return click.option(
        "--base",
        metavar="REF",
        help="Branch the work will merge into. Default: [stager] base in the rules, "
        "else origin/HEAD, else main, master or develop.",
    )(function)


def format_option(function: F) -> F:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice([f.value for f in Format]),
        default=Format.TABLE.value,
        show_default=True,
        help="table: for people; markdown: paste-ready GitHub text; json: stable keys for scripts.",
    )(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="stager")
@click.option(
    "-C",
    "repo_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    help="Run as if stager was started in PATH (like git -C).",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="rules.toml to use instead of .stager/rules.toml or the packaged default.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show every git command stager runs, with its cost."
)
@click.pass_context
def cli(ctx: click.Context, repo_path: Path, rules_path: Path | None, verbose: bool) -> None:
    """Split a monolithic feature branch into staged, reviewable pull requests.

    Start with `stager demo`, then `stager analyze` in your own repository.
    """
    if verbose:
        _log_to_stderr()
    ctx.obj = GlobalOptions(repo_path, rules_path, verbose)


@cli.command()
@branch_options
@format_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of standard output.",
)
@click.option(
    "--fail-on",
    type=click.Choice(Risk.names()),
    callback=_risk,
    help="Exit 4 when a finding at or above this risk exists (for CI).",
)
@click.pass_obj
def analyze(
    options: GlobalOptions,
    base: str | None,
    head: str | None,
    output_format: str,
    output: Path | None,
    fail_on: Risk | None,
) -> None:
    """Risk table, Alembic migration summary, findings and proposed phases of the branch."""
    from stager.commands import analyze as command

    with error_handler():
        code = command.run(
            command.AnalyzeOptions(
                repo_path=options.repo_path,
                rules_path=options.rules_path,
                base=base,
                head=head,
                output_format=Format(output_format),
                output=output,
                fail_on=fail_on,
            )
        )
    raise SystemExit(code)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def demo(directory: Path | None) -> None:
    """Build a realistic monolithic branch in DIRECTORY (default: a temp folder), analyze it."""
    with error_handler():
        from stager.commands import demo as command

        code = command.run(directory)
    raise SystemExit(code)


def main() -> None:
    """Console-script entry point."""
    with error_handler():
        cli.main(prog_name="stager")
