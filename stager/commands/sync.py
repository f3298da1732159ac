"""`stager sync`: the stack's second week in one command.

Fetch the base; tell the merged phases from the record (any merge method); rebuild
the phases left onto the base's new tip, as ``split`` builds onto a base that moved
(re-chained onto the base's current Alembic head, backups under
``refs/stager/backup/``, one ref transaction, the checkout untouched); push them
with the record, atomically, with leases; retarget the open pull requests and
refresh their bodies; only then delete the merged phases' branches, never one an
open pull request is based on (GitHub would close that pull request).

Progress goes through :mod:`stager.render.progress`, on stderr (none in
``--format json`` outside a terminal). ``--dry-run`` neither fetches nor pushes nor
calls GitHub: it shows what the rebuild would be from the base as last fetched.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stager.analysis import (
    Analysis,
    MergedContent,
    MergedLookup,
    MergedPhase,
    analyze_branch,
    default_base_ref,
)
from stager.branches.merged import (
    MERGED,
    REVERTED,
    Confirm,
    branch_records,
    confirmed_by_pull,
    merged_content,
)
from stager.branches.record import (
    RECORD_PREFIX,
    RecordedPhase,
    SplitRecord,
    pushed_commits,
    read_record,
    record_name,
    record_ref,
)
from stager.branches.reviewer_commits import kept_commits, written_by_stager
from stager.branches.split_types import BuildStatus, KeptCommit, SplitResult
from stager.branches.sync_heads import heads_to_merge, rebuild_view
from stager.branches.sync_plan import (
    merged_branches,
    rechained,
    refuse_stale_record,
    refuse_unsettled,
)
from stager.commands import open_pr
from stager.commands.split import SplitCommandOptions, split
from stager.errors import GitError, StagerError
from stager.git import remote as git_remote
from stager.git.history import is_ancestor
from stager.git.refs import read_refs
from stager.git.repository import BranchRefs, Repository, TreeEntry
from stager.github.protocol import GitHubApi, PullRequest
from stager.github.push import recorded_shas, remote_shas
from stager.render.formats import SCHEMA_VERSION, Format
from stager.render.progress import Progress
from stager.rules.project import PROJECT_RULES, load_project_rules
from stager.rules.settings import Rules
from stager.types import Announce, RepoPath, Sha


@dataclass(frozen=True)
class SyncOptions:
    repo_path: Path
    rules_path: Path | None
    base: str | None
    head: str | None
    remote: str
    github_repo: str | None
    dry_run: bool
    output_format: Format
    plan_path: Path | None = None


@dataclass
class SyncReport:
    """What a run did (or, dry, would do); its fields are the JSON keys."""

    dry_run: bool
    remote: str
    base: str  # the base branch on the remote
    base_tip: str
    merged_phases: list[dict[str, Any]] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)  # the phases left, rebuilt
    pushed: list[str] = field(default_factory=list)
    pull_requests: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # merged branches not deleted, with why
    notes: list[str] = field(default_factory=list)


def run(options: SyncOptions) -> int:
    """Fetch, rebuild, push, retarget, delete; print what was done."""
    with Progress.for_output(options.output_format).steps() as announce:
        report = _sync(options, announce)
    _print(options, report)  # once the progress is gone from the terminal
    return 0


def _sync(options: SyncOptions, announce: Announce) -> SyncReport:
    repo = Repository(options.repo_path)
    head_ref = options.head or "HEAD"
    head = repo.resolve(head_ref)
    rules = load_project_rules(
        options.rules_path, repo.work_tree, lambda: repo.read_path(head, PROJECT_RULES)
    )
    base_ref = options.base or default_base_ref(repo, rules)
    base_branch = open_pr.remote_branch_name(repo, base_ref, options.remote)
    tracking = f"refs/remotes/{options.remote}/{base_branch}"
    name = record_name(repo, head_ref)
    if options.dry_run:
        if not repo.ref_exists(tracking):
            raise StagerError(
                f"{tracking} does not exist: the base was never fetched from {options.remote}",
                f"run `git fetch {options.remote} {base_branch}` first, or sync without --dry-run",
            )
    else:
        announce(f"fetching {base_branch} from {options.remote}")
        _fetch(repo, options.remote, base_branch, tracking, name)
    _check_record(repo, name, options)
    records = branch_records(repo, name)
    remote_tips = {} if options.dry_run else _phase_tips(repo, options.remote, records)

    # GitHub's word on a merged pull request settles a phase git alone is unsure of; a
    # dry run calls nothing, and a clone without a token goes by git alone.
    github = None if options.dry_run else _connect(repo, rules, options)
    announce("telling the merged phases from the record")
    merged_lookup = _merged_lookup(github, repo.resolve(tracking))
    analysis = analyze_branch(repo, tracking, head_ref, options.rules_path, merged_lookup, announce)
    refuse_unsettled(analysis.merged_phases, tracking)
    merged = merged_branches(analysis.merged_phases)
    report = SyncReport(options.dry_run, options.remote, base_branch, analysis.refs.base)
    if options.dry_run:
        report.notes.append(f"{base_branch} as last fetched ({tracking}): nothing was fetched")
    report.merged_phases = [dataclasses.asdict(phase) for phase in merged.values()]

    # A reviewer's commits on a phase branch: kept, replayed on the rebuilt phase.
    replay = kept_commits(repo, records, remote_tips, options.remote)
    # Several Alembic heads on the base, one a merged phase's: the next phase merges them.
    heads = heads_to_merge(analysis, records, analysis.merged_phases)
    result: SplitResult | None = None
    if analysis.files:
        # The merge revision waits in a quarantine the rebuild reads: it reaches the
        # repository with the phase branches, never in a dry run or a run that stops.
        base_tip = analysis.refs.base
        with rebuild_view(repo, base_tip, heads, dry_run=options.dry_run) as (view, heads):
            if heads is not None:
                report.notes.append(heads.note)
            announce(f"rebuilding the phases left onto {base_branch}'s tip {base_tip[:12]}")
            onto = heads.commit if heads is not None else tracking if replay else None
            result = _rebuild(view, analysis, options, replay, report, records, onto, announce)
    else:
        report.notes.append(
            f"every phase is merged into {base_branch}: nothing is left to rebuild"
            + ("" if heads is None else f"; {heads.note}")
        )

    if options.dry_run:
        _dry_run_notes(report, result, merged)
        return report

    stored = read_record(repo, name)
    assert stored is not None  # split keeps or replaces it, never removes it
    if result is not None:
        announce(f"pushing the phases left to {options.remote} (atomic, with leases)")
        report.pushed = _push(
            repo, options.remote, result, stored.ref, stored.commit, remote_tips, replay
        )
    _github(repo, analysis, options, report, merged, remote_tips, records, announce, github)
    return report


def _rebuild(
    repo: Repository,
    analysis: Analysis,
    options: SyncOptions,
    replay: Mapping[int, tuple[KeptCommit, ...]],
    report: SyncReport,
    records: Sequence[SplitRecord],
    onto: str | None,
    announce: Announce,
) -> SplitResult:
    """``split``'s rebuild of the phases left onto the base's tip (the checkout untouched)."""
    tracking = analysis.refs.base_ref
    result = split(
        SplitCommandOptions(
            repo_path=options.repo_path,
            rules_path=options.rules_path,
            base=tracking,
            head=analysis.refs.head_ref,
            dry_run=options.dry_run,
            force=True,
            plan_path=options.plan_path,
            # replayed commits travel up the stack only by git's 3-way merge; a merge
            # revision of the base's heads is a commit the phases start from
            onto=onto,
            replay=tuple(sorted(replay.items())),
        ),
        repo,
        analysis,
        announce,
    )
    report.notes += result.notes
    report.phases = [
        {
            "phase": built.phase.number,
            "branch": built.branch,
            "status": built.status.value,
            "commit": built.commit,
            "parent": built.parent,
            "backup": built.backup,
            "kept": [item.original for item in replay.get(built.phase.number, ())],
        }
        for built in result.phases
    ]
    if result.record is not None:  # written, or what a real run would write
        report.notes += [item.message for item in rechained(result.record, records)]
    return result


def _check_record(repo: Repository, name: str, options: SyncOptions) -> None:
    """Stop without a record, or with one older than the remote's (another clone synced)."""
    stored = read_record(repo, name)
    if stored is None:
        raise StagerError(
            f"{name} has no stager record (refs/stager/record/{name}), here or on "
            f"{options.remote}: sync rebuilds what split built",
            "run `stager split --all` (then `stager open-pr --all`) first",
        )
    if not options.dry_run:  # a dry run asks the remote nothing
        on_remote = remote_shas(repo, options.remote, [stored.ref]).get(stored.ref)
        pushed = recorded_shas(repo, options.remote, [stored.ref]).get(stored.ref)
        refuse_stale_record(repo, name, options.remote, stored.commit, on_remote, pushed)


def _fetch(repo: Repository, remote: str, base_branch: str, tracking: str, name: str) -> None:
    """The base into its remote-tracking ref; the record too when this clone has none."""
    record = record_ref(name)
    refspecs = [f"+refs/heads/{base_branch}:{tracking}"]
    try:
        if not read_refs(repo, [record]) and remote_shas(repo, remote, [record]):
            refspecs.append(f"{record}:{record}")  # a fresh clone: the record pushed by open-pr
        git_remote.fetch(repo, remote, refspecs)
    except GitError as error:
        raise StagerError(
            f"fetching {base_branch} from {remote} failed: {error.problem}",
            f"check the remote (`git fetch {remote} {base_branch}`), then run sync again",
        ) from None


def _phase_tips(repo: Repository, remote: str, records: Sequence[SplitRecord]) -> dict[str, Sha]:
    """Every recorded phase branch's tip on the remote, fetched (a reviewer's commits too)."""
    branches = sorted({phase.branch for record in records for phase in record.phases})
    tips = remote_shas(repo, remote, branches)
    if tips:
        git_remote.fetch(
            repo,
            remote,
            [f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}" for branch in tips],
        )
    return tips


def _push(
    repo: Repository,
    remote: str,
    result: SplitResult,
    record: str,
    record_commit: Sha,
    remote_tips: Mapping[str, Sha],
    replay: Mapping[int, tuple[KeptCommit, ...]],
) -> list[str]:
    from stager.github.push import push_stack

    tips = [(built.branch, built.commit) for built in result.phases] + [(record, record_commit)]
    # A clone that never pushed knows from the record what stager wrote and pushed: its
    # lease expects those (a branch at a commit stager built holds nobody else's work).
    written = written_by_stager(branch_records(repo, record.removeprefix(RECORD_PREFIX)))
    known = {branch: sha for branch, sha in remote_tips.items() if sha in written}
    # A branch whose commits by someone else were replayed: the lease expects their tip.
    replayed = {built.branch for built in result.phases if built.phase.number in replay}
    known.update({branch: sha for branch, sha in remote_tips.items() if branch in replayed})
    on_remote = remote_shas(repo, remote, [record])
    if record in on_remote:
        known[record] = on_remote[record]
    pushes = push_stack(repo, remote, tips, incorporated=known)
    return [push.branch for push in pushes if push.needed]


def _github(
    repo: Repository,
    analysis: Analysis,
    options: SyncOptions,
    report: SyncReport,
    merged: Mapping[str, MergedPhase],
    remote_tips: Mapping[str, Sha],
    records: Sequence[SplitRecord],
    announce: Announce,
    client: GitHubApi | str | None,
) -> None:
    """Retarget and refresh the open pull requests, then delete the merged phase branches."""
    from stager.github.pull_requests import after_merges, look_up, sync_pulls

    if client is None or isinstance(client, str):
        report.notes.append(
            f"GitHub was not reached ({client}): no pull request was retargeted and no "
            "merged branch deleted (an open pull request may still be based on one); fix that "
            "and run sync again"
        )
        return

    pr_options = _pr_options(options, analysis.refs.base_ref)
    if analysis.files:
        announce("retargeting the open pull requests and refreshing their stack tables")
        prepared = open_pr.prepare(repo, analysis, pr_options)
        lookup = look_up(client, prepared.plans, prepared.in_base)
        # sync opens no pull request: that is open-pr's; it brings the open ones up to date
        plans = tuple(
            dataclasses.replace(plan, selected=plan.number in lookup.open)
            for plan in after_merges(prepared.plans, lookup)
        )
        outcomes = sync_pulls(client, plans, prepared.render, draft=False, lookup=lookup)
        report.pull_requests = [dataclasses.asdict(outcome) for outcome in outcomes]
        report.notes += [note for outcome in outcomes for note in outcome.notes]
    deletable = _deletable(repo, options.remote, merged, remote_tips, records, client, report)
    if deletable:
        from stager.github.push import delete_branches

        announce(f"deleting the merged phase branches {', '.join(deletable)}")
        delete_branches(repo, options.remote, deletable)
        report.deleted = sorted(deletable)


def _pr_options(options: SyncOptions, base_ref: str) -> open_pr.OpenPrOptions:
    return open_pr.OpenPrOptions(
        repo_path=options.repo_path,
        rules_path=options.rules_path,
        base=base_ref,
        head=options.head,
        phase=None,
        remote=options.remote,
        github_repo=options.github_repo,
        draft=False,
        dry_run=False,
        output_format=options.output_format,
        plan_path=options.plan_path,
    )


def _connect(repo: Repository, rules: Rules, options: SyncOptions) -> GitHubApi | str:
    """A client of the remote's GitHub repository, or why there is none (no token…)."""
    from stager.github.auth import find_token
    from stager.github.push import remote_target
    from stager.github.pygithub_client import PyGithubClient

    try:
        target = remote_target(repo, options.remote, options.github_repo, rules.github)
        token = find_token(target.host)
        return PyGithubClient(target, token, open_pr.CLIENT_SETTINGS)  # reads the repository
    except StagerError as error:  # sync goes on by git alone, and says so
        return error.problem


def _merged_lookup(github: GitHubApi | str | None, base: Sha) -> MergedLookup:
    """The record's merged phases, with GitHub's second opinion when it was reached."""
    if github is None or isinstance(github, str):
        return merged_content

    def lookup(
        repo: Repository, refs: BranchRefs, head_tree: Mapping[RepoPath, TreeEntry]
    ) -> MergedContent:
        return merged_content(repo, refs, head_tree, _pull_confirm(repo, github, base))

    return lookup


def _pull_confirm(repo: Repository, client: GitHubApi, base: Sha) -> Confirm:
    """GitHub's second opinion on a phase git is unsure of: its branch's last closed pull
    request, merged, of this phase (the tip split built, or a commit on top of it)."""
    pulls: dict[str, PullRequest | None] = {}

    def confirm(phase: RecordedPhase, verdict: MergedPhase | None) -> MergedPhase | None:
        if verdict is not None and verdict.state in (MERGED, REVERTED):
            return verdict  # git is sure: no request
        if phase.branch not in pulls:
            pulls[phase.branch] = client.find_closed_pull(phase.branch)
        pull = pulls[phase.branch]
        if pull is None or not pull.merged or not _of_phase(repo, phase, pull):
            return verdict
        return confirmed_by_pull(repo, phase, verdict, Sha(pull.merge_commit_sha), base)

    return confirm


def _deletable(
    repo: Repository,
    remote: str,
    merged: Mapping[str, MergedPhase],
    remote_tips: Mapping[str, Sha],
    records: Sequence[SplitRecord],
    client: GitHubApi,
    report: SyncReport,
) -> dict[str, Sha]:
    """The merged phase branches to delete on the remote, each at its tip there.

    Kept: one an open pull request is based on, and one with commits stager did not
    write (pushed there after the merge).
    """
    written = pushed_commits(records) | {
        phase.commit for record in records for phase in record.phases
    }
    written |= set(recorded_shas(repo, remote, list(merged)).values())
    found: dict[str, Sha] = {}
    for branch in sorted(merged):
        tip = remote_tips.get(branch)
        if tip is None:
            continue  # deleted already (GitHub's "delete branch" button, or a sync before)
        if tip not in written:
            report.kept.append(f"{branch}: it has commits stager did not write ({tip[:12]})")
            continue
        based = client.open_pulls_into(branch)
        if based:
            numbers = ", ".join(f"#{pull.number}" for pull in based)
            report.kept.append(f"{branch}: the open pull request {numbers} is based on it")
            continue
        found[branch] = tip
    return found


def _dry_run_notes(
    report: SyncReport, result: SplitResult | None, merged: Mapping[str, MergedPhase]
) -> None:
    moving = [
        built.branch
        for built in (result.phases if result else ())
        if built.status is not BuildStatus.UNCHANGED
    ]
    report.notes.append(
        "a real run would push "
        + (", ".join(moving) if moving else "nothing new")
        + ", retarget and refresh the open pull requests, then delete the merged branches "
        + (", ".join(sorted(merged)) or "(none)")
        + " where no open pull request is based on them"
    )


def _print(options: SyncOptions, report: SyncReport) -> None:
    data = dataclasses.asdict(report)
    if options.output_format is Format.JSON:
        print(json.dumps({**data, "schema_version": SCHEMA_VERSION}, indent=2, ensure_ascii=False))
        return
    title = "stager sync --dry-run: nothing was written" if report.dry_run else "stager sync"
    lines = [f"# {title}", "", f"base: {report.base} at {report.base_tip[:12]} ({report.remote})"]
    for phase in report.merged_phases:
        lines.append(f"merged: phase {phase['number']} ({phase['branch']}) by {phase['how']}")
    for phase in report.phases:
        lines.append(
            f"phase {phase['phase']} {phase['branch']}: {phase['status']} at {phase['commit'][:12]}"
        )
    if report.pushed:
        lines.append(f"pushed to {report.remote} (atomic): {', '.join(report.pushed)}")
    for pull in report.pull_requests:
        lines.append(
            f"#{pull['number']} {pull['branch']} → {pull['base']}: {pull['action']}"
            + (f" ({', '.join(pull['writes'])})" if pull["writes"] else "")
        )
    if report.deleted:
        lines.append(f"deleted on {report.remote}: {', '.join(report.deleted)}")
    lines += [f"kept: {kept}" for kept in report.kept]
    lines += [f"note: {note}" for note in report.notes]
    print("\n".join(lines))


def _of_phase(repo: Repository, phase: RecordedPhase, pull: PullRequest) -> bool:
    """Whether ``pull`` merged this phase, not an earlier feature's branch of the same name:
    its head is the tip split built, or a commit on top of it (a reviewer's)."""
    if pull.head_sha == phase.commit:
        return True
    try:
        return is_ancestor(repo, phase.commit, Sha(pull.head_sha))
    except (GitError, StagerError):  # a head this clone never fetched
        return False
