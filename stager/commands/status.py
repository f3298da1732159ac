"""`stager status`: the stack at a glance, read-only: the record, git, and GitHub when it can.

The record of the branch's splits says what was built; git says what became of
each phase branch; GitHub, read-only and only with a token, says what became of
each pull request. Without a token, or when GitHub cannot be reached, the git
state is shown and the pull requests' state is "unknown": status never fails
for want of the network.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stager.branches.stack_state import PullInfo, StackStatus, read_stack, with_pulls
from stager.errors import StagerError
from stager.git.repository import Repository
from stager.github.auth import Token
from stager.github.pygithub_client import ClientSettings
from stager.github.remote_url import GitHubTarget
from stager.render.formats import Format
from stager.rules.project import PROJECT_RULES, load_project_rules
from stager.types import Sha

CLIENT_SETTINGS = ClientSettings(timeout=15, retries=2, throttle=False)
"""status only reads, one request at a time: no pause between them (GitHub asks for one
between writes), and a short wait, so a GitHub that does not answer costs seconds."""


@dataclass(frozen=True)
class StatusOptions:
    repo_path: Path
    rules_path: Path | None
    base: str | None
    head: str | None
    remote: str
    github_repo: str | None
    output_format: Format


def run(options: StatusOptions) -> int:
    """Print where the stack stands, and the one command to run next."""
    from stager.render.status import render_json, render_table

    repo = Repository(options.repo_path)
    head_ref = options.head or "HEAD"
    warnings: list[str] = []
    stack = read_stack(
        repo,
        head_ref,
        options.base,
        options.remote,
        lambda branches: _remote_tips(repo, options.remote, branches, warnings),
    )
    stack = _with_github(repo, stack, options, warnings)
    for warning in warnings:
        print(f"stager: warning: {warning}", file=sys.stderr)
    if options.output_format is Format.JSON:
        print(render_json(stack, pretty=sys.stdout.isatty()), end="")
    else:
        from stager.render.console import stdout_console

        render_table(stack, stdout_console())
    return 0


def _remote_tips(
    repo: Repository, remote: str, branches: Sequence[str], warnings: list[str]
) -> Mapping[str, Sha] | None:
    """The phase branches' tips on ``remote`` (one ``git ls-remote``); None when it fails."""
    from stager.git.remote import remote_names
    from stager.github.push import remote_shas

    if remote not in remote_names(repo):
        return None  # said once, where GitHub's state is: "no git remote named …"
    try:
        return remote_shas(repo, remote, branches)
    except StagerError as error:
        warnings.append(error.problem)  # the stack's note says what is shown instead
        return None


def _with_github(
    repo: Repository, stack: StackStatus, options: StatusOptions, warnings: list[str]
) -> StackStatus:
    """``stack`` with each phase's pull request, when GitHub can be read; else as it is,
    saying why the pull requests' state is unknown."""
    from stager.github.auth import AuthError, find_token
    from stager.github.push import remote_target

    rules = load_project_rules(
        options.rules_path, repo.work_tree, lambda: repo.read_path(stack.head, PROJECT_RULES)
    )
    try:
        target = remote_target(repo, options.remote, options.github_repo, rules.github)
    except StagerError as error:
        return with_pulls(repo, stack, {}, f"unknown: no GitHub repository ({error.problem})")
    try:
        token = find_token(target.host)
    except AuthError as error:  # no token, or one that cannot be sent: say which, and the fix
        return with_pulls(repo, stack, {}, f"unknown: {error.problem}; {error.fix}")
    try:
        pulls = _read_pulls(target, token, [phase.branch for phase in stack.phases])
    except StagerError as error:
        warnings.append(f"GitHub could not be read: {error.problem}")
        return with_pulls(repo, stack, {}, "unknown: GitHub could not be read")
    return with_pulls(repo, stack, pulls, f"read from {target.repo} at {target.api_url}")


def _read_pulls(
    target: GitHubTarget, token: Token, branches: Sequence[str]
) -> dict[str, PullInfo | None]:
    """Each branch's pull request: the open one, else the last closed one (reads only)."""
    from stager.github.pull_requests import phase_pull
    from stager.github.pygithub_client import PyGithubClient

    client = PyGithubClient(target, token, CLIENT_SETTINGS)
    pulls: dict[str, PullInfo | None] = {}
    for branch in branches:
        found = phase_pull(client, branch)
        if found is None:
            pulls[branch] = None
            continue
        pull, review = found.pull, found.review
        pulls[branch] = PullInfo(
            number=pull.number,
            url=pull.url,
            state=found.state,
            base=pull.base,
            head_sha=pull.head_sha,
            merge_commit=pull.merge_commit_sha,
            draft=pull.draft,
            review=review.decision if review else None,
            approved_by=review.approved_by if review else (),
            changes_requested_by=review.changes_requested_by if review else (),
            requested=review.requested if review else (),
        )
    return pulls
