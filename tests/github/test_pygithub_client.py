"""Real PyGithub against the fake API: requests, retries and every HTTP error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stager.errors import StagerError
from stager.github.auth import Token
from stager.github.protocol import GitHubError, PullRequestExists, ReviewersRefused
from stager.github.pygithub_client import PyGithubClient
from stager.github.remote_url import GitHubTarget, RepoId
from tests.github.fake_github import FakeGitHub, serve
from tests.github.fixtures import NAME, OWNER, QUICK, TOKEN


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with serve(FakeGitHub(OWNER, NAME, TOKEN)) as running:
        yield running


def target(fake: FakeGitHub, repo: str = f"{OWNER}/{NAME}") -> GitHubTarget:
    return GitHubTarget(RepoId.parse(repo, "test"), fake.url, "127.0.0.1", "test", "test")


def client(fake: FakeGitHub, token: str = TOKEN, repo: str = f"{OWNER}/{NAME}") -> PyGithubClient:
    return PyGithubClient(target(fake, repo), Token(token, "GITHUB_TOKEN"), QUICK)


def test_pull_request_round_trip(fake: FakeGitHub) -> None:
    api = client(fake)
    assert api.find_open_pull("stage/1-foundation") is None
    created = api.create_pull(
        head="stage/1-foundation", base="main", title="Phase 1", body="body", draft=True
    )
    assert created.number == 1 and created.draft and created.base == "main"
    assert created.author == fake.login
    found = api.find_open_pull("stage/1-foundation")
    assert found == created
    updated = api.update_pull(1, title="Phase 1 (new)", base="develop")
    assert (updated.title, updated.base, updated.body) == ("Phase 1 (new)", "develop", "body")
    assert fake.writes[-1].method == "PATCH"
    api.create_label("risk:high", "d93f0b", "high")
    api.create_label("risk:high", "d93f0b", "high")  # exists: fine, no error
    assert api.label_names() == {"risk:high"}
    api.add_labels(1, ["risk:high"])
    assert fake.pulls[1].labels == ["risk:high"]
    api.remove_label(1, "risk:high")
    api.remove_label(1, "risk:high")  # already gone: fine
    assert fake.pulls[1].labels == []
    api.request_reviewers(1, ["alice"], ["dbas"])
    fake.pulls[1].reviews.append("bob")
    state = api.review_state(1)
    assert state.requested_users == {"alice"}
    assert state.requested_teams == {"dbas"}
    assert state.reviewed_users == {"bob"}


def test_create_of_an_existing_pull_request_raises_pull_request_exists(fake: FakeGitHub) -> None:
    api = client(fake)
    api.create_pull(head="stage/1", base="main", title="t", body="b", draft=False)
    with pytest.raises(PullRequestExists) as raised:
        api.create_pull(head="stage/1", base="main", title="t", body="b", draft=False)
    assert isinstance(raised.value, StagerError)  # uncaught, still one clear line
    assert "'stage/1'" in str(raised.value)


def test_401_bad_token(fake: FakeGitHub) -> None:
    with pytest.raises(GitHubError) as raised:
        client(fake, token="ghp_WRONGtoken")
    message = str(raised.value)
    assert "401 Unauthorized" in message and "GITHUB_TOKEN" in message
    assert "gh auth login" in message
    assert "ghp_WRONGtoken" not in message


def test_403_forbidden_says_which_permission(fake: FakeGitHub) -> None:
    fake.fail(
        "GET", f"/repos/{OWNER}/{NAME}$", 403, message="Resource not accessible by integration"
    )
    with pytest.raises(GitHubError) as raised:
        client(fake)
    message = str(raised.value)
    assert "403 Forbidden" in message and "Resource not accessible" in message
    assert message.count(f"{OWNER}/{NAME}") == 1  # named once, not twice
    assert "Pull requests: read and write" in message
    assert len(fake.requests) == 1  # a 403 that is no rate limit is not retried


def test_404_names_the_repository_and_api(fake: FakeGitHub) -> None:
    with pytest.raises(GitHubError) as raised:
        client(fake, repo="acme/typo")
    message = str(raised.value)
    assert "404 Not Found" in message and "acme/typo" in message and fake.url in message
    assert "--github-repo" in message


def test_422_shows_githubs_reasons(fake: FakeGitHub) -> None:
    api = client(fake)
    errors = [{"resource": "PullRequest", "field": "base", "code": "invalid"}]
    fake.fail("POST", "/pulls$", 422, message="Validation Failed", errors=errors)
    with pytest.raises(GitHubError) as raised:
        api.create_pull(head="stage/1", base="nope", title="t", body="b", draft=False)
    message = str(raised.value)
    assert "422 Unprocessable Entity" in message
    assert "PullRequest base invalid" in message
    assert "base branch exists" in message


def test_5xx_on_reads_is_retried(fake: FakeGitHub) -> None:
    fake.fail("GET", f"/repos/{OWNER}/{NAME}$", 502, times=2)
    api = client(fake)
    assert [r.status for r in fake.requests] == [502, 502, 200]
    fake.fail("GET", "/pulls$", 503, times=1)
    assert api.find_open_pull("stage/1") is None


def test_5xx_that_lasts_is_a_clear_error(fake: FakeGitHub) -> None:
    fake.fail("GET", f"/repos/{OWNER}/{NAME}$", 500, times=10)
    with pytest.raises(GitHubError) as raised:
        client(fake)
    assert "500" in str(raised.value) and "githubstatus" in str(raised.value)
    assert "also after retrying" in str(raised.value)
    assert len(fake.requests) == QUICK.retries + 1


def test_a_create_is_never_resent_after_a_5xx(fake: FakeGitHub) -> None:
    api = client(fake)
    fake.fail("POST", "/pulls$", 502)
    with pytest.raises(GitHubError) as raised:
        api.create_pull(head="stage/1", base="main", title="t", body="b", draft=False)
    assert "502" in str(raised.value)
    assert "never duplicated" in str(raised.value)
    assert "not retried" in str(raised.value) and "after retrying" not in str(raised.value)
    assert [r.method for r in fake.requests].count("POST") == 1


def test_a_rate_limited_create_is_retried(fake: FakeGitHub) -> None:
    """GitHub did not carry out a rate-limited request: sending it again is safe."""
    api = client(fake)
    fake.fail(
        "POST",
        "/pulls$",
        429,
        message="You have exceeded a secondary rate limit.",
        headers={"Retry-After": "0"},
    )
    created = api.create_pull(head="stage/1", base="main", title="t", body="b", draft=False)
    assert created.number == 1
    assert [r.status for r in fake.requests if r.method == "POST"] == [429, 201]


def test_the_token_is_redacted_from_every_message(fake: FakeGitHub) -> None:
    api = client(fake)
    fake.fail("PATCH", "/pulls/", 422, message=f"token {TOKEN} is not allowed here")
    api.create_pull(head="stage/1", base="main", title="t", body="b", draft=False)
    with pytest.raises(GitHubError) as raised:
        api.update_pull(1, title="x")
    assert TOKEN not in str(raised.value)
    assert "token *** is not allowed" in str(raised.value)


def test_unreachable_api(fake: FakeGitHub) -> None:
    unreachable = GitHubTarget(RepoId("acme", "fuel"), "http://127.0.0.1:9", "x", "t", "t")
    with pytest.raises(GitHubError, match=r"cannot reach GitHub at http://127\.0\.0\.1:9"):
        PyGithubClient(unreachable, Token(TOKEN, "GITHUB_TOKEN"), QUICK)


def test_a_refused_review_request_is_a_stager_error_with_githubs_reason(fake: FakeGitHub) -> None:
    api = client(fake)
    api.create_pull(head="stage/1", base="main", title="t", body="b", draft=False)
    fake.fail("POST", "/requested_reviewers$", 422, message="Reviews may only be requested")
    with pytest.raises(ReviewersRefused) as raised:
        api.request_reviewers(1, ["mallory"], [])
    assert isinstance(raised.value, StagerError)  # uncaught, still one clear line
    assert "Reviews may only be requested" in str(raised.value)
