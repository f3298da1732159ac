"""``GitHubApi`` through PyGithub (imported here only: it costs a few hundred ms).

Retries are PyGithub's (its ``GithubRetry``, a urllib3 ``Retry``), narrowed so
that a request GitHub may have carried out is never sent twice: 5xx and read
timeouts are retried for idempotent methods only; a rate-limited request (403
or 429 with a rate-limit message), which GitHub did not carry out, is retried
for every method. stager adds no retry of its own around a POST: a second
"create pull request" could open a duplicate.

Every error becomes a ``GitHubError`` saying which status, what stager was
doing and what to do, with the token redacted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from stager import __version__
from stager.github.auth import Token, redact
from stager.github.protocol import (
    GitHubError,
    PullRequest,
    PullRequestExists,
    Review,
    ReviewersRefused,
    ReviewState,
)
from stager.github.push import scrub
from stager.github.remote_url import GitHubTarget

if TYPE_CHECKING:
    from github.PullRequest import PullRequest as GhPullRequest
    from github.Repository import Repository as GhRepository

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", "TRACE"})
RATE_LIMIT_STATUSES = frozenset({403, 429})


@dataclass(frozen=True)
class ClientSettings:
    """Network behaviour; tests shorten the waits."""

    timeout: int = 30
    retries: int = 5
    backoff_factor: float = 1.0  # waits 0, 2, 4, 8… seconds between tries
    max_rate_limit_wait: float = 120.0  # longer than this: stop and say when to run again
    throttle: bool = True  # PyGithub's pauses between requests (GitHub asks for 1 s per write)


def _retry(settings: ClientSettings) -> Any:
    from github.GithubRetry import GithubRetry

    class SafeRetry(GithubRetry):
        """GithubRetry that resends only what GitHub cannot have done already."""

        def _is_method_retryable(self, method: str) -> bool:
            return method.upper() in IDEMPOTENT_METHODS

        def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
            if status_code in RATE_LIMIT_STATUSES:
                # GithubRetry looks at the body: a 403 that is no rate limit is raised as is.
                return bool(self.total)
            return bool(super().is_retry(method, status_code, has_retry_after))

    return SafeRetry(
        total=settings.retries,
        backoff_factor=settings.backoff_factor,
        backoff_max=60,
        status_forcelist=[*range(500, 600), 429],
        allowed_methods=IDEMPOTENT_METHODS,
        raise_on_status=False,  # the last answer reaches PyGithub, which raises with its status
        max_rate_limit_wait=settings.max_rate_limit_wait,
    )


class PyGithubClient:
    """Pull requests of one repository; reads it once on creation (checks token and access)."""

    def __init__(
        self, target: GitHubTarget, token: Token, settings: ClientSettings | None = None
    ) -> None:
        from github import Auth, Github

        # PyGithub's log ('github') on standard error with -v only: PyGithub gives it a
        # stderr handler at INFO when imported, so without -v each retry or refused
        # request would print a bare extra line next to stager's own message.
        verbose = logging.getLogger("stager").isEnabledFor(logging.DEBUG)
        logging.getLogger("github").setLevel(logging.INFO if verbose else logging.ERROR)
        settings = settings or ClientSettings()
        self._target = target
        self._token = token
        pauses: dict[str, Any] = (
            {}
            if settings.throttle
            else {"seconds_between_requests": 0, "seconds_between_writes": 0}
        )
        self._github = Github(
            auth=Auth.Token(token.value),
            base_url=target.api_url,
            timeout=settings.timeout,
            user_agent=f"stager/{__version__}",
            per_page=100,
            retry=_retry(settings),
            **pauses,
        )
        self._pulls: dict[int, GhPullRequest] = {}
        self._repo: GhRepository = self._call(
            f"read repository {target.repo}", lambda: self._github.get_repo(str(target.repo))
        )

    # -- GitHubApi -------------------------------------------------------------

    def find_open_pull(self, head: str) -> PullRequest | None:
        return self._find_pull(head, f"look for the open pull request of {head!r}", state="open")

    def find_closed_pull(self, head: str) -> PullRequest | None:
        return self._find_pull(
            head,
            f"look for a closed pull request of {head!r}",
            state="closed",
            sort="updated",
            direction="desc",
        )

    def open_pulls_into(self, base: str) -> list[PullRequest]:
        def listed() -> list[PullRequest]:
            return [self._remember(pull) for pull in self._repo.get_pulls(state="open", base=base)]

        return self._call(f"list the open pull requests into {base!r}", listed)

    def _find_pull(self, head: str, action: str, **query: str) -> PullRequest | None:
        """The first pull request ``query`` lists whose head is branch ``head`` of this repository.

        A head repository that no longer exists (None) counts as this one.
        """
        owner = self._target.repo.owner

        def find() -> PullRequest | None:
            for pull in self._repo.get_pulls(head=f"{owner}:{head}", **query):
                same_repo = pull.head.repo is None or pull.head.repo.full_name == str(
                    self._target.repo
                )
                if pull.head.ref == head and same_repo:
                    return self._remember(pull)
            return None

        return self._call(action, find)

    def create_pull(
        self, *, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        from github.GithubException import GithubException

        try:
            pull = self._repo.create_pull(base=base, head=head, title=title, body=body, draft=draft)
        except GithubException as error:
            if error.status == 422 and "already exists" in _details(error).lower():
                raise PullRequestExists(head) from None
            raise self._explain(
                error, f"open a pull request for {head!r} into {base!r}", retried=False
            ) from None
        except Exception as error:
            raise self._explain(error, f"open a pull request for {head!r}", retried=False) from None
        return self._remember(pull)

    def update_pull(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        base: str | None = None,
    ) -> PullRequest:
        from github.GithubObject import NotSet

        pull = self._pull(number)
        self._call(
            f"update pull request #{number}",
            lambda: pull.edit(
                title=NotSet if title is None else title,
                body=NotSet if body is None else body,
                base=NotSet if base is None else base,
            ),
        )
        return self._remember(pull)

    def label_names(self) -> frozenset[str]:
        return self._call(
            "list the repository's labels",
            lambda: frozenset(label.name for label in self._repo.get_labels()),
        )

    def create_label(self, name: str, color: str, description: str) -> None:
        from github.GithubException import GithubException

        try:
            self._repo.create_label(name, color, description)
        except GithubException as error:
            if error.status == 422 and "already_exists" in repr(error.data):
                return  # made meanwhile by someone else: that is what we wanted
            raise self._explain(error, f"create label {name!r}", retried=False) from None
        except Exception as error:
            raise self._explain(error, f"create label {name!r}", retried=False) from None

    def add_labels(self, number: int, labels: Collection[str]) -> None:
        pull = self._pull(number)
        self._call(
            f"label pull request #{number}", lambda: pull.add_to_labels(*labels), retried=False
        )

    def remove_label(self, number: int, label: str) -> None:
        from github.GithubException import GithubException

        pull = self._pull(number)
        try:
            pull.remove_from_labels(label)
        except GithubException as error:
            if error.status != 404:  # already gone
                raise self._explain(error, f"remove label {label!r} from #{number}") from None

    def review_state(self, number: int) -> ReviewState:
        pull = self._pull(number)

        def read() -> ReviewState:
            users, teams = pull.get_review_requests()
            reviewed = {review.user.login for review in pull.get_reviews() if review.user}
            return ReviewState(
                requested_users=frozenset(user.login for user in users),
                requested_teams=frozenset(team.slug for team in teams),
                reviewed_users=frozenset(reviewed),
            )

        return self._call(f"read the reviewers of #{number}", read)

    def list_reviews(self, number: int) -> tuple[Review, ...]:
        pull = self._pull(number)

        def read() -> tuple[Review, ...]:
            return tuple(
                Review(review.user.login, review.state or "", review.commit_id or "")
                for review in pull.get_reviews()
                if review.user is not None  # a deleted account's review decides nothing
            )

        return self._call(f"read the reviews of #{number}", read)

    def request_reviewers(
        self, number: int, users: Collection[str], teams: Collection[str]
    ) -> None:
        from github.GithubException import GithubException

        pull = self._pull(number)
        try:
            pull.create_review_request(reviewers=list(users), team_reviewers=list(teams))
        except Exception as error:
            if isinstance(error, GithubException) and error.status == 422:
                # who cannot review here: the caller notes it, goes on
                details = _details(error) or "Validation Failed"
                raise ReviewersRefused(scrub(redact(details, self._token.value))) from None
            raise self._explain(error, f"request reviewers on #{number}", retried=False) from None

    # -- helpers ---------------------------------------------------------------

    def _pull(self, number: int) -> GhPullRequest:
        if number not in self._pulls:
            self._pulls[number] = self._call(
                f"read pull request #{number}", lambda: self._repo.get_pull(number)
            )
        return self._pulls[number]

    def _remember(self, pull: GhPullRequest) -> PullRequest:
        self._pulls[pull.number] = pull
        return PullRequest(
            number=pull.number,
            url=pull.html_url,
            head=pull.head.ref,
            base=pull.base.ref,
            title=pull.title or "",
            body=pull.body or "",
            draft=bool(pull.draft),
            labels=tuple(label.name for label in pull.labels),
            author=pull.user.login if pull.user else None,
            # merged_at, not merged: a listing has no "merged" (PyGithub would fetch the PR)
            merged=pull.state == "closed" and pull.merged_at is not None,
            head_sha=pull.head.sha or "",
            merge_commit_sha=pull.merge_commit_sha or "",
        )

    def _call(self, action: str, function: Callable[[], T], *, retried: bool = True) -> T:
        try:
            return function()
        except Exception as error:
            raise self._explain(error, action, retried=retried) from None

    def _explain(self, error: Exception, action: str, *, retried: bool = True) -> GitHubError:
        """A GitHubError for ``error``: which status, while doing what, and how to fix it.

        ``retried``: False for a POST, which is never sent twice (see the module's doc).
        """
        from github.GithubException import GithubException, RateLimitExceededException

        target, token = self._target, self._token
        where = f"{target.repo} at {target.api_url}"
        if isinstance(error, RateLimitExceededException):
            problem = f"GitHub's API rate limit is exhausted ({action}, {where})"
            fix = "stager waited as long as it reasonably could: run it again once the limit resets"
        elif isinstance(error, GithubException):
            problem, fix = _status_message(
                error.status, _details(error), action, target, token, retried=retried
            )
        else:
            name = type(error).__name__
            problem = f"cannot reach GitHub at {target.api_url} to {action}: {name}: {error}"
            fix = (
                "check the network and the API URL (`api_url` under [github] in "
                ".stager/rules.toml, or GITHUB_API_URL)"
            )
        return GitHubError(scrub(redact(problem, token.value)), scrub(redact(fix, token.value)))


def _details(error: Any) -> str:
    """GitHub's message and its ``errors[]`` entries, in one line."""
    data = getattr(error, "data", None)
    if not isinstance(data, dict):
        return str(data or "")
    parts = [str(data.get("message") or "")]
    for entry in data.get("errors") or []:
        if isinstance(entry, dict):
            text = entry.get("message") or " ".join(
                str(entry[key]) for key in ("resource", "field", "code") if entry.get(key)
            )
            parts.append(str(text))
        else:
            parts.append(str(entry))
    return "; ".join(part for part in parts if part)


def _status_message(
    status: int,
    details: str,
    action: str,
    target: GitHubTarget,
    token: Token,
    *,
    retried: bool = True,
) -> tuple[str, str]:
    said = f": {details}" if details else ""
    if status == 401:
        return (
            f"GitHub answered 401 Unauthorized to {action}: the token from {token.source} "
            f"is invalid or expired{said}",
            f"create a new token, or run `gh auth login --hostname {target.host}`, and set "
            "GITHUB_TOKEN or GH_TOKEN to it",
        )
    if status == 403:
        on_repo = "" if str(target.repo) in action else f" on {target.repo}"
        return (
            f"GitHub answered 403 Forbidden to {action}{on_repo}{said}",
            f"the token from {token.source} lacks permission: it needs the `repo` scope "
            "(classic token) or Pull requests: read and write and Contents: read "
            "(fine-grained); an organisation with SAML SSO must authorise it",
        )
    if status == 404:
        return (
            f"GitHub answered 404 Not Found to {action} ({target.repo} at {target.api_url})",
            "check OWNER/NAME (--github-repo, [github] repo or the remote's URL) and "
            "[github] api_url; a private repository answers 404 to a token that cannot see it",
        )
    if status == 422:
        lowered = details.lower()
        if "no commits between" in lowered:
            fix = "the phase branch has nothing its base lacks: run `stager split --all` again"
        elif "base" in lowered or "head" in lowered:
            fix = "check that the base branch exists on GitHub and the phase branches were pushed"
        else:
            fix = "GitHub's message above says which value it refused"
        return f"GitHub answered 422 Unprocessable Entity to {action}{said}", fix
    if status >= 500:
        again = (
            "also after retrying"
            if retried
            else "not retried: GitHub may have done it, and a second try could do it twice"
        )
        return (
            f"GitHub answered {status} to {action} ({again}){said}",
            "GitHub may be having trouble (https://www.githubstatus.com): run stager again "
            "later; re-running is safe, open pull requests are found and updated, never "
            "duplicated",
        )
    return f"GitHub answered {status} to {action}{said}", "see GitHub's message"
