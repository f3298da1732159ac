"""Command line: options, exit codes, output format. No business logic lives here."""

from __future__ import annotations

import functools
import gc
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from stager import __version__
from stager.error_handler import error_handler
from stager.interrupts import stop_like_ctrl_c
from stager.render.ci_annotations import CI_FORMATS
from stager.render.formats import REPORT_FORMATS, Format
from stager.types import Risk

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class GlobalOptions:
    repo_path: Path
    rules: Path | None  # as typed: relative to repo_path, wherever -C stood

    @property
    def rules_path(self) -> Path | None:
        return self.repo_path / self.rules if self.rules else None


def _risk(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Risk | None:
    return Risk.parse(value) if value else None


def _format(_ctx: click.Context, _param: click.Parameter, value: str) -> Format:
    return Format(value)


def _at(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A file path the user typed, relative to -C PATH as git -C does (absolute stays).

    Checked here, after joining: click's own check would look in the current folder.
    """
    options = ctx.find_object(GlobalOptions)
    assert options is not None  # the group's callback runs before any subcommand's options
    if value is None:
        return None
    path = options.repo_path / value
    if path.is_dir():
        raise click.BadParameter(f"{str(value)!r} is a folder; give a file", ctx, param)
    return path


def _run(make_options: Callable[..., Any], run: Callable[[Any], int], **params: Any) -> NoReturn:
    """Build the command's options from the global ones and its own, run it, exit with its code.

    Each command's options dataclass names its fields after its click parameters,
    so an option is written once: in its decorator.
    """
    options = click.get_current_context().find_object(GlobalOptions)
    assert options is not None  # the group's callback always sets it
    with error_handler():
        code = run(
            make_options(repo_path=options.repo_path, rules_path=options.rules_path, **params)
        )
    raise SystemExit(code)


def _log_to_stderr() -> None:
    """-v: stager's debug log (every git call) on standard error, once per run."""
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


def plan_file_option(help_text: str) -> Callable[[F], F]:
    """--plan FILE, for the commands that follow an edited stager-plan.toml."""
    return click.option(
        "--plan",
        "plan_path",
        type=click.Path(path_type=Path),
        metavar="FILE",
        callback=_at,
        help=help_text,
    )


def phase_options(phase_help: str, all_help: str) -> Callable[[F], F]:
    """--phase N and --all, for the commands that work phase by phase."""

    def decorate(function: F) -> F:
        function = click.option("--all", "all_phases", is_flag=True, help=all_help)(function)
        return click.option(
            "--phase", "phase", type=click.IntRange(min=1), metavar="N", help=phase_help
        )(function)

    return decorate


def output_option(what: str) -> Callable[[F], F]:
    """--output/-o FILE, for the commands whose report can go to a file."""
    return click.option(
        "--output",
        "-o",
        type=click.Path(path_type=Path),
        callback=_at,
        help=f"Write the {what} to FILE instead of standard output.",
    )


def format_option(function: F, formats: tuple[Format, ...] = REPORT_FORMATS) -> F:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice([f.value for f in formats]),
        default=Format.TABLE.value,
        show_default=True,
        callback=_format,
        help="table: for people; markdown: paste-ready GitHub text; json: stable keys for scripts"
        + ("; mermaid: the migration diagram alone." if Format.MERMAID in formats else "."),
    )(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="stager")
@click.option(
    "-C",
    "repo_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    metavar="PATH",
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
    -C, --rules and -v may also follow the command (`stager analyze -v`).
    """
    if verbose:
        _log_to_stderr()
    ctx.obj = GlobalOptions(repo_path, rules_path)


class _StagerCommand(click.Command):
    """A subcommand whose unknown option says which command has it, when one does."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as error:
            group = ctx.parent.command if ctx.parent else None
            if not error.possibilities and isinstance(group, click.Group):
                owners = [
                    f"`stager {name}`"
                    for name, command in group.commands.items()
                    if any(error.option_name in param.opts for param in command.params)
                ]
                if owners:
                    error.message += f": {error.option_name} is an option of {' and '.join(owners)}"
            raise


cli.command_class = _StagerCommand


def _global_again(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """-C, --rules, -v after the command: as if they stood before it (git takes -c so).

    Eager, so -C is read before any path option of the command is joined to it;
    a second -C is relative to the first, as git's are.
    """
    if value is None or value is False:
        return
    options = ctx.find_object(GlobalOptions)
    assert options is not None  # the group's callback runs first
    if param.name == "repo_path_again":
        ctx.obj = replace(options, repo_path=options.repo_path / value)
    elif param.name == "rules_again":
        ctx.obj = replace(options, rules=value)
    else:
        _log_to_stderr()


def _global_options_again() -> list[click.Parameter]:
    """The group's own options, again for every command (hidden: `stager --help` lists them)."""
    common: dict[str, Any] = {"is_eager": True, "expose_value": False, "callback": _global_again}
    return [
        click.Option(
            ["-C", "repo_path_again"],
            type=click.Path(file_okay=False, path_type=Path),
            metavar="PATH",
            hidden=True,
            help="Same as `stager -C PATH COMMAND`.",
            **common,
        ),
        click.Option(
            ["--rules", "rules_again"],
            type=click.Path(dir_okay=False, path_type=Path),
            hidden=True,
            help="Same as `stager --rules FILE COMMAND`.",
            **common,
        ),
        click.Option(
            ["-v", "--verbose", "verbose_again"],
            is_flag=True,
            default=None,
            hidden=True,
            help="Same as `stager -v COMMAND`.",
            **common,
        ),
    ]


@cli.command(short_help="Risk table, migration summary, findings and phases of the branch.")
@branch_options
@format_option
@output_option("report")
@click.option(
    "--fail-on",
    type=click.Choice(Risk.names()),
    callback=_risk,
    help="Exit 4 when a finding at or above this risk exists (for CI).",
)
def analyze(**params: Any) -> NoReturn:
    """Risk table, Alembic migration summary, findings and proposed phases of the branch."""
    from stager.commands import analyze as command

    _run(command.AnalyzeOptions, command.run, **params)


@cli.command(short_help="Every file's phase, why it is there, and what each phase needs.")
@branch_options
@functools.partial(format_option, formats=(*REPORT_FORMATS, Format.MERMAID))
@click.option(
    "--write",
    "write",
    type=click.Path(path_type=Path),
    metavar="FILE",
    callback=_at,
    help="Also write the editable plan file (e.g. stager-plan.toml) that split and open-pr use.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail, listing each conflict, when the rules put a file before what it needs "
    "(default: move it later and say why).",
)
@output_option("plan")
@click.option(
    "--force",
    is_flag=True,
    help="With --write: replace the plan file even when it was edited since stager wrote it.",
)
def plan(**params: Any) -> NoReturn:
    """The phases with every file, why it is there, and what each phase depends on.

    `--format markdown` is the full staging document (risk table, per phase
    what it includes and excludes, database impact, rollback, PR title,
    verification commands); `--format mermaid` its migration diagram alone.
    """
    from stager.commands import plan as command

    if params["force"] and params["write"] is None:
        raise click.UsageError(
            "--force goes with --write FILE: add --write stager-plan.toml, or leave out --force"
        )
    _run(command.PlanOptions, command.run, **params)


@cli.command(short_help="Check revision files against the migration risk rules (no git).")
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice([*(f.value for f in Format), *CI_FORMATS]),
    default=Format.TABLE.value,
    show_default=True,
    help="table, markdown, json as for every command; sarif: SARIF 2.1.0 for GitHub code "
    "scanning; github: workflow annotations (::error file=…,line=…::) on the pull request.",
)
@click.option(
    "--fail-on",
    type=click.Choice(Risk.names()),
    default=Risk.HIGH.label,
    show_default=True,
    callback=_risk,
    help="Exit 4 when a finding at or above this risk exists.",
)
def lint(**params: Any) -> NoReturn:
    """Check Alembic revision files against the migration risk rules (docs/rules.md).

    PATH: revision files or folders (a versions folder, or a project whose
    alembic.ini names them); default: the current folder (-C). No git needed.
    """
    from stager.commands import lint as command

    _run(command.LintOptions, command.run, **params)


@cli.command(short_help="Build a realistic demo branch, then analyze, split and verify it.")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def demo(options: GlobalOptions, directory: Path | None) -> None:
    """Build a realistic monolithic branch, then analyze, split and verify it.

    DIRECTORY must be empty or new (default: a new temporary folder); the
    markdown report is written next to it.
    """
    with error_handler():
        from stager.commands import demo as command

        # -C PATH: a relative DIRECTORY is relative to PATH, as for git -C.
        code = command.run(options.repo_path / directory if directory else None, options.rules_path)
    raise SystemExit(code)


@cli.command(
    "open-pr", short_help="Push the phase branches and open or update their pull requests."
)
@branch_options
@format_option
@phase_options("Only phase N.", "Every phase that has files.")
@click.option(
    "--remote",
    default="origin",
    show_default=True,
    metavar="NAME",
    help="Git remote to push the phase branches to; its URL names the GitHub repository.",
)
@click.option(
    "--github-repo",
    metavar="OWNER/NAME",
    help="GitHub repository, instead of [github] repo or the remote's URL.",
)
@click.option("--draft", is_flag=True, help="Open new pull requests as drafts.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Render every title and body and list the push and API calls; no network.",
)
@plan_file_option("Plan file the split followed (default: stager-plan.toml, if any).")
def open_pr(all_phases: bool, **params: Any) -> NoReturn:
    """Push the phase branches and open or update one GitHub pull request per phase.

    Stacked: each pull request's base is the previous phase's branch. Re-running
    updates titles, bases and the generated part of each body, and writes
    nothing when nothing changed. Token: GITHUB_TOKEN, GH_TOKEN or the gh CLI.
    """
    if (params["phase"] is None) == (not all_phases):
        raise click.UsageError("pass exactly one of --phase N and --all")
    from stager.commands import open_pr as command

    _run(command.OpenPrOptions, command.run, **params)


@cli.command(
    "sync", short_help="After merges: rebuild the phases left on the base, push, retarget."
)
@branch_options
@format_option
@click.option(
    "--remote",
    default="origin",
    show_default=True,
    metavar="NAME",
    help="Git remote the base is fetched from and the phase branches are pushed to.",
)
@click.option(
    "--github-repo",
    metavar="OWNER/NAME",
    help="GitHub repository, instead of [github] repo or the remote's URL.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show the rebuild from the base as last fetched; no fetch, no push, no GitHub call.",
)
@plan_file_option("Plan file the split followed (default: stager-plan.toml, if any).")
def sync(**params: Any) -> NoReturn:
    """Bring the stack up to date after phases merged or the base moved.

    Fetches the base, tells the merged phases (merge commit, squash or rebase),
    rebuilds the phases left onto the base's tip (re-chained onto its Alembic
    head), pushes them atomically with leases, retargets and refreshes the open
    pull requests, then deletes the merged phase branches no pull request is
    based on. A second run writes nothing. See docs/sync.md.
    """
    from stager.commands import sync as command

    _run(command.SyncOptions, command.run, **params)


@cli.command(short_help="Write one branch per phase; the checkout is never touched.")
@branch_options
@format_option
@phase_options("Build phase N.", "Build every phase that has files.")
@click.option("--undo", is_flag=True, help="Restore the branches the last split changed, and stop.")
@click.option(
    "--strategy",
    type=click.Choice(["auto", "cherry-pick", "patch"]),
    default="auto",
    show_default=True,
    help="cherry-pick: replay the original commits, limited to the phase; patch: one commit "
    "of the phase's changes; auto: cherry-pick where it gives exactly the planned tree.",
)
@click.option(
    "--layout",
    type=click.Choice(["stacked", "independent"]),
    default="stacked",
    show_default=True,
    help="stacked: phase N starts from phase N-1; independent: every phase from the merge base.",
)
@click.option(
    "--onto",
    metavar="REF",
    help="Start from REF with git's 3-way merge. Default: the base's tip when the base moved "
    "since the merge base (--onto BASE says so explicitly), else the merge base.",
)
@click.option(
    "--from-merge-base",
    is_flag=True,
    help="Start from the merge base even when the base moved (merging phase 1 may then give "
    "the base two Alembic heads: the output warns).",
)
@click.option("--dry-run", is_flag=True, help="Show branches, commits and rewrites; write nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace the phase branches an earlier split made (their old tips are kept under "
    "refs/stager/backup/); never a branch stager did not create.",
)
@click.option(
    "--rechain-broken",
    is_flag=True,
    help="Re-chain the branch's own broken Alembic graph (two heads, a cycle, a dangling "
    "down_revision) as the plan does; without it such a branch is refused, naming the "
    "re-chainings.",
)
@click.option(
    "-S",
    "--gpg-sign/--no-gpg-sign",
    "sign",
    default=None,
    help="Sign the commits (default: commit.gpgsign).",
)
@plan_file_option(
    "Plan file to follow (default: stager-plan.toml at the top of the work tree, if any)."
)
def split(all_phases: bool, strategy: str, layout: str, **params: Any) -> NoReturn:
    """One branch per phase, named by [split] branch (default stage/{number}-{name}).

    Built with git plumbing: the work tree, index, HEAD and stash are never
    touched, and all branches move in one transaction (or none do).
    """
    if [params["phase"] is not None, all_phases, params["undo"]].count(True) != 1:
        raise click.UsageError("pass exactly one of --phase N, --all and --undo")
    if params["undo"] and params["dry_run"]:
        raise click.UsageError(
            "--undo has no --dry-run: `git show refs/stager/record/BRANCH` shows what it restores"
        )
    if params["onto"] is not None and params["from_merge_base"]:
        raise click.UsageError(
            "--onto REF and --from-merge-base name two different starts: pass one of them"
        )
    from stager.branches.split_types import Layout, Strategy
    from stager.commands import split as command

    _run(
        command.SplitCommandOptions,
        command.run,
        strategy=Strategy(strategy),
        layout=Layout(layout),
        **params,
    )


@cli.command(short_help="Prove the split: plan, nothing lost, Alembic heads, compiling.")
@branch_options
@format_option
@phase_options("Only phase N.", "Every phase (the default).")
@click.option(
    "--check",
    "check",
    metavar="CMD",
    help="Run CMD (a shell command) in a temporary worktree of each phase; it must pass. "
    "It gets PATH, HOME, the locale, TMPDIR, VIRTUAL_ENV, PYTHONPATH and a few more, "
    "not the rest of the environment (no tokens); GitHub tokens are redacted from its output.",
)
@click.option(
    "--check-env",
    "check_env",
    metavar="NAME",
    multiple=True,
    help="Also pass environment variable NAME to the --check command (repeatable).",
)
@click.option(
    "--database",
    is_flag=True,
    help="Also run every phase's migrations on a real, throwaway PostgreSQL: upgrade head, "
    "downgrade to the previous phase, upgrade again, and compare the end schema with head's. "
    "This RUNS THE PROJECT'S OWN CODE (its Alembic env.py and revision files) on your machine.",
)
@click.option(
    "--database-url",
    "database_url",
    metavar="URL",
    help="With --database: use the PostgreSQL server of URL instead of a throwaway one; stager "
    "creates a fresh database there and drops it afterwards, and touches no other. Refused "
    "when the migrations change roles, tablespaces, databases or ALTER SYSTEM.",
)
@click.option(
    "--allow-cluster-changes",
    "allow_cluster_changes",
    is_flag=True,
    help="With --database-url: run migrations that change the whole server (roles, "
    "tablespaces, other databases, ALTER SYSTEM) all the same.",
)
@plan_file_option("Plan file the split followed (default: stager-plan.toml, if any).")
def verify(all_phases: bool, **params: Any) -> NoReturn:
    """Prove the phase branches: plan, nothing lost, Alembic heads, compiling, --check.

    With --database, also prove them on a real PostgreSQL, which runs the
    project's own Alembic code. Exit 4 when a check fails (1 when something
    stops the checks from running).
    """
    if params["phase"] is not None and all_phases:
        raise click.UsageError("pass --phase N or --all, not both")
    if params["database_url"] is not None and not params["database"]:
        raise click.UsageError("--database-url names the server for --database: add --database")
    if params["allow_cluster_changes"] and params["database_url"] is None:
        raise click.UsageError(
            "--allow-cluster-changes is for a server of --database-url: add --database-url "
            "(a throwaway server may always be changed)"
        )
    if params["database"] and params["phase"] is not None:
        raise click.UsageError(
            "--database runs every phase in order, each from where the previous one left "
            "off: leave out --phase"
        )
    if params["check_env"] and params["check"] is None:
        raise click.UsageError("--check-env passes variables to the --check command: add --check")
    from stager.commands import verify as command

    _run(command.VerifyCommandOptions, command.run, **params)


for _command in cli.commands.values():
    _command.params[:0] = _global_options_again()


@cli.command(short_help="The stack at a glance, and the one command to run next.")
@click.option(
    "--base",
    metavar="REF",
    help="Branch the phases merge into. Default: the base the split used.",
)
@click.option(
    "--head",
    metavar="REF",
    help="The feature branch whose split to show (origin/NAME in a fresh clone). Default: HEAD.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice([Format.TABLE.value, Format.JSON.value]),
    default=Format.TABLE.value,
    show_default=True,
    callback=_format,
    help="table: for people; json: stable keys for scripts.",
)
@click.option(
    "--remote",
    default="origin",
    show_default=True,
    metavar="NAME",
    help="Git remote the phase branches are pushed to; its URL names the GitHub repository.",
)
@click.option(
    "--github-repo",
    metavar="OWNER/NAME",
    help="GitHub repository, instead of [github] repo or the remote's URL.",
)
def status(**params: Any) -> NoReturn:
    """Where each phase of the last split stands, and the one command to run next.

    Reads the split's record (refs/stager/record/<branch>), git, and GitHub
    read-only when a token exists (GITHUB_TOKEN, GH_TOKEN or the gh CLI);
    without one the pull requests' state is unknown. Writes nothing.
    """
    from stager.commands import status as command

    _run(command.StatusOptions, command.run, **params)


def main() -> None:
    """Console-script entry point.

    click runs non-standalone so that Ctrl-C while it parses exits 130 (not
    click's "Aborted!" and 1) and a closed pipe exits quietly, like git.
    SIGTERM (CI cancelling a job) and SIGHUP (a closed terminal) stop stager
    as Ctrl-C does: every temporary worktree and folder is removed first.
    """
    # A run is short and its objects mostly live to the end (facts, trees, texts):
    # what is loaded now is never garbage, and fewer young-object collections of
    # many thousand facts save ~10% of a large analysis.
    gc.freeze()
    gc.set_threshold(20_000, 50, 50)
    with stop_like_ctrl_c(), error_handler():
        try:
            code = cli.main(prog_name="stager", standalone_mode=False)
        except click.exceptions.Abort as abort:
            # click turns every KeyboardInterrupt into Abort: give back SIGTERM's own
            cause = abort.__cause__ or abort.__context__
            raise cause if isinstance(cause, KeyboardInterrupt) else KeyboardInterrupt from None
        except click.ClickException as error:
            error.show()
            raise SystemExit(error.exit_code) from None
        sys.stdout.flush()  # inside the handler: a reader that went away is no crash
    raise SystemExit(code if isinstance(code, int) else 0)
