"""The create-or-update algorithm, through real PyGithub and the fake API."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from stager.github.auth import Token
from stager.github.body import BEGIN, END
from stager.github.context import PullLink
from stager.github.protocol import GitHubError
from stager.github.pull_requests import (
    APPROVED,
    CHANGES_REQUESTED,
    CLOSED,
    MERGED,
    NO_REVIEW,
    OPEN,
    REVIEW_REQUESTED,
    PullPlan,
    describe_calls,
    phase_pull,
    sync_pulls,
)
from stager.github.pygithub_client import PyGithubClient
from stager.github.remote_url import GitHubTarget, RepoId
from tests.github.fake_github import FakeGitHub, serve
from tests.github.fixtures import NAME, OWNER, QUICK, TOKEN


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with serve(FakeGitHub(OWNER, NAME, TOKEN)) as running:
        yield running


def api(fake: FakeGitHub) -> PyGithubClient:
    target = GitHubTarget(RepoId(OWNER, NAME), fake.url, "127.0.0.1", "test", "test")
    return PyGithubClient(target, Token(TOKEN, "GITHUB_TOKEN"), QUICK)


def render(number: int, links: Mapping[int, PullLink]) -> tuple[str, str]:
    stack = ", ".join(f"{n}:#{link.number}" for n, link in sorted(links.items()))
    return f"Phase {number}", f"## Phase {number}\n\nstack {stack}\n"


PLANS = [
    PullPlan(1, "foundation", "stage/1-foundation", "main", "risk:medium"),
    PullPlan(2, "data", "stage/2-data", "stage/1-foundation", "risk:high", ("alice",), ("dbas",)),
]


def test_creates_bottom_up_then_links_the_stack(fake: FakeGitHub) -> None:
    outcomes = sync_pulls(api(fake), PLANS, render, draft=False)
    assert [(o.phase, o.number, o.action) for o in outcomes] == [
        (1, 1, "created"),
        (2, 2, "created"),
    ]
    creates = [r for r in fake.writes if r.method == "POST" and r.path.endswith("/pulls")]
    assert len(creates) == 2
    # each body ends up linking every pull request of the stack
    for pull in fake.pulls.values():
        assert "stack 1:#1, 2:#2" in pull.body
        assert pull.body.startswith(BEGIN) and pull.body.endswith(END)
    assert fake.pulls[2].base == "stage/1-foundation"
    assert fake.pulls[1].labels == ["risk:medium"] and fake.pulls[2].labels == ["risk:high"]
    assert set(fake.labels) == {"risk:medium", "risk:high"}
    assert fake.pulls[2].requested_users == ["alice"]
    assert fake.pulls[2].requested_teams == ["dbas"]


def test_second_run_makes_no_write(fake: FakeGitHub) -> None:
    sync_pulls(api(fake), PLANS, render, draft=False)
    before = len(fake.writes)
    outcomes = sync_pulls(api(fake), PLANS, render, draft=False)
    assert [o.action for o in outcomes] == ["unchanged", "unchanged"]
    assert len(fake.writes) == before


def test_reviewers_who_reviewed_or_authored_are_not_asked(fake: FakeGitHub) -> None:
    sync_pulls(api(fake), PLANS, render, draft=False)
    pull = fake.pulls[2]
    pull.requested_users.remove("alice")  # GitHub drops a request once the review is in
    pull.reviews.append("Alice")
    plans = [
        PLANS[0],
        PullPlan(
            2,
            "data",
            "stage/2-data",
            "stage/1-foundation",
            "risk:high",
            ("alice", fake.login, "carol"),
            ("dbas",),
        ),
    ]
    outcomes = sync_pulls(api(fake), plans, render, draft=False)
    assert outcomes[1].writes == ("reviewers carol",)
    assert pull.requested_users == ["carol"]


def test_a_changed_risk_swaps_the_label(fake: FakeGitHub) -> None:
    sync_pulls(api(fake), PLANS, render, draft=False)
    plans = [PullPlan(1, "foundation", "stage/1-foundation", "main", "risk:critical"), PLANS[1]]
    outcomes = sync_pulls(api(fake), plans, render, draft=False)
    assert outcomes[0].writes == ("label risk:critical", "unlabel risk:medium")
    assert fake.pulls[1].labels == ["risk:critical"]


def test_draft_only_at_creation_and_said_for_existing(fake: FakeGitHub) -> None:
    sync_pulls(api(fake), PLANS[:1], render, draft=False)
    outcomes = sync_pulls(api(fake), PLANS, render, draft=True)
    assert not fake.pulls[1].draft and fake.pulls[2].draft
    assert outcomes[0].writes == ("body",)  # the stack's new link, nothing about drafts
    assert "cannot turn an open one into a draft" in outcomes[0].notes[0]
    assert outcomes[1].notes == ()


def test_already_exists_means_find_and_update(fake: FakeGitHub) -> None:
    """The lookup missed a pull request opened meanwhile: GitHub says 422, stager updates it."""
    fake.add_pull("stage/1-foundation", "main", "by hand", "Opened by hand.", "dave")
    fake.fail("GET", "/pulls$", 200, payload=[])  # a stale first lookup
    outcomes = sync_pulls(api(fake), PLANS[:1], render, draft=False)
    assert outcomes[0].number == 1 and outcomes[0].action == "updated"
    assert len(fake.pulls) == 1  # no duplicate
    assert fake.pulls[1].body.startswith("Opened by hand.\n\n" + BEGIN)
    assert fake.pulls[1].title == "Phase 1"


def test_already_exists_but_nothing_open_is_an_error(fake: FakeGitHub) -> None:
    errors = [
        {
            "resource": "PullRequest",
            "code": "custom",
            "message": "A pull request already exists for acme:stage/1-foundation.",
        }
    ]
    fake.fail("POST", "/pulls$", 422, message="Validation Failed", errors=errors)
    with pytest.raises(GitHubError, match="already exists"):
        sync_pulls(api(fake), PLANS[:1], render, draft=False)


def test_unselected_phases_are_only_looked_up(fake: FakeGitHub) -> None:
    sync_pulls(api(fake), PLANS[:1], render, draft=False)
    plans = [
        PullPlan(1, "foundation", "stage/1-foundation", "main", "risk:low", selected=False),
        PLANS[1],
    ]
    writes = len(fake.writes)
    outcomes = sync_pulls(api(fake), plans, render, draft=False)
    assert [o.phase for o in outcomes] == [2]
    assert fake.pulls[1].labels == ["risk:medium"]  # untouched
    assert "stack 1:#1, 2:#2" in fake.pulls[2].body
    assert all("/pulls/1" not in r.path and "/issues/1" not in r.path for r in fake.writes[writes:])


def test_describe_calls_lists_the_requests_of_a_real_run() -> None:
    calls = describe_calls(PLANS, "acme/fuel", "acme", draft=True)
    assert calls[0].startswith("GET /repos/acme/fuel ")
    assert "GET /repos/acme/fuel/pulls?state=open&head=acme:stage/2-data" in calls
    text = "\n".join(calls)
    assert (
        "POST /repos/acme/fuel/pulls  head=stage/2-data base=stage/1-foundation draft=true" in text
    )
    assert "requested_reviewers  alice, team dbas" in text


def test_peoples_text_over_the_limit_is_kept_and_noted(fake: FakeGitHub) -> None:
    sync_pulls(api(fake), PLANS[:1], render, draft=False)
    pull = fake.pulls[1]
    pull.body = "x" * 65_000 + "\n\n" + pull.body.replace("stack", "old stack")
    before = pull.body
    (outcome,) = sync_pulls(api(fake), PLANS[:1], render, draft=False)
    assert pull.body == before  # neither cut nor over GitHub's limit
    assert "body" not in outcome.writes
    assert "65,002 characters" in outcome.notes[0] and "shorten it" in outcome.notes[0]


def test_a_phase_pull_reads_its_state_merge_commit_and_review(fake: FakeGitHub) -> None:
    client = api(fake)
    assert phase_pull(client, "stage/1-foundation") is None  # never had one
    sync_pulls(client, PLANS, render, draft=False)
    writes = len(fake.writes)
    found = phase_pull(client, "stage/2-data")
    assert found is not None and found.state == OPEN and found.review is not None
    assert (found.review.decision, found.review.requested) == (REVIEW_REQUESTED, ("alice", "dbas"))
    fake.review(2, "bob", "APPROVED")
    fake.review(2, "carol", "COMMENTED")
    found = phase_pull(client, "stage/2-data")
    assert found is not None and found.review is not None
    assert (found.review.decision, found.review.approved_by) == (APPROVED, ("bob",))
    fake.review(2, "carol", "CHANGES_REQUESTED")  # one request for changes outweighs approvals
    found = phase_pull(client, "stage/2-data")
    assert found is not None and found.review is not None
    assert found.review.decision == CHANGES_REQUESTED
    assert found.review.changes_requested_by == ("carol",)
    fake.review(2, "carol", "DISMISSED")
    fake.review(2, "bob", "DISMISSED")
    found = phase_pull(client, "stage/2-data")
    assert found is not None and found.review is not None
    assert (found.review.decision, found.review.approved_by) == (REVIEW_REQUESTED, ())
    fake.pulls[2].requested_users.clear()
    fake.pulls[2].requested_teams.clear()
    found = phase_pull(client, "stage/2-data")
    assert found is not None and found.review is not None and found.review.decision == NO_REVIEW
    # Squash-merged: GitHub names the commit the merge made on the base.
    fake.merge(1, merge_commit="5" * 40)
    merged = phase_pull(client, "stage/1-foundation")
    assert merged is not None and merged.state == MERGED and merged.review is None
    assert merged.pull.merge_commit_sha == "5" * 40
    fake.pulls[2].state = "closed"
    closed = phase_pull(client, "stage/2-data")
    assert closed is not None and closed.state == CLOSED and not closed.pull.merged
    assert len(fake.writes) == writes  # reads only
