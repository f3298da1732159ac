"""A fake GitHub REST API on 127.0.0.1, in a thread, for real PyGithub to talk to.

It serves what `stager open-pr` uses — the repository, pull requests (list
with the ``head`` filter, create, read, update), labels, issue labels,
requested reviewers and reviews — keeps their state in memory, and records
every request so tests can count the writes. Branches are read from a real
bare repository (the git remote of the test), so a pull request whose base
or head was never pushed is refused as GitHub refuses it, and a pull request
whose base branch disappears is closed, as GitHub closes it.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class FakePull:
    number: int
    head: str
    base: str
    title: str
    body: str
    draft: bool
    user: str
    state: str = "open"
    merged: bool = False
    labels: list[str] = field(default_factory=list)
    requested_users: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    reviews: list[str] = field(default_factory=list)  # logins of people who reviewed
    # (login, state) of reviews with another verdict than approval, listed after ``reviews``
    verdicts: list[tuple[str, str]] = field(default_factory=list)
    merged_sha: str | None = None  # the head commit when merged (GitHub keeps it)
    merge_commit: str | None = None  # merge_commit_sha (a squash: the squashed commit)


@dataclass
class Failure:
    """Answer ``status`` to the next ``times`` requests matching method and path."""

    method: str
    path: re.Pattern[str]
    status: int
    times: int
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    status: int


class FakeGitHub:
    """State and request log of the fake API; ``url`` is its base URL."""

    def __init__(self, owner: str, name: str, token: str, remote: Path | None = None) -> None:
        self.owner = owner
        self.name = name
        self.token = token
        self.remote = remote  # bare repository whose branches GitHub "has"
        self.login = "stager-bot"  # who the token belongs to: the author of created PRs
        self.pulls: dict[int, FakePull] = {}
        self.labels: dict[str, dict[str, str]] = {}
        self.requests: list[Request] = []
        self.failures: list[Failure] = []
        self._next = 1
        self._lock = threading.Lock()
        self.url = ""

    # -- test helpers --------------------------------------------------------------

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method not in READ_METHODS]

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        message: str = "failure",
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        payload: Any = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (and ``payload``)."""
        body: Any = {"message": message} if payload is None else payload
        if errors is not None:
            body["errors"] = errors
        self.failures.append(
            Failure(method, re.compile(path), status, times, body, dict(headers or {}))
        )

    def open_pull(self, head: str) -> FakePull | None:
        return next((p for p in self.pulls.values() if p.head == head and p.state == "open"), None)

    def merge(self, number: int, merge_commit: str | None = None) -> None:
        """Merge pull request ``number`` as GitHub's button does (the branch stays).

        ``merge_commit``: the commit the merge made in the base (default: the
        head's, as a fast-forward); the caller moves the base branch.
        """
        with self._lock:
            pull = self.pulls[number]
            pull.state = "closed"
            pull.merged = True
            pull.merged_sha = self.branch_sha(pull.head)
            pull.merge_commit = merge_commit or pull.merged_sha

    def review(self, number: int, login: str, state: str) -> None:
        """``login`` reviews pull request ``number``: APPROVED, CHANGES_REQUESTED, COMMENTED…"""
        with self._lock:
            self.pulls[number].verdicts.append((login, state))

    def add_pull(self, head: str, base: str, title: str, body: str, user: str) -> FakePull:
        """A pull request someone opened by hand."""
        with self._lock:
            pull = FakePull(self._next, head, base, title, body, False, user)
            self.pulls[pull.number] = pull
            self._next += 1
        return pull

    # -- branches -----------------------------------------------------------------------

    def branch_sha(self, branch: str) -> str | None:
        if self.remote is None:
            return "0" * 40
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.remote,
            capture_output=True,
            check=False,
        )
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def _contains(self, base: str, head: str) -> bool:
        """Whether ``base`` already has every commit of ``head`` (nothing to merge)."""
        if self.remote is None:
            return False
        result = subprocess.run(
            ["git", "merge-base", "--is-ancestor", f"refs/heads/{head}", f"refs/heads/{base}"],
            cwd=self.remote,
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def _close_orphans(self) -> None:
        # GitHub closes a pull request whose base (or head) branch is deleted.
        for pull in self.pulls.values():
            if pull.state == "open" and (
                self.branch_sha(pull.base) is None or self.branch_sha(pull.head) is None
            ):
                pull.state = "closed"

    # -- JSON ---------------------------------------------------------------------------

    def _api(self, path: str) -> str:
        return f"{self.url}/repos/{self.full_name}{path}"

    def _user(self, login: str) -> dict[str, Any]:
        return {"login": login, "id": abs(hash(login)) % 10**6, "url": f"{self.url}/users/{login}"}

    def _repo_json(self) -> dict[str, Any]:
        return {
            "id": 1,
            "name": self.name,
            "full_name": self.full_name,
            "owner": self._user(self.owner),
            "private": False,
            "url": self._api(""),
            "html_url": f"https://github.example/{self.full_name}",
            "default_branch": "main",
        }

    def _label_json(self, name: str) -> dict[str, Any]:
        label = self.labels.get(name, {"color": "ededed", "description": ""})
        return {
            "name": name,
            "color": label["color"],
            "description": label["description"],
            "url": self._api(f"/labels/{urllib.parse.quote(name)}"),
        }

    def _pull_json(self, pull: FakePull) -> dict[str, Any]:
        def part(ref: str, sha: str | None = None) -> dict[str, Any]:
            return {
                "ref": ref,
                "label": f"{self.owner}:{ref}",
                "sha": sha or self.branch_sha(ref) or "0" * 40,
                "repo": self._repo_json(),
                "user": self._user(self.owner),
            }

        return {
            "id": 1000 + pull.number,
            "number": pull.number,
            "url": self._api(f"/pulls/{pull.number}"),
            "html_url": f"https://github.example/{self.full_name}/pull/{pull.number}",
            "issue_url": self._api(f"/issues/{pull.number}"),
            "state": pull.state,
            "title": pull.title,
            "body": pull.body,
            "draft": pull.draft,
            "merged": pull.merged,
            "merged_at": "2026-01-02T03:04:05Z" if pull.merged else None,
            "merge_commit_sha": pull.merge_commit,
            "user": self._user(pull.user),
            "head": part(pull.head, pull.merged_sha),
            "base": part(pull.base),
            "labels": [self._label_json(name) for name in pull.labels],
            "requested_reviewers": [self._user(u) for u in pull.requested_users],
        }

    # -- dispatch -------------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], data: Any
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            status, body, extra = self._handle(method, raw_path, headers, data)
            self.requests.append(Request(method, raw_path, status))
            return status, body, extra

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], data: Any
    ) -> tuple[int, Any, dict[str, str]]:
        authorization = headers.get("authorization", "")
        if authorization not in (f"token {self.token}", f"Bearer {self.token}"):
            return 401, {"message": "Bad credentials"}, {}
        parsed = urllib.parse.urlsplit(raw_path)
        path, query = parsed.path, dict(urllib.parse.parse_qsl(parsed.query))
        for failure in self.failures:
            if failure.times > 0 and failure.method == method and failure.path.search(path):
                failure.times -= 1
                return failure.status, failure.body, failure.headers
        prefix = f"/repos/{self.full_name}"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}, {}
        self._close_orphans()
        rest = path.removeprefix(prefix)
        routes: list[tuple[str, str, Callable[..., tuple[int, Any, dict[str, str]]]]] = [
            ("GET", r"", self._get_repo),
            ("GET", r"/pulls", self._list_pulls),
            ("POST", r"/pulls", self._create_pull),
            ("GET", r"/pulls/(\d+)", self._get_pull),
            ("PATCH", r"/pulls/(\d+)", self._update_pull),
            ("GET", r"/pulls/(\d+)/requested_reviewers", self._get_requested),
            ("POST", r"/pulls/(\d+)/requested_reviewers", self._request_reviewers),
            ("GET", r"/pulls/(\d+)/reviews", self._get_reviews),
            ("GET", r"/pulls/(\d+)/merge", self._get_merged),
            ("GET", r"/labels", self._list_labels),
            ("POST", r"/labels", self._create_label),
            ("POST", r"/issues/(\d+)/labels", self._add_labels),
            ("DELETE", r"/issues/(\d+)/labels/(.+)", self._remove_label),
        ]
        for route_method, pattern, function in routes:
            match = re.fullmatch(pattern, rest)
            if match and route_method == method:
                return function(query, data if data is not None else {}, *match.groups())
        return 404, {"message": "Not Found"}, {}

    def _pull(self, number: str) -> FakePull | None:
        return self.pulls.get(int(number))

    def _get_repo(self, query: dict[str, str], data: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, self._repo_json(), {}

    def _list_pulls(self, query: dict[str, str], data: Any) -> tuple[int, Any, dict[str, str]]:
        state = query.get("state", "open")
        pulls = [p for p in self.pulls.values() if state in ("all", p.state)]
        if "head" in query:
            owner, _, ref = query["head"].partition(":")
            pulls = [p for p in pulls if owner == self.owner and p.head == ref]
        if "base" in query:
            pulls = [p for p in pulls if p.base == query["base"]]
        return 200, [self._pull_json(p) for p in pulls], {}

    def _invalid(self, field_name: str) -> tuple[int, Any, dict[str, str]]:
        errors = [{"resource": "PullRequest", "field": field_name, "code": "invalid"}]
        return 422, {"message": "Validation Failed", "errors": errors}, {}

    def _create_pull(self, query: dict[str, str], data: Any) -> tuple[int, Any, dict[str, str]]:
        head, base = data.get("head", ""), data.get("base", "")
        if self.branch_sha(base) is None:
            return self._invalid("base")
        if self.branch_sha(head) is None:
            return self._invalid("head")
        if any(
            p.head == head and p.base == base and p.state == "open" for p in self.pulls.values()
        ):
            message = f"A pull request already exists for {self.owner}:{head}."
            errors = [{"resource": "PullRequest", "code": "custom", "message": message}]
            return 422, {"message": "Validation Failed", "errors": errors}, {}
        if self._contains(base, head):
            errors = [
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {head}",
                }
            ]
            return 422, {"message": "Validation Failed", "errors": errors}, {}
        pull = FakePull(
            number=self._next,
            head=head,
            base=base,
            title=data.get("title", ""),
            body=data.get("body") or "",
            draft=bool(data.get("draft")),
            user=self.login,
        )
        self.pulls[pull.number] = pull
        self._next += 1
        return 201, self._pull_json(pull), {}

    def _get_pull(
        self, query: dict[str, str], data: Any, number: str
    ) -> tuple[int, Any, dict[str, str]]:
        pull = self._pull(number)
        if pull is None:
            return 404, {"message": "Not Found"}, {}
        return 200, self._pull_json(pull), {}

    def _update_pull(
        self, query: dict[str, str], data: Any, number: str
    ) -> tuple[int, Any, dict[str, str]]:
        pull = self._pull(number)
        if pull is None:
            return 404, {"message": "Not Found"}, {}
        if "base" in data:
            if self.branch_sha(data["base"]) is None:
                return self._invalid("base")
            pull.base = data["base"]
        if "title" in data:
            pull.title = data["title"]
        if "body" in data:
            pull.body = data["body"]
        if "state" in data:
            pull.state = data["state"]
        return 200, self._pull_json(pull), {}

    def _get_requested(
        self, query: dict[str, str], data: Any, number: str
    ) -> tuple[int, Any, dict[str, str]]:
        pull = self._pull(number)
        if pull is None:
            return 404, {"message": "Not Found"}, {}
        teams = [
            {"id": i, "slug": slug, "name": slug, "url": f"{self.url}/teams/{i}"}
            for i, slug in enumerate(pull.requested_teams, start=1)
        ]
        return 200, {"users": [self._user(u) for u in pull.requested_users], "teams": teams}, {}

    def _request_reviewers(
        self, query: dict[str, str], data: Any, number: str
    ) -> tuple[int, Any, dict[str, str]]:
        pull = self._pull(number)
        if pull is None:
            return 404, {"message": "Not Found"}, {}
        users = list(data.get("reviewers") or [])
        if pull.user in users:
            return 422, {"message": "Review cannot be requested from pull request author."}, {}
        pull.requested_users += [u for u in users if u not in pull.requested_users]
        teams = list(data.get("team_reviewers") or [])
        pull.requested_teams += [t for t in teams if t not in pull.requested_teams]
        return 201, self._pull_json(pull), {}

    def _get_reviews(
        self, query: dict[str, str], data: Any, number: str
    ) -> tuple[int, Any, dict[str, str]]:
        pull = self._pull(number)
        if pull is None:
            return 404, {"message": "Not Found"}, {}
        listed = [*((login, "APPROVED") for login in pull.reviews), *pull.verdicts]
        reviews = [
            {
                "id": i,
                "user": self._user(login),
                "state": state,
                "body": "",
                "commit_id": self.branch_sha(pull.head) or "0" * 40,
            }
            for i, (login, state) in enumerate(listed, start=1)
        ]
        return 200, reviews, {}

    def _get_merged(
        self, query: dict[str, str], data: Any, number: str
    ) -> tuple[int, Any, dict[str, str]]:
        # GitHub's "is it merged": 204 when merged, 404 otherwise
        pull = self._pull(number)
        if pull is None or not pull.merged:
            return 404, {"message": "Not Found"}, {}
        return 204, None, {}

    def _list_labels(self, query: dict[str, str], data: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, [self._label_json(name) for name in self.labels], {}

    def _create_label(self, query: dict[str, str], data: Any) -> tuple[int, Any, dict[str, str]]:
        name = data.get("name", "")
        if name in self.labels:
            errors = [{"resource": "Label", "code": "already_exists", "field": "name"}]
            return 422, {"message": "Validation Failed", "errors": errors}, {}
        self.labels[name] = {
            "color": data.get("color", ""),
            "description": data.get("description", ""),
        }
        return 201, self._label_json(name), {}

    def _add_labels(
        self, query: dict[str, str], data: Any, number: str
    ) -> tuple[int, Any, dict[str, str]]:
        pull = self._pull(number)
        if pull is None:
            return 404, {"message": "Not Found"}, {}
        names = data if isinstance(data, list) else data.get("labels") or []  # both forms
        for name in names:
            self.labels.setdefault(name, {"color": "ededed", "description": ""})
            if name not in pull.labels:
                pull.labels.append(name)
        return 200, [self._label_json(name) for name in pull.labels], {}

    def _remove_label(
        self, query: dict[str, str], data: Any, number: str, name: str
    ) -> tuple[int, Any, dict[str, str]]:
        pull = self._pull(number)
        label = urllib.parse.unquote(name)
        if pull is None or label not in pull.labels:
            return 404, {"message": "Label does not exist"}, {}
        pull.labels.remove(label)
        return 200, [self._label_json(n) for n in pull.labels], {}


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body are two writes: without this, Nagle + delayed ACK cost 40 ms each
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            data = json.loads(raw) if raw else None
            headers = {key.lower(): value for key, value in self.headers.items()}
            try:
                status, body, extra = fake.handle(method, self.path, headers, data)
            except Exception as error:  # a bug in the fake: answer, do not hang the client
                status, body, extra = 599, {"message": f"fake crashed: {error!r}"}, {}
            payload = b"" if status == 204 else json.dumps(body).encode()  # 204: no body
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


@contextmanager
def serve(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    """Run ``fake`` on 127.0.0.1 (a free port) for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
