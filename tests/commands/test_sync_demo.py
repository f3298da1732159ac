"""The demo's default split squash-merged phase by phase into main, `stager sync` after each:
main ends as git's merge of (main before the first merge, head), apart from what the split
rewrote (re-chained and derived revision files), with one Alembic head. One test: the demo
is big (a copy of the session's template)."""

from __future__ import annotations

import json

from stager.branches.heads import GraphReader
from stager.demo import DemoRepository
from stager.git.repository import Repository
from tests.commands.sync_stack import REPO, SyncStack
from tests.github.fake_github import FakeGitHub
from tests.github.fixtures import Remote, github, remote
from tests.gitrepo import GitRepo

__all__ = ["github", "remote"]  # fixtures


def test_the_demo_squash_merged_phase_by_phase_through_sync_ends_as_head(
    demo: DemoRepository, git_env: dict[str, str], remote: Remote, github: FakeGitHub
) -> None:
    git = GitRepo(demo.path, git_env)
    verb = "set-url" if "origin" in git.git("remote").split() else "add"
    git.git("remote", verb, "origin", str(remote.path))
    git.git("push", "-q", "origin", demo.base_branch, demo.head_branch)
    stack = SyncStack(git, remote, github)
    head = ("--base", demo.base_branch, "--head", demo.head_branch)
    assert stack.stager("split", *head, "--all").exit_code == 0
    opened = stack.stager("open-pr", *head, "--all", "--github-repo", REPO)
    assert opened.exit_code == 0, opened.output
    before = stack.remote_main()
    expected = git.git("merge-tree", "--write-tree", before, demo.head).splitlines()[0]
    rewritten: set[str] = set()
    for pull in sorted(github.pulls.values(), key=lambda pull: pull.number):
        record = json.loads(git.git("show", f"refs/stager/record/{demo.head_branch}:record.json"))
        rewritten |= {rw["path"] for phase in record["phases"] for rw in phase["rewrites"]}
        stack.merge(pull.head, pull.number, "squash")
        synced = stack.stager("sync", *head, "--github-repo", REPO, "--format", "json")
        assert synced.exit_code == 0, synced.output
        assert all(p.state == "open" for p in github.pulls.values() if not p.merged)
    main = stack.remote_main()
    differ = set(git.git("diff", "--name-only", expected, f"{main}^{{tree}}").split())
    assert differ <= rewritten, differ - rewritten
    repo = Repository(demo.path)
    assert len(GraphReader(repo).graph(repo.list_tree(repo.resolve(main))).heads()) == 1
