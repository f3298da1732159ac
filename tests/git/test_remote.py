"""stager.git.remote against a bare repository standing in for the remote."""

from __future__ import annotations

from pathlib import Path

from stager.git.remote import push, push_url, remote_names, remote_refs
from stager.git.repository import Repository
from stager.types import Sha
from tests.gitrepo import GitRepo


def test_remote_url_names_and_branches(repo: GitRepo, tmp_path: Path) -> None:
    sha = repo.commit("one", {"a": "1\n"})
    bare = GitRepo(tmp_path / "remote.git", repo.env)
    bare.path.mkdir()
    bare.git("init", "-q", "--bare", "-b", "main")
    repo.git("remote", "add", "origin", str(bare.path))
    found = Repository(repo.path)
    assert push_url(found, "origin") == str(bare.path)
    assert push_url(found, "upstream") is None
    assert remote_names(found) == ["origin"]
    push(found, "origin", ["--force-with-lease=refs/heads/x/main:"], [f"{sha}:refs/heads/x/main"])
    # ls-remote matches a pattern's tail: "main" must not find "x/main"
    assert remote_refs(found, "origin", ["main", "x/main"]) == {"x/main": Sha(sha)}
