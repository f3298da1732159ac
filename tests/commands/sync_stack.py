"""A small stack for `stager sync` tests: three phases with a migration in the first and the
last, split and opened on a bare remote with the fake GitHub; merges made as GitHub makes them."""

from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from stager.branches.heads import GraphReader
from stager.cli import cli
from stager.commands import open_pr
from stager.git.repository import Repository
from tests.branches.helpers import migration
from tests.github.fake_github import FakeGitHub, FakePull, serve
from tests.github.fixtures import NAME, OWNER, QUICK, TOKEN, Remote
from tests.gitrepo import GitRepo

REPO = f"{OWNER}/{NAME}"
PHASE_1, PHASE_3, PHASE_4 = "stage/1-foundation", "stage/3-application", "stage/4-etl-and-contract"
ADD = "migrations/versions/0002_add.py"
DROP = "migrations/versions/0003_drop.py"
MODEL = "backend/app/models/thing.py"
SERVICE = "backend/app/service.py"
ETL = "etl/load.py"


def drop_migration(revision: str, parent: str) -> str:
    """A destructive revision: it goes to the last phase."""
    return (
        migration(revision, parent, "drop")
        .replace(
            'op.add_column("t", sa.Column("drop3", sa.Integer(), nullable=True))',
            'op.drop_column("t", "old")',
        )
        .replace(
            'op.drop_column("t", "drop3")', 'op.add_column("t", sa.Column("old", sa.Integer()))'
        )
    )


@dataclass(frozen=True)
class SyncStack:
    git: GitRepo
    remote: Remote
    fake: FakeGitHub

    def stager(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["-C", str(self.git.path), *args])

    def sync(self, *args: str) -> Result:
        return self.stager(
            "sync", "--base", "main", "--head", "feature", "--github-repo", REPO, *args
        )

    def sync_json(self, *args: str) -> dict[str, Any]:
        result = self.sync("--format", "json", *args)
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def remote_main(self) -> str:
        return self.remote.repo.git("rev-parse", "refs/heads/main")

    def land(self, commit: str, pull: int) -> str:
        """``commit`` becomes main on the remote; pull request ``pull`` is merged by it."""
        self.git.git("push", "-q", "origin", f"{commit}:refs/heads/main")
        self.fake.merge(pull, merge_commit=commit)
        return commit

    def merge(self, branch: str, pull: int, how: str) -> str:
        """Merge ``branch`` into the remote's main as GitHub's button does, by ``how``."""
        self.git.git("fetch", "-q", "origin", "main")
        main = self.git.git("rev-parse", "origin/main")
        if how == "merge":
            tree = self.git.git("merge-tree", "--write-tree", main, branch).splitlines()[0]
            commit = self.git.git(
                "commit-tree", tree, "-p", main, "-p", branch, "-m", f"Merge #{pull}"
            )
        elif how == "squash":
            tree = self.git.git("merge-tree", "--write-tree", main, branch).splitlines()[0]
            commit = self.git.git("commit-tree", tree, "-p", main, "-m", f"phase (#{pull})")
        else:  # rebase: each commit made again on main (which the phase starts from)
            commit = main
            for sha in self.git.git("rev-list", "--reverse", f"{main}..{branch}").split():
                message = self.git.git("log", "-1", "--format=%B", sha)
                tree = self.git.git("rev-parse", f"{sha}^{{tree}}")
                commit = self.git.git("commit-tree", tree, "-p", commit, "-m", message)
        return self.land(commit, pull)

    def base_commit(self, message: str, files: dict[str, str]) -> str:
        """Another team's commit on the remote's main."""
        return self.push_commit("main", message, files)

    def push_commit(
        self, branch: str, message: str, files: dict[str, str], author: str = "Rita Reviewer"
    ) -> str:
        """Someone's commit on ``branch`` of the remote (fetched first), pushed there."""
        self.git.git("fetch", "-q", "origin", f"+refs/heads/{branch}:refs/test/{branch}")
        tip = self.git.git("rev-parse", f"refs/test/{branch}")
        index = self.git.path / ".git" / "sync-test-index"
        other = GitRepo(self.git.path, {**self.git.env, "GIT_INDEX_FILE": str(index)})
        other.git("read-tree", tip)
        for path, text in files.items():
            other.git(
                "update-index", "--add", "--cacheinfo", f"100644,{_blob(self.git, text)},{path}"
            )
        tree = other.git("write-tree")
        index.unlink()
        who = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "rita@example.com"}
        commit = GitRepo(self.git.path, {**self.git.env, **who}).git(
            "commit-tree", tree, "-p", tip, "-m", message
        )
        self.git.git("push", "-q", "origin", f"{commit}:refs/heads/{branch}")
        self.git.git("update-ref", "-d", f"refs/test/{branch}")
        return commit

    def refs(self) -> str:
        """Every ref, here and on the remote: what a run that writes nothing leaves as it was."""
        return self.git.git("for-each-ref") + "\n--\n" + self.remote.repo.git("for-each-ref")

    def heads(self, commit: str) -> set[str]:
        """The Alembic heads of ``commit``, as stager's own reader of revision files sees them."""
        repo = Repository(self.git.path)
        return set(GraphReader(repo).graph(repo.list_tree(repo.resolve(commit))).heads())


def _blob(repo: GitRepo, text: str) -> str:
    path = repo.path / ".git" / "sync-test-blob"
    path.write_text(text)
    sha = repo.git("hash-object", "-w", str(path))
    path.unlink()
    return sha


def make_sync_stack(repo: GitRepo, remote: Remote, fake: FakeGitHub) -> SyncStack:
    """main: one revision; feature: an additive revision with its model, a service, an ETL
    script and a destructive revision; split into phases 1, 3 and 4 and opened as #1..#3."""
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/versions/0001_base.py": migration("base1", None, "base"),
            "README.md": "hi\n",
            MODEL: "class Thing:\n    pass\n",
            ETL: "x = 0\n",
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "feature",
        {
            ADD: migration("add2", "base1", "add"),
            MODEL: "class Thing:\n    add2 = 1\n",
            SERVICE: "def f():\n    return 1\n",
            ETL: "x = 1\n",
            DROP: drop_migration("drop3", "add2"),
        },
    )
    repo.git("remote", "add", "origin", str(remote.path))
    repo.git("push", "-q", "origin", "main", "feature")
    stack = SyncStack(repo, remote, fake)
    built = stack.stager("split", "--base", "main", "--all")
    assert built.exit_code == 0, built.output
    opened = stack.stager("open-pr", "--base", "main", "--all", "--github-repo", REPO)
    assert opened.exit_code == 0, opened.output
    return stack


@dataclass(frozen=True)
class StackTemplate:
    """A stack built once per module; each test gets a copy (a third of the cost of a build)."""

    repo: Path
    remote: Path
    pulls: dict[int, FakePull]
    labels: dict[str, dict[str, str]]


def build_template(root: Path) -> StackTemplate:
    """The stack of :func:`make_sync_stack`, in ``root``, with a fake GitHub of its own."""
    env = dict(os.environ)  # the session's sealed environment
    remote_path = root / "remote.git"
    remote_path.mkdir(parents=True)
    remote_repo = GitRepo(remote_path, env)
    remote_repo.git("init", "-q", "--bare", "-b", "main")
    fake = FakeGitHub(OWNER, NAME, TOKEN, remote_path)
    with serve(fake), pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_TOKEN", TOKEN)
        patch.setenv("GITHUB_API_URL", fake.url)
        patch.setattr(open_pr, "CLIENT_SETTINGS", QUICK)
        make_sync_stack(GitRepo.init(root / "repo", env), Remote(remote_path, remote_repo), fake)
    return StackTemplate(root / "repo", remote_path, fake.pulls, fake.labels)


def copy_template(
    template: StackTemplate, repo_path: Path, remote: Remote, fake: FakeGitHub
) -> SyncStack:
    """A copy of ``template``: its repository at ``repo_path``, its remote in ``remote``, its
    pull requests in ``fake``."""
    shutil.copytree(template.repo, repo_path, symlinks=True)
    shutil.rmtree(remote.path)
    shutil.copytree(template.remote, remote.path, symlinks=True)
    repo = GitRepo(repo_path, remote.repo.env)
    repo.git("remote", "set-url", "origin", str(remote.path))
    repo.git("update-index", "-q", "--refresh")
    fake.pulls.update(copy.deepcopy(template.pulls))
    fake.labels.update(copy.deepcopy(template.labels))
    fake._next = max(fake.pulls) + 1
    return SyncStack(repo, remote, fake)
