"""`stager verify`: the checks of stager.branches.verify as a table; exit 4 when one fails."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from stager.analysis import Analysis, analyze_branch, chosen_plan
from stager.branches.journal import Settle, settle
from stager.branches.merged import merged_content
from stager.branches.record import built_record
from stager.branches.verify import Verification, verify_split
from stager.commands.database_proof import prove_on_database
from stager.commands.output import EXIT_FINDINGS
from stager.git.repository import Repository
from stager.render.console import stdout_console
from stager.render.database import (
    database_to_json,
    render_database_markdown,
    render_database_terminal,
)
from stager.render.formats import Format, json_text
from stager.render.progress import Progress
from stager.render.verify import render_markdown, render_terminal, verification_to_json
from stager.types import Announce, unannounced


@dataclass(frozen=True)
class VerifyCommandOptions:
    repo_path: Path
    rules_path: Path | None
    base: str | None = None
    head: str | None = None
    phase: int | None = None  # None: every phase
    check: str | None = None
    check_env: tuple[str, ...] = ()
    plan_path: Path | None = None
    output_format: Format = Format.TABLE
    database: bool = False  # also run the project's migrations on a real PostgreSQL
    database_url: str | None = None  # that server instead of a throwaway one
    allow_cluster_changes: bool = False  # let migrations change roles, … of database_url's server


def verify(options: VerifyCommandOptions) -> Verification:
    """Analyze the branch and check its phase branches."""
    return _verify(options)[1]


def _verify(
    options: VerifyCommandOptions, announce: Announce = unannounced
) -> tuple[Analysis, Verification]:
    repo = Repository(options.repo_path)
    settle(repo, Settle.REPORT)  # branches a killed split left half-moved are no split to verify
    base = options.base
    if base is None:  # the base the record says the branches were built on (a CI clone's
        # origin/HEAD may well be the feature branch itself)
        head_ref = options.head or "HEAD"
        found = built_record(repo, head_ref, repo.resolve(head_ref))
        base = found.record.base if found and repo.ref_exists(found.record.base) else None
    # Merged phases are the base's: the branches left are verified, not the ones merged.
    analysis = analyze_branch(
        repo, base, options.head, options.rules_path, merged_content, announce
    )
    phases = chosen_plan(repo, analysis, options.plan_path).phases
    return analysis, verify_split(
        repo,
        analysis,
        phases,
        branch_template=analysis.rules.split.branch,
        only=options.phase,
        check=options.check,
        check_env=options.check_env,
        announce=announce,
    )


def run(options: VerifyCommandOptions) -> int:
    """Print the verification; 4 when a check failed."""
    with Progress.for_output(options.output_format).steps() as announce:
        analysis, result = _verify(options, announce)
        proof = (
            prove_on_database(
                Repository(options.repo_path),
                analysis,
                result,
                options.database_url,
                options.allow_cluster_changes,
                # A database's steps take seconds each: every one is shown as it starts and ends.
                lambda message: announce(message, always=True),
            )
            if options.database
            else None
        )
    ok = result.ok and (proof is None or proof.ok)
    if options.output_format is Format.JSON:
        data = verification_to_json(result)
        if proof is not None:
            data["database"] = database_to_json(proof)
            data["ok"] = ok
        print(json_text(data, pretty=sys.stdout.isatty()), end="")
    elif options.output_format is Format.MARKDOWN:
        print(render_markdown(result), end="")
        if proof is not None:
            print(render_database_markdown(proof), end="")
    else:
        console = stdout_console()
        render_terminal(result, console)
        if proof is not None:
            console.print()
            render_database_terminal(proof, console)
    return 0 if ok else EXIT_FINDINGS
