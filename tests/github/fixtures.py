"""Fixtures for tests/github and tests/commands/test_open_pr.py: a bare remote, the fake API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stager.commands import open_pr
from stager.github.pygithub_client import ClientSettings
from tests.github.fake_github import FakeGitHub, serve
from tests.gitrepo import GitRepo

TOKEN = "ghp_TESTtoken0123456789abcdefSECRET"
OWNER, NAME = "acme", "fuel-credits"
QUICK = ClientSettings(timeout=10, retries=3, backoff_factor=0, throttle=False)


@dataclass(frozen=True)
class Remote:
    """A bare repository standing in for GitHub's copy of the project."""

    path: Path
    repo: GitRepo

    def branch(self, name: str) -> str | None:
        sha = self.repo.git("rev-parse", "--verify", "--quiet", f"refs/heads/{name}", check=False)
        return sha or None


@pytest.fixture
def remote(tmp_path: Path, git_env: dict[str, str]) -> Remote:
    path = tmp_path / "remote.git"
    path.mkdir()
    repo = GitRepo(path, git_env)
    repo.git("init", "-q", "--bare", "-b", "main")
    return Remote(path, repo)


@pytest.fixture
def github(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    """The fake API, with GITHUB_TOKEN and GITHUB_API_URL pointing stager at it."""
    fake = FakeGitHub(OWNER, NAME, TOKEN, remote.path)
    with serve(fake):
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.delenv("GH_TOKEN", raising=False)
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setattr(open_pr, "CLIENT_SETTINGS", QUICK)
        yield fake
