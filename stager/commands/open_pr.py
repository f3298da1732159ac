"""`stager open-pr`: push the phase branches, open or update one pull request per phase.

The branches are the ones `stager split` built; this command never builds or
changes a branch locally. ``--dry-run`` renders every title and body and lists
the git push and the API calls a real run would make, without any network.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stager.analysis import Analysis, analyze_branch, chosen_plan
from stager.branches.journal import Settle, settle
from stager.branches.merged import merged_content
from stager.branches.record import (
    RECORD_PREFIX,
    StoredRecord,
    built_chains,
    built_record,
    open_findings,
)
from stager.branches.split import empty_note
from stager.branches.split_types import Layout
from stager.branches.sync_plan import database_warnings, refuse_stale_record
from stager.errors import GitError, StagerError
from stager.findings import Finding
from stager.git.history import is_ancestor
from stager.git.object_ids import object_ids
from stager.git.refs import read_refs
from stager.git.repository import Repository
from stager.github.context import PhaseView, PullLink, StackPhase, phase_views, pull_context
from stager.github.pull_requests import (
    ClosedPull,
    PullOutcome,
    PullPlan,
    describe_calls,
    risk_label,
)
from stager.github.push import BranchPush, plan_pushes, push_arguments, remote_url
from stager.github.pygithub_client import ClientSettings
from stager.github.remote_url import (
    GitHubConfigError,
    GitHubTarget,
    RemoteUrl,
    parse_remote_url,
    resolve_target,
)
from stager.github.render import render_body, render_title, template_folders
from stager.plan.phase import Phase
from stager.render.formats import SCHEMA_VERSION, Format
from stager.render.progress import Progress
from stager.rules.settings import Rules
from stager.types import Announce, Sha

PLACEHOLDER_URL = "https://github.invalid/OWNER/NAME/pull/0"
"""The URL of every pull request when the templates are checked before a run."""

CLIENT_SETTINGS = ClientSettings()
"""How the GitHub client waits and retries (tests make it quicker)."""


@dataclass(frozen=True)
class OpenPrOptions:
    repo_path: Path
    rules_path: Path | None
    base: str | None
    head: str | None
    phase: int | None  # None: every phase (--all)
    remote: str
    github_repo: str | None
    draft: bool
    dry_run: bool
    output_format: Format
    plan_path: Path | None = None  # --plan FILE; default: stager-plan.toml if present


@dataclass(frozen=True)
class Stale:
    """An open pull request of a phase that has no file any more (fields: the JSON keys)."""

    phase: int
    branch: str
    number: int
    url: str

    @property
    def note(self) -> str:
        return (
            f"#{self.number} ({self.branch}) is still open, but phase {self.phase} has no "
            "file any more: close it yourself once its work is in the other pull requests "
            "(stager never closes a pull request or deletes a branch)"
        )


@dataclass(frozen=True)
class Prepared:
    """Everything a run needs, computed without network."""

    repo: Repository
    analysis: Analysis
    views: tuple[PhaseView, ...]
    layout: Layout
    base_branch: str
    head_name: str
    target: GitHubTarget | None  # None only in a dry run that cannot tell the repository
    folders: tuple[Path, ...]
    plans: tuple[PullPlan, ...]
    push_tips: tuple[tuple[str, Sha], ...]  # (branch, sha) of every branch to push
    # --all: branches of the rules' phases that have no file now (an open PR there is stale)
    empty_branches: tuple[tuple[int, str], ...] = ()
    # a dry run without a target: why (what a real run would stop with)
    target_error: str | None = None
    # a dry run without the git remote: the error a real run stops at first
    remote_error: str | None = None
    notes: tuple[str, ...] = ()  # the phases skipped as empty

    @property
    def repository(self) -> str:
        return str(self.target.repo) if self.target else "OWNER/NAME"

    @property
    def selected(self) -> set[int]:
        """The phases whose pull requests this run opens or updates."""
        return {plan.number for plan in self.plans if plan.selected}

    def render(self, number: int, links: Mapping[int, PullLink]) -> tuple[str, str]:
        """Title and generated body of phase ``number``'s pull request."""
        view = next(view for view in self.views if view.number == number)
        context = pull_context(
            self.analysis,
            self.views,
            view,
            links,
            repository=self.repository,
            base_branch=self.base_branch,
            head_name=self.head_name,
            layout=self.layout,
        )
        return render_title(context, self.folders), render_body(context, self.folders)

    def in_base(self, sha: str) -> bool:
        """Whether the base branch (as analysed) already has commit ``sha`` (unknown: no)."""
        try:
            return is_ancestor(self.repo, Sha(sha), self.analysis.refs.base)
        except GitError:  # a commit this clone never fetched
            return False

    def check_templates(self) -> None:
        """Render every selected title and body once, so a template error stops the run
        before anything is pushed or any pull request is opened.

        Twice: without any pull request link (as a first run starts) and with a
        placeholder link for every phase (as a later run, or the end of a first one,
        renders), so both sides of ``{% if entry.pr_number %}`` are exercised.
        """
        placeholders = {view.number: PullLink(0, PLACEHOLDER_URL) for view in self.views}
        for plan in self.plans:
            if plan.selected:
                self.render(plan.number, {})
                self.render(plan.number, placeholders)


def run(options: OpenPrOptions) -> int:
    """Push the phase branches and create or update their pull requests (or show how)."""
    repo = Repository(options.repo_path)
    settle(repo, Settle.REPORT)  # half-moved branches from a killed split are no stack to push
    progress = Progress.for_output(options.output_format)
    with progress.steps() as announce:
        # Merged phases are the base's: no pull request, no push for them (after sync too).
        analysis = analyze_branch(
            repo, options.base, options.head, options.rules_path, merged_content, announce
        )
    for warning in analysis.warnings:
        print(f"stager: warning: {warning}", file=sys.stderr)
    prepared = prepare(repo, analysis, options)
    if options.dry_run:
        _dry_run(options, prepared)
    else:
        with progress.steps() as announce:
            show_outcomes = _open(options, prepared, announce)
        show_outcomes()  # once the progress is gone from the terminal
    return 0


def prepare(repo: Repository, analysis: Analysis, options: OpenPrOptions) -> Prepared:
    """The stack, its branches and bases, the GitHub target and the plans; no network."""
    plan = chosen_plan(repo, analysis, options.plan_path)
    planned = plan.phases
    # An empty phase gets no PR; one that ships only what stager derived (an expand revision) does.
    phases = [phase for phase in planned if phase.files or phase.derived]
    if not phases:
        raise StagerError(
            "no phase has any file: there is no pull request to open",
            "check the branch with `stager analyze`",
        )
    branches = {
        phase.number: analysis.rules.split.branch_name(phase.number, phase.name) for phase in phases
    }
    tips = _local_tips(repo, [branches[phase.number] for phase in phases])
    head_full = repo.symbolic_full_name(analysis.refs.head_ref) or ""
    head_name = (
        head_full.removeprefix("refs/heads/")
        if head_full.startswith("refs/heads/")
        else analysis.refs.head_ref
    )
    _refuse_outdated(repo, analysis, phases, head_name)
    layout = detect_layout(repo, [tips[branches[phase.number]] for phase in phases])
    base_branch = remote_branch_name(repo, analysis.refs.base_ref, options.remote)
    stored = built_record(repo, analysis.refs.head_ref, analysis.refs.head, tips)
    # A phase the base already held when split built it (no record says it was merged):
    # GitHub refuses its pull request ("No commits between"), so it gets none, with a note.
    empty = _empty_phases(repo, stored, base_branch)
    if options.phase in empty:
        raise StagerError(empty[options.phase], "open the other phases (`open-pr --all`)")
    phases = [phase for phase in phases if phase.number not in empty]
    if not phases:
        raise StagerError(
            "; ".join(empty.values()) + ": there is no pull request to open",
            f"check the branch with `stager analyze --base {analysis.refs.base_ref}`",
        )
    selected = _selected(phases, options.phase)
    # What split built wins over the plan: the parents as written, the findings left open.
    chains = built_chains(stored, phases, analysis.migrations.base.heads())
    findings: Sequence[Finding] = analysis.findings
    if stored is not None:
        findings = open_findings(stored.record, analysis.findings, analysis.refs.base)
    stack = _stack(phases, branches, base_branch, layout)
    views = tuple(
        phase_views(
            analysis,
            stack,
            chains,
            findings,
            splits=plan.splits,
            partials=plan.partials,
            database_warnings=database_warnings(repo, analysis.refs.head_ref, stored),
        )
    )
    target_error = remote_error = None
    try:
        remote = parse_remote_url(remote_url(repo, options.remote))
    except StagerError as error:
        if not options.dry_run:
            raise
        # A dry run needs no network, so no remote either: show what --github-repo or
        # [github] repo can tell, and the error a real run would stop at.
        remote, remote_error = RemoteUrl(f"no remote {options.remote!r}", None, None), str(error)
    try:
        target: GitHubTarget | None = resolve_target(
            options.remote,
            remote,
            repo_option=options.github_repo,
            configured_repo=analysis.rules.github.repo,
            configured_api_url=analysis.rules.github.api_url,
            env=os.environ,
        )
    except GitHubConfigError as error:
        if not options.dry_run:
            raise
        target = None  # a dry run still shows the bodies, and the error a real run would stop at
        target_error = str(error)
    # Stacked: a pull request's base is the previous phase's branch, so it goes up too.
    top = max(selected)
    pushed = [
        phase.number
        for phase in phases
        if phase.number in selected or (layout is Layout.STACKED and phase.number < top)
    ]
    prepared = Prepared(
        repo=repo,
        analysis=analysis,
        views=views,
        layout=layout,
        base_branch=base_branch,
        head_name=head_name,
        target=target,
        folders=template_folders(repo.work_tree),
        plans=tuple(_plan(analysis.rules, view, selected) for view in views),
        # the record goes with the branches, in the same atomic push
        push_tips=tuple((branches[number], tips[branches[number]]) for number in pushed)
        + (((stored.ref, stored.commit),) if stored is not None else ()),
        empty_branches=tuple(
            (rule.number, analysis.rules.split.branch_name(rule.number, rule.name))
            for rule in analysis.rules.phases
            if options.phase is None and rule.number not in branches
        ),
        target_error=target_error,
        remote_error=remote_error,
        notes=tuple(empty.values()),
    )
    prepared.check_templates()  # a template typo stops here: before any push or API call
    return prepared


def _open(options: OpenPrOptions, prepared: Prepared, announce: Announce) -> Callable[[], None]:
    """Push and open or update the pull requests; what prints the outcome."""
    from stager.github.auth import find_token
    from stager.github.pull_requests import after_merges, look_up, sync_pulls
    from stager.github.push import push_stack, recorded_shas, remote_shas
    from stager.github.pygithub_client import PyGithubClient

    target = prepared.target
    assert target is not None  # only a dry run goes on without one
    records = [(ref, sha) for ref, sha in prepared.push_tips if ref.startswith(RECORD_PREFIX)]
    for ref, sha in records:  # another clone's newer record: say so, not a lease failure
        on_remote = remote_shas(prepared.repo, options.remote, [ref]).get(ref)
        pushed = recorded_shas(prepared.repo, options.remote, [ref]).get(ref)
        name = ref.removeprefix(RECORD_PREFIX)
        refuse_stale_record(prepared.repo, name, options.remote, sha, on_remote, pushed)
    announce(f"connecting to {target.host}")
    token = find_token(target.host)
    client = PyGithubClient(target, token, CLIENT_SETTINGS)  # checks token and access first
    # Before the push: a merged phase's branch is not pushed again, and the next
    # phase's pull request goes where the merged one went.
    lookup = look_up(
        client,
        prepared.plans,
        prepared.in_base,
        lambda branch: not remote_shas(prepared.repo, options.remote, [branch]),
    )
    plans = after_merges(prepared.plans, lookup)
    merged = lookup.merged_branches
    tips = tuple((branch, sha) for branch, sha in prepared.push_tips if branch not in merged)
    announce(f"pushing to {options.remote}")
    pushes = push_stack(prepared.repo, options.remote, tips)  # the record notes the push
    # Stacked --phase N pushes the phases below it too: an open pull request whose
    # branch just moved is brought up to date as well (base and description), or it
    # would describe, and be based for, what its branch no longer is.
    moved = {push.branch for push in pushes if push.needed}
    plans = tuple(
        dataclasses.replace(plan, selected=True)
        if plan.branch in moved and plan.number in lookup.open
        else plan
        for plan in plans
    )
    announce("opening or updating the pull requests")
    outcomes = sync_pulls(client, plans, prepared.render, draft=options.draft, lookup=lookup)
    stale = [
        Stale(number, branch, pull.number, pull.url)
        for number, branch in prepared.empty_branches
        if (pull := client.find_open_pull(branch)) is not None
    ]
    closed = [pull for pull in lookup.closed.values() if pull.phase in prepared.selected]
    local = dict(prepared.push_tips)
    changed = [
        f"phase {pull.phase}'s branch {pull.branch} has changed since #{pull.number} was "
        f"merged ({pull.head_sha[:12]} → {local[pull.branch][:12]}): those changes are in no "
        f"pull request's description; pull {prepared.base_branch} from {options.remote}, run "
        "`stager split --all --force`, then open-pr again (the new work gets its own "
        "pull request)"
        for pull in closed
        if pull.merged and pull.head_sha and local.get(pull.branch, pull.head_sha) != pull.head_sha
    ]
    return partial(
        _print_outcomes,
        options,
        target,
        token.source,
        pushes,
        outcomes,
        stale,
        closed,
        [*prepared.notes, *changed],
    )


def _empty_phases(repo: Repository, stored: StoredRecord | None, base: str) -> dict[int, str]:
    """The recorded phases that add nothing to their start (no commit, or one with the
    start's tree), each with what split said of it."""
    if stored is None:
        return {}
    phases = stored.record.phases
    trees = object_ids(repo, [f"{c}^{{tree}}" for p in phases for c in (p.commit, p.parent)])

    def tree(commit: Sha) -> Sha | None:
        found = trees[f"{commit}^{{tree}}"]
        return found.sha if found is not None else None

    return {
        phase.number: f"phase {phase.number} ({phase.branch}) is {empty_note(base, phase.files)}"
        for phase in phases
        if phase.commit == phase.parent or tree(phase.commit) == tree(phase.parent)
    }


def _selected(phases: Sequence[Phase], number: int | None) -> set[int]:
    numbers = [phase.number for phase in phases]
    if number is None:
        return set(numbers)
    if number not in numbers:
        raise StagerError(
            f"phase {number} has no files, or does not exist",
            f"pick one of the phases with files: {', '.join(map(str, numbers))}",
        )
    return {number}


def _local_tips(repo: Repository, branches: Sequence[str]) -> dict[str, Sha]:
    """The tip of every phase branch (one ``for-each-ref``); an error names the missing ones."""
    refs = {branch: f"refs/heads/{branch}" for branch in branches}
    found = read_refs(repo, refs.values())
    tips = {branch: found[ref] for branch, ref in refs.items() if ref in found}
    missing = [branch for branch in branches if branch not in tips]
    if missing:
        raise StagerError(
            f"phase branch{'es' if len(missing) > 1 else ''} "
            f"{', '.join(repr(b) for b in missing)} "
            f"do{'' if len(missing) > 1 else 'es'} not exist in this repository",
            "run `stager split --all` first: it builds one branch per phase",
        )
    return tips


def _refuse_outdated(
    repo: Repository, analysis: Analysis, phases: Sequence[Phase], head_name: str
) -> None:
    """Stop when the phase branches no longer hold the branch's current changes.

    A commit on the branch after `stager split` changes the plan (and so the
    bodies) but not the phase branches: pushing them would describe files they
    lack. `stager verify`'s "nothing lost" check tells: stacked, the last phase's
    tree is head's except the recorded re-chainings; independent, every changed
    path is in one phase branch with head's content.
    """
    from stager.branches.verify import verify_split

    lossless = verify_split(
        repo, analysis, phases, branch_template=analysis.rules.split.branch
    ).lossless
    if not lossless.ok:
        raise StagerError(
            f"the phase branches do not match {head_name} "
            f"({analysis.refs.head[:12]}) any more: " + "; ".join(lossless.details),
            "run `stager split --all --force` first (the branch changed since the last split), "
            "then open-pr again",
        )


def detect_layout(repo: Repository, tips: Sequence[Sha]) -> Layout:
    """Stacked when each phase branch contains the previous one, else independent."""
    if all(is_ancestor(repo, before, after) for before, after in itertools.pairwise(tips)):
        return Layout.STACKED
    return Layout.INDEPENDENT


def remote_branch_name(repo: Repository, base_ref: str, remote: str) -> str:
    """The base as a branch name on the remote: ``main``, ``origin/main`` → ``main``."""
    full = repo.symbolic_full_name(base_ref)
    if full is not None and full.startswith("refs/heads/"):
        return full.removeprefix("refs/heads/")
    if full is not None and full.startswith("refs/remotes/"):
        rest = full.removeprefix("refs/remotes/")
        own = f"{remote}/"
        return rest.removeprefix(own) if rest.startswith(own) else rest.partition("/")[2]
    raise StagerError(
        f"the base {base_ref!r} is not a branch, so it cannot be a pull request's base",
        "pass the branch the work merges into with --base (e.g. --base main)",
    )


def _stack(
    phases: Sequence[Phase], branches: Mapping[int, str], base_branch: str, layout: Layout
) -> list[StackPhase]:
    """Each phase with its branch and its base: stacked, the previous phase's branch."""
    previous = [base_branch, *(branches[phase.number] for phase in phases)]
    stacked = layout is Layout.STACKED
    return [
        StackPhase(phase, branches[phase.number], previous[index] if stacked else base_branch)
        for index, phase in enumerate(phases)
    ]


def _plan(rules: Rules, view: PhaseView, selected: set[int]) -> PullPlan:
    categories = [category.name for category in view.categories]
    return PullPlan(
        number=view.number,
        name=view.name,
        branch=view.branch,
        base=view.base,
        label=risk_label(view.risk),
        reviewers=rules.github.reviewers_for(categories),
        team_reviewers=rules.github.team_reviewers_for(categories),
        selected=view.number in selected,
    )


# --- output ---------------------------------------------------------------------


def _dry_run(options: OpenPrOptions, prepared: Prepared) -> None:
    """Print every title and body, and the push and API calls a real run would make."""
    target = prepared.target
    rendered = [
        (view, *prepared.render(view.number, {}))
        for view in prepared.views
        if view.number in prepared.selected
    ]
    pushes = plan_pushes(prepared.repo, options.remote, prepared.push_tips, online=False)
    push = push_arguments(options.remote, pushes)
    owner = target.repo.owner if target else "OWNER"
    calls = describe_calls(prepared.plans, prepared.repository, owner, draft=options.draft)
    if options.output_format is Format.JSON:
        data = {
            "dry_run": True,
            "remote": options.remote,
            "repository": str(target.repo) if target else None,
            "api_url": target.api_url if target else None,
            "github_error": prepared.target_error,
            "remote_error": prepared.remote_error,
            "push": ["git", *push] if push else [],
            "calls": calls,
            "pull_requests": [
                {
                    "phase": view.number,
                    "name": view.name,
                    "branch": view.branch,
                    "base": view.base,
                    "number": None,
                    "url": None,
                    "action": "dry-run",
                    "title": title,
                    "body": body,
                    "notes": [],  # a real run's notes come from GitHub (an existing pull request)
                }
                for view, title, body in rendered
            ],
            "notes": list(prepared.notes),
            "schema_version": SCHEMA_VERSION,
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if options.output_format is Format.MARKDOWN:  # paste-ready: the pull requests themselves
        bodies = [f"# {title}\n\n{body.rstrip()}\n" for _view, title, body in rendered]
        print("\n---\n\n".join(bodies), end="")
        return
    lines = ["# stager open-pr --dry-run: nothing was pushed and GitHub was not contacted", ""]
    lines += [*(f"note: {note}" for note in prepared.notes), *([""] if prepared.notes else [])]
    if prepared.remote_error is not None:
        lines += [f"> a real run would stop here: {prepared.remote_error}", ""]
    if target is None:
        problem = (
            prepared.target_error
            or "the GitHub repository is unknown — pass --github-repo OWNER/NAME"
        )
        lines += [f"> a real run would stop here: {problem}", ""]
    else:
        lines += [f"GitHub: {target.repo} at {target.api_url} ({target.repo_source})", ""]
    for view, title, body in rendered:
        lines += [
            f"## Phase {view.number}: {view.branch} → {view.base}",
            "",
            f"Title: {title}",
            "",
            body.rstrip("\n"),
            "",
        ]
    lines += ["## Would run", "", "```"]
    lines.append(" ".join(["git", *push]) if push else "# git push: nothing to push")
    lines += [*calls, "```"]
    print("\n".join(lines))


def _print_outcomes(
    options: OpenPrOptions,
    target: GitHubTarget,
    token_source: str,
    pushes: Sequence[BranchPush],
    outcomes: Sequence[PullOutcome],
    stale: Sequence[Stale] = (),
    closed: Sequence[ClosedPull] = (),
    more_notes: Sequence[str] = (),
) -> None:
    pushed = [push.branch for push in pushes if push.needed]
    notes = [note for outcome in outcomes for note in outcome.notes]
    notes += [c.note for c in closed] + [s.note for s in stale] + list(more_notes)
    if options.output_format is Format.JSON:
        data = {
            "dry_run": False,
            "remote": options.remote,
            "repository": str(target.repo),
            "api_url": target.api_url,
            "pushed": pushed,
            "pull_requests": [dataclasses.asdict(outcome) for outcome in outcomes],
            "stale": [dataclasses.asdict(s) for s in stale],
            "closed": [
                {
                    "phase": c.phase,
                    "branch": c.branch,
                    "number": c.number,
                    "url": c.url,
                    "merged": c.merged,
                }
                for c in closed
            ],
            "notes": notes,
            "schema_version": SCHEMA_VERSION,
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif options.output_format is Format.MARKDOWN:
        print("\n".join(f"- [#{o.number} {o.title}]({o.url}) — {o.action}" for o in outcomes))
    else:
        lines = [
            f"GitHub: {target.repo} at {target.api_url} (token from {token_source})",
            f"Pushed to {options.remote} (atomic): {', '.join(pushed)}"
            if pushed
            else f"Phase branches already up to date on {options.remote}",
        ]
        lines += [
            f"  phase {o.phase} {o.branch} → {o.base}: #{o.number} {o.action}  {o.url}"
            for o in outcomes
        ]
        lines += [f"note: {note}" for note in notes]
        print("\n".join(lines))
        return
    for note in notes:
        print(f"stager: note: {note}", file=sys.stderr)
