"""Create or update one pull request per phase; a run with nothing new writes nothing.

Order, and why:

1. Every phase's open pull request is looked up first (reads only): the stack
   section of each body links all of them. A phase without one whose last pull
   request was closed or merged gets no new one (it is reported instead); the
   next phase of a stack is based where a merged one went (e.g. main).
2. Missing pull requests are created lowest phase first: in a stacked layout a
   pull request's base is the previous phase's branch, which the push (done
   before any of this) has put on GitHub. Nothing is ever deleted: GitHub
   closes, rather than retargets, a pull request whose base branch is deleted
   outside its merge flow.
3. Then each selected pull request, lowest first, gets its title, base and the
   marked part of its body updated where they differ (a retarget only ever
   points at a branch that exists), its risk label, and its reviewers.

Bodies are compared with line endings normalised; a reviewer already asked,
or who already reviewed, is not asked again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from stager.github.body import MAX_BODY_CHARS, PeoplesTextTooLong, merge_body, same_body
from stager.github.context import PullLink
from stager.github.protocol import (
    GitHubApi,
    GitHubError,
    PullRequest,
    PullRequestExists,
    ReviewersRefused,
    ReviewState,
)

RISK_LABEL_PREFIX = "risk:"
RISK_LABELS = {
    "risk:low": ("0e8a16", "stager: low-risk phase"),
    "risk:medium": ("fbca04", "stager: medium-risk phase"),
    "risk:high": ("d93f0b", "stager: high-risk phase"),
    "risk:critical": ("b60205", "stager: critical-risk phase, may need a maintenance window"),
}

Renderer = Callable[[int, Mapping[int, PullLink]], tuple[str, str]]
"""(phase number, PR links known so far) → (title, generated part of the body)."""


@dataclass(frozen=True)
class PullPlan:
    """What one phase's pull request should be."""

    number: int  # phase number
    name: str
    branch: str
    base: str
    label: str  # e.g. "risk:high"
    reviewers: tuple[str, ...] = ()
    team_reviewers: tuple[str, ...] = ()
    selected: bool = True  # False: only looked up, for the stack's links


@dataclass(frozen=True)
class PullOutcome:
    """What happened to one phase's pull request (its fields are open-pr's JSON keys)."""

    phase: int
    name: str
    branch: str
    base: str
    number: int
    url: str
    action: str  # "created", "updated" or "unchanged"
    title: str
    writes: tuple[str, ...]  # e.g. "create", "title", "base", "body", "label risk:high"
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ClosedPull:
    """A phase with no open pull request whose last one was closed or merged."""

    phase: int
    branch: str
    number: int
    url: str
    base: str  # where it went (merged) or would have gone
    merged: bool
    head_sha: str = ""  # the commit it had (merged: the one merged)

    @property
    def note(self) -> str:
        if self.merged:
            return (
                f"#{self.number} ({self.branch}) was merged into {self.base}: phase "
                f"{self.phase} is done, so stager neither pushes its branch nor opens a new "
                "pull request for it"
            )
        return (
            f"#{self.number} ({self.branch}) was closed without merging: stager does not open "
            f"another pull request for phase {self.phase}; reopen #{self.number} on GitHub "
            "to have stager update it again"
        )


@dataclass(frozen=True)
class Lookup:
    """The pull requests the phases have: open ones, and the last closed one of the rest."""

    open: Mapping[int, PullRequest] = field(default_factory=dict)
    closed: Mapping[int, ClosedPull] = field(default_factory=dict)

    @property
    def merged_branches(self) -> frozenset[str]:
        return frozenset(pull.branch for pull in self.closed.values() if pull.merged)


def look_up(
    api: GitHubApi,
    plans: Sequence[PullPlan],
    in_base: Callable[[str], bool] = lambda sha: False,
    base_gone: Callable[[str], bool] = lambda branch: False,
) -> Lookup:
    """Every phase's open pull request; for a phase without one, its last closed one (reads).

    ``in_base(sha)``: whether the (local) base branch already has commit ``sha``.
    A merged pull request whose merge (or head) commit is already in the base is
    work the base has: the phase, which still has files on top of that base, is
    new work (an earlier stack's branch names come back with every feature; or
    more changes after the merge, re-split on the updated base) and gets a new
    pull request.

    A pull request closed unmerged whose base is a merged phase's branch, or a
    branch ``base_gone`` says no longer exists, was closed by GitHub when that
    branch was deleted (and cannot be reopened: its base is gone): the phase
    gets a new pull request too.
    """
    found: dict[int, PullRequest] = {}
    closed: dict[int, ClosedPull] = {}
    merged: set[str] = set()
    for plan in sorted(plans, key=lambda plan: plan.number):
        pull = api.find_open_pull(plan.branch)
        if pull is not None:
            found[plan.number] = pull
            continue
        gone = api.find_closed_pull(plan.branch)
        if gone is None:
            continue
        if gone.merged:
            if any(sha and in_base(sha) for sha in (gone.merge_commit_sha, gone.head_sha)):
                continue
            merged.add(plan.branch)
        elif gone.base in merged or base_gone(gone.base):
            continue
        closed[plan.number] = ClosedPull(
            plan.number, plan.branch, gone.number, gone.url, gone.base, gone.merged, gone.head_sha
        )
    return Lookup(found, closed)


def after_merges(plans: Sequence[PullPlan], lookup: Lookup) -> tuple[PullPlan, ...]:
    """``plans`` with a base that is a merged phase's branch replaced by where that phase went.

    Phase 1 merged into main: phase 2's pull request now goes into main, not
    into the finished (and perhaps deleted) stage/1 branch.
    """
    went: dict[str, str] = {
        pull.branch: pull.base for pull in lookup.closed.values() if pull.merged
    }
    rebased = []
    for plan in sorted(plans, key=lambda plan: plan.number):
        base, seen = plan.base, set()
        while base in went and base not in seen:  # a chain of merged phases
            seen.add(base)
            base = went[base]
        rebased.append(dataclasses.replace(plan, base=base))
    return tuple(rebased)


OPEN, MERGED, CLOSED = "open", "merged", "closed"
APPROVED, CHANGES_REQUESTED = "approved", "changes requested"
REVIEW_REQUESTED, NO_REVIEW = "review requested", "no review yet"


@dataclass(frozen=True)
class ReviewSummary:
    """Where a pull request's review stands: each reviewer's last verdict counts."""

    decision: str  # APPROVED, CHANGES_REQUESTED, REVIEW_REQUESTED or NO_REVIEW
    approved_by: tuple[str, ...]
    changes_requested_by: tuple[str, ...]
    requested: tuple[str, ...]  # asked and not yet answered (users, then teams)


@dataclass(frozen=True)
class PhasePull:
    """A phase branch's pull request: the open one, else the last one closed (reads only)."""

    pull: PullRequest
    state: str  # OPEN, MERGED or CLOSED
    review: ReviewSummary | None  # None for a merged or closed one: it is decided


def phase_pull(api: GitHubApi, branch: str) -> PhasePull | None:
    """Branch ``branch``'s pull request and its review; None when it never had one."""
    pull = api.find_open_pull(branch)
    if pull is not None:
        return PhasePull(pull, OPEN, review_summary(api, pull.number))
    closed = api.find_closed_pull(branch)
    if closed is None:
        return None
    return PhasePull(closed, MERGED if closed.merged else CLOSED, None)


def review_summary(api: GitHubApi, number: int) -> ReviewSummary:
    """The review of pull request ``number`` as its page sums it up.

    A reviewer's last approval or request for changes is their verdict (a
    comment changes neither; a dismissed review withdraws it); one request for
    changes outweighs every approval, as GitHub's merge box shows it.
    """
    verdicts: dict[str, str] = {}
    for review in api.list_reviews(number):
        if review.state in ("APPROVED", "CHANGES_REQUESTED"):
            verdicts[review.user] = review.state
        elif review.state == "DISMISSED":
            verdicts.pop(review.user, None)
    approved = tuple(sorted(u for u, state in verdicts.items() if state == "APPROVED"))
    changes = tuple(sorted(u for u, state in verdicts.items() if state == "CHANGES_REQUESTED"))
    asked = api.review_state(number)
    requested = (*sorted(asked.requested_users), *sorted(asked.requested_teams))
    decision = (
        CHANGES_REQUESTED
        if changes
        else APPROVED
        if approved
        else REVIEW_REQUESTED
        if requested
        else NO_REVIEW
    )
    return ReviewSummary(decision, approved, changes, requested)


def risk_label(risk: str) -> str:
    return f"{RISK_LABEL_PREFIX}{risk}"


def sync_pulls(
    api: GitHubApi,
    plans: Sequence[PullPlan],
    render: Renderer,
    *,
    draft: bool,
    lookup: Lookup | None = None,
) -> list[PullOutcome]:
    """Bring every selected phase's pull request up to date (see the module's docstring).

    ``lookup``: what ``look_up`` found (looked up here when None). A phase whose
    pull request was closed or merged is left alone: no outcome, see ``lookup.closed``.
    """
    ordered = sorted(plans, key=lambda plan: plan.number)
    lookup = look_up(api, ordered) if lookup is None else lookup
    found: dict[int, PullRequest] = dict(lookup.open)
    links = {number: PullLink(pull.number, pull.url) for number, pull in found.items()}
    links.update(
        {number: PullLink(pull.number, pull.url) for number, pull in lookup.closed.items()}
    )

    selected = [plan for plan in ordered if plan.selected and plan.number not in lookup.closed]
    created: set[int] = set()
    for plan in selected:
        if plan.number in found:
            continue
        title, generated = render(plan.number, links)
        try:
            pull = api.create_pull(
                head=plan.branch,
                base=plan.base,
                title=title,
                body=merge_body(None, generated),
                draft=draft,
            )
            created.add(plan.number)
        except PullRequestExists:
            # Opened meanwhile (or by a create GitHub carried out before failing): update it.
            existing = api.find_open_pull(plan.branch)
            if existing is None:
                raise GitHubError(
                    f"GitHub says a pull request for {plan.branch!r} already exists, "
                    "but no open one has it as head",
                    "it may be closed: reopen it, or delete the phase branch's old pull "
                    "request, and run open-pr again",
                ) from None
            pull = existing
        found[plan.number] = pull
        links[plan.number] = PullLink(pull.number, pull.url)

    _ensure_labels(api, selected, found)
    return [
        _update(api, plan, found[plan.number], render, links, plan.number in created, draft)
        for plan in selected
    ]


def _ensure_labels(
    api: GitHubApi, plans: Sequence[PullPlan], found: Mapping[int, PullRequest]
) -> None:
    """Create the risk labels the pull requests lack, when the repository lacks them."""
    lacking = {plan.label for plan in plans if plan.label not in found[plan.number].labels}
    if not lacking:
        return
    existing = api.label_names()
    for label in sorted(lacking - existing):
        color, description = RISK_LABELS.get(label, ("ededed", "stager"))
        api.create_label(label, color, description)


def _update(
    api: GitHubApi,
    plan: PullPlan,
    pull: PullRequest,
    render: Renderer,
    links: Mapping[int, PullLink],
    created: bool,
    draft: bool,
) -> PullOutcome:
    writes: list[str] = ["create"] if created else []
    notes: list[str] = []
    title, generated = render(plan.number, links)
    try:
        body = merge_body(pull.body, generated)
    except PeoplesTextTooLong as error:
        body = pull.body  # left as it is: stager never cuts what people wrote
        notes.append(
            f"#{pull.number}: its description was not updated: the text people wrote outside "
            f"the stager markers has {error.length:,} characters, which leaves no room under "
            f"GitHub's limit of {MAX_BODY_CHARS:,}; shorten it on GitHub and run open-pr again"
        )
    changes: dict[str, str] = {}
    if pull.title != title:
        changes["title"] = title
    if pull.base != plan.base:
        changes["base"] = plan.base
    if not same_body(pull.body, body):
        changes["body"] = body
    if changes:
        pull = api.update_pull(pull.number, **changes)
        writes += sorted(changes)

    if plan.label not in pull.labels:
        api.add_labels(pull.number, [plan.label])
        writes.append(f"label {plan.label}")
    for stale in pull.labels:
        if stale.startswith(RISK_LABEL_PREFIX) and stale != plan.label:
            api.remove_label(pull.number, stale)
            writes.append(f"unlabel {stale}")

    if plan.reviewers or plan.team_reviewers:
        state = (
            ReviewState(frozenset(), frozenset(), frozenset())
            if created
            else api.review_state(pull.number)
        )
        asked = {name.lower() for name in state.requested_users | state.reviewed_users}
        author = (pull.author or "").lower()
        users = [u for u in plan.reviewers if u.lower() not in asked and u.lower() != author]
        teams_asked = {name.lower() for name in state.requested_teams}
        teams = [t for t in plan.team_reviewers if t.lower() not in teams_asked]
        if users or teams:
            who = ", ".join([*users, *(f"team {t}" for t in teams)])
            try:
                api.request_reviewers(pull.number, users, teams)
                writes.append(f"reviewers {who}")
            except ReviewersRefused as refused:
                notes.append(
                    f"#{pull.number}: GitHub refused to request reviews from {who} ({refused}); "
                    "a reviewer must be a collaborator (a team: one with access to the "
                    "repository): fix [github.reviewers] / [github.team_reviewers] in "
                    ".stager/rules.toml"
                )
    if draft and not created and not pull.draft:
        notes.append(
            f"#{pull.number} already exists: --draft applies only when stager opens a pull "
            "request (GitHub's REST API cannot turn an open one into a draft); use "
            "'Convert to draft' on its page"
        )
    action = "created" if created else "updated" if writes else "unchanged"
    return PullOutcome(
        phase=plan.number,
        name=plan.name,
        branch=plan.branch,
        base=plan.base,
        number=pull.number,
        url=pull.url,
        action=action,
        title=title,
        writes=tuple(writes),
        notes=tuple(notes),
    )


def describe_calls(
    plans: Sequence[PullPlan], repository: str, owner: str, *, draft: bool
) -> list[str]:
    """The API calls a real run would make, for ``--dry-run`` (no network)."""
    api = f"/repos/{repository}"
    calls = [f"GET {api}  (check the token and the repository)"]
    for plan in sorted(plans, key=lambda plan: plan.number):
        calls.append(f"GET {api}/pulls?state=open&head={owner}:{plan.branch}")
        calls.append(
            f"GET {api}/pulls?state=closed&head={owner}:{plan.branch}  (when none is open: "
            "a closed or merged one gets no new pull request)"
        )
    for plan in sorted(plans, key=lambda plan: plan.number):
        if not plan.selected:
            continue
        calls.append(
            f"POST {api}/pulls  head={plan.branch} base={plan.base} draft={str(draft).lower()}"
            "  (when phase {0} has no open pull request)".format(plan.number)
        )
        calls.append(
            f"PATCH {api}/pulls/<number>  title, base={plan.base}, body between the markers"
            "  (only what differs)"
        )
        calls.append(
            f"POST {api}/issues/<number>/labels  {plan.label}  (when missing; "
            f"GET/POST {api}/labels creates the label first if the repository lacks it)"
        )
        if plan.reviewers or plan.team_reviewers:
            who = ", ".join([*plan.reviewers, *(f"team {t}" for t in plan.team_reviewers)])
            calls.append(
                f"GET {api}/pulls/<number>/requested_reviewers, GET {api}/pulls/<number>/reviews,"
                f" POST {api}/pulls/<number>/requested_reviewers  {who}"
                "  (only who was neither asked nor reviewed)"
            )
    return calls
