"""The small interface stager needs from GitHub, and the values it exchanges.

``pull_requests`` is written against ``GitHubApi`` only; ``pygithub_client`` implements
it with PyGithub. Every write is its own method, so an implementation (or a
test) can see exactly which calls change something.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from stager.errors import StagerError


class GitHubError(StagerError):
    """GitHub refused a request; the message says which status, and what to do."""


class ReviewersRefused(GitHubError):
    """GitHub refused a review request (422): e.g. a reviewer who is no collaborator.

    Not fatal: the run goes on and says so; ``str()`` is GitHub's message.
    """


class PullRequestExists(GitHubError):
    """Creating a pull request answered 422 "already exists": open-pr updates that one."""

    def __init__(self, head: str) -> None:
        super().__init__(
            f"a pull request for {head!r} is already open",
            "run open-pr again: it updates the open pull request",
        )


@dataclass(frozen=True)
class PullRequest:
    """An open pull request, as much of it as stager compares."""

    number: int
    url: str  # the page people open (html_url)
    head: str  # branch name
    base: str  # branch name
    title: str
    body: str
    draft: bool
    labels: tuple[str, ...]
    author: str | None
    merged: bool = False  # a closed pull request (find_closed_pull) that was merged
    head_sha: str = ""  # the head's commit (a merged one: the commit that was merged)
    merge_commit_sha: str = ""  # merged: the commit the merge made in the base (squash too)


@dataclass(frozen=True)
class ReviewState:
    """Who was asked to review, and who already did (they are never asked again)."""

    requested_users: frozenset[str]
    requested_teams: frozenset[str]
    reviewed_users: frozenset[str]


@dataclass(frozen=True)
class Review:
    """One review of a pull request, as GitHub lists them (oldest first)."""

    user: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING
    commit: str = ""  # the head commit it reviewed


class GitHubApi(Protocol):
    """Pull requests, labels and review requests of one repository."""

    def find_open_pull(self, head: str) -> PullRequest | None:
        """The open pull request whose head is branch ``head`` of this repository."""

    def find_closed_pull(self, head: str) -> PullRequest | None:
        """The most recently closed (or merged) pull request whose head is branch ``head``."""

    def open_pulls_into(self, base: str) -> list[PullRequest]:
        """The open pull requests whose base is branch ``base`` (sync never deletes it then)."""

    def create_pull(
        self, *, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        """Open a pull request; PullRequestExists when one is already open for ``head``."""

    def update_pull(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        base: str | None = None,
    ) -> PullRequest:
        """Change what is given (None: leave as is)."""

    def label_names(self) -> frozenset[str]:
        """Every label the repository has."""

    def create_label(self, name: str, color: str, description: str) -> None: ...

    def add_labels(self, number: int, labels: Collection[str]) -> None: ...

    def remove_label(self, number: int, label: str) -> None: ...

    def review_state(self, number: int) -> ReviewState: ...

    def list_reviews(self, number: int) -> tuple[Review, ...]:
        """Every review of pull request ``number``, oldest first (reads only)."""

    def request_reviewers(
        self, number: int, users: Collection[str], teams: Collection[str]
    ) -> None: ...
