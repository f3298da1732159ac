"""`stager status`: the stack at a glance, from the record, git and (read-only) the fake GitHub."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from stager.commands import status as status_command
from tests.commands.test_open_pr import SMALL_FEATURE
from tests.github.fake_github import FakeGitHub
from tests.github.fixtures import NAME, OWNER, QUICK, Remote, github, remote
from tests.gitrepo import GitRepo

__all__ = ["github", "remote"]  # fixtures

REPO = f"{OWNER}/{NAME}"
PHASE_1, PHASE_3, PHASE_4 = "stage/1-foundation", "stage/3-application", "stage/4-etl-and-contract"
RECORD = "refs/stager/record/feature"


def stager(path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(path), *args])


def status(path: Path, *args: str) -> dict[str, Any]:
    result = stager(path, "status", "--github-repo", REPO, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def phases(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {phase["branch"]: phase for phase in data["phases"]}


@pytest.fixture
def split(repo: GitRepo) -> GitRepo:
    """A small project (three phases, no migrations) split by stager: its record exists."""
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("feature", SMALL_FEATURE)
    built = stager(repo.path, "split", "--all", "--base", "main")
    assert built.exit_code == 0, built.output
    return repo


@pytest.fixture
def opened(
    split: GitRepo, remote: Remote, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> GitRepo:
    """``split`` pushed with its record, one pull request per phase on the fake GitHub, as
    `stager open-pr --all` leaves them (made directly: open-pr is tested on its own)."""
    monkeypatch.setattr(status_command, "CLIENT_SETTINGS", QUICK)
    split.git("remote", "add", "origin", str(remote.path))
    branches = [PHASE_1, PHASE_3, PHASE_4]
    split.git("push", "-q", "--atomic", "origin", "main", *branches, RECORD)
    for base, head in zip(["main", *branches], branches, strict=False):
        github.add_pull(head, base, f"phase {head}", "", github.login)
    return split


def squash_merge(repo: GitRepo, branch: str) -> str:
    """GitHub's squash merge of ``branch`` into main, pushed: the squashed commit."""
    tree = repo.git("merge-tree", "--write-tree", "main", branch)
    squashed = repo.git("commit-tree", "-p", "main", "-m", f"{branch} (#1)", tree)
    repo.git("update-ref", "refs/heads/main", squashed)
    repo.git("push", "-q", "origin", "main")
    return squashed


def test_without_a_remote_or_token_it_shows_the_git_state_and_unknown_pull_requests(
    split: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    data = status(split.path)
    assert data["branch"] == "feature" and data["base_ref"] == "main"
    assert list(phases(data)) == [PHASE_1, PHASE_3, PHASE_4]
    for phase in data["phases"]:
        assert phase["local"] == phase["built"] == split.git("rev-parse", phase["branch"])
        assert phase["remote"] is None and phase["pull_state"] == "unknown"
        assert phase["merged"] is None and phase["behind_base"] == 0
    assert data["github"].startswith("unknown: no GitHub repository")
    assert data["next"]["command"] == "stager open-pr --all"
    table = stager(split.path, "status")
    assert table.exit_code == 0, table.output
    assert "next: stager open-pr --all" in table.stdout and "unknown" in table.stdout


def test_no_split_says_how_to_make_or_fetch_one(repo: GitRepo) -> None:
    repo.commit("base", {"README.md": "hello\n"})
    result = stager(repo.path, "status")
    assert result.exit_code == 1
    assert "no stager split of 'main'" in result.stderr
    assert "stager split --all" in result.stderr and "refs/stager/*" in result.stderr


def test_open_pull_requests_with_their_review_then_a_squash_merge_asks_for_sync(
    opened: GitRepo, github: FakeGitHub
) -> None:
    writes = len(github.writes)
    data = status(opened.path)
    assert data["github"] == f"read from {REPO} at {github.url}"
    for phase in data["phases"]:
        assert phase["remote"] == phase["local"] and phase["pull_state"] == "open"
        assert phase["pull_request"]["review"] == "no review yet"
    assert data["next"] == {"command": None, "why": "waiting for the review of #1 (phase 1)"}
    github.review(1, "alice", "APPROVED")
    data = status(opened.path)
    first = phases(data)[PHASE_1]["pull_request"]
    assert (first["review"], first["approved_by"]) == ("approved", ["alice"])
    assert "merge it on GitHub, then run `stager sync`" in data["next"]["why"]

    squashed = squash_merge(opened, PHASE_1)
    github.merge(1, merge_commit=squashed)
    data = status(opened.path)
    one, three = phases(data)[PHASE_1], phases(data)[PHASE_3]
    assert one["merged"]["state"] == "merged" and one["merged"]["how"] == "squash or rebase"
    assert one["pull_state"] == "merged" and one["pull_request"]["merge_commit"] == squashed
    assert three["behind_base"] == 1
    # GitHub has not retargeted #2 yet: it still goes into the merged phase's branch.
    assert three["pull_state"] == "stale" and "the stack needs main" in three["stale_because"]
    assert data["next"]["command"] == "stager sync"
    assert len(github.writes) == writes  # status only reads
    table = stager(opened.path, "status", "--github-repo", REPO)
    assert "#1 merged as " + squashed[:12] in " ".join(table.stdout.split())
    # After sync the stack is rebuilt: status must not send the user back to sync.
    synced = stager(opened.path, "sync", "--github-repo", REPO)
    assert synced.exit_code == 0, synced.output
    data = status(opened.path)
    assert phases(data)[PHASE_3]["behind_base"] == 0
    assert data["next"]["command"] != "stager sync", data["next"]


def test_a_reviewers_commit_prints_the_cherry_pick_until_the_feature_branch_has_it(
    opened: GitRepo, github: FakeGitHub
) -> None:
    opened.git("switch", "-q", PHASE_3)
    fix = opened.commit("reviewer: fix f", {"backend/app/service.py": "def f():\n    return 2\n"})
    opened.git("push", "-q", "origin", PHASE_3)
    opened.git("switch", "-q", "feature")
    three = phases(status(opened.path))[PHASE_3]
    assert three["foreign_commits"] == [fix] and three["foreign_in_feature"] == []
    assert three["cherry_pick"] == f"git cherry-pick {fix[:12]}"
    # The pull request shows the reviewer's commit: not stale, stager's own record is older.
    assert three["pull_state"] == "open"
    table = stager(opened.path, "status", "--github-repo", REPO)
    assert f"run on it: git cherry-pick {fix[:12]}" in " ".join(table.stdout.split())
    opened.git("cherry-pick", fix)
    three = phases(status(opened.path))[PHASE_3]
    assert three["foreign_in_feature"] == [fix] and three["cherry_pick"] is None
    assert three["behind_monolith"] == ["backend/app/service.py"]


def test_a_change_on_the_feature_branch_after_the_split_is_behind_the_monolith(
    split: GitRepo,
) -> None:
    split.commit("more", {"etl/load.py": "x = 2\n", "notes.txt": "new\n"})
    data = status(split.path)
    assert data["monolith_moved"] and data["new_paths"] == ["notes.txt"]
    assert phases(data)[PHASE_4]["behind_monolith"] == ["etl/load.py"]
    assert phases(data)[PHASE_1]["behind_monolith"] == []
    assert data["next"]["command"] == "stager sync"


def test_github_failing_is_a_warning_with_the_git_state(
    opened: GitRepo, github: FakeGitHub
) -> None:
    github.fail("GET", r"/pulls$", 500, times=100)
    result = stager(opened.path, "status", "--github-repo", REPO, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "stager: warning: GitHub could not be read" in result.stderr
    data = json.loads(result.stdout)
    assert data["github"] == "unknown: GitHub could not be read"
    assert {phase["pull_state"] for phase in data["phases"]} == {"unknown"}
    assert all(phase["remote"] == phase["local"] for phase in data["phases"])


def test_github_says_merged_where_git_alone_is_unsure(opened: GitRepo, github: FakeGitHub) -> None:
    squashed = squash_merge(opened, PHASE_1)
    github.merge(1, merge_commit=squashed)
    # main changes phase 1's file again: by content, phase 1 is only partly on main.
    opened.git("switch", "-q", "main")
    opened.commit("main: rename", {"backend/app/models/thing.py": "class Thing2:\n    pass\n"})
    opened.git("switch", "-q", "feature")
    one = phases(status(opened.path))[PHASE_1]
    assert one["merged"]["state"] == "merged"
    assert one["merged"]["how"] == "its pull request's merge commit"
    # Without a token, git alone: not merged (nothing of it is on main as built).
    git_only = phases(status(opened.path, "--remote", "nowhere"))[PHASE_1]
    assert git_only["merged"] is None and git_only["pull_state"] == "unknown"


def test_a_fresh_clone_that_fetched_the_records_reads_the_stack(
    opened: GitRepo, remote: Remote, tmp_path: Path, git_env: dict[str, str]
) -> None:
    opened.git("push", "-q", "origin", "feature")
    clone = GitRepo(tmp_path / "clone", git_env)
    opened.git("clone", "-q", str(remote.path), str(clone.path))
    clone.git("fetch", "-q", "origin", "refs/stager/*:refs/stager/*")
    data = status(clone.path, "--head", "origin/feature")
    assert list(phases(data)) == [PHASE_1, PHASE_3, PHASE_4]
    for phase in data["phases"]:
        assert phase["local"] is None and phase["remote"] == phase["built"]
        assert phase["remote_state"] == "remote only"
        assert phase["pull_state"] == "open"
    assert data["next"]["why"] == "waiting for the review of #1 (phase 1)"


def test_a_merged_pull_request_of_an_earlier_stack_with_the_same_branch_is_not_this_phases(
    split: GitRepo, remote: Remote, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_command, "CLIENT_SETTINGS", QUICK)
    split.git("remote", "add", "origin", str(remote.path))
    split.git("push", "-q", "origin", "main", f"main:{PHASE_1}")  # last feature's phase 1
    old = github.add_pull(PHASE_1, "main", "an earlier feature's phase 1", "", "someone")
    github.merge(old.number)
    split.git("push", "-q", "--force", "origin", PHASE_1)
    one = phases(status(split.path))[PHASE_1]
    assert one["pull_state"] == "none" and one["pull_request"] is None
    assert one["merged"] is None


def test_a_reviewers_push_is_fetched_first_then_listed_from_the_remote(
    opened: GitRepo, remote: Remote, tmp_path: Path, git_env: dict[str, str]
) -> None:
    reviewer = GitRepo(tmp_path / "reviewer", git_env)
    opened.git("clone", "-q", "-b", PHASE_4, str(remote.path), str(reviewer.path))
    fix = reviewer.commit("reviewer: etl fix", {"etl/load.py": "x = 3\n"})
    reviewer.git("push", "-q", "origin", PHASE_4)
    data = status(opened.path)
    four = phases(data)[PHASE_4]
    assert (four["remote"], four["remote_state"]) == (fix, "not fetched")
    assert data["next"]["command"] == "git fetch origin"
    opened.git("fetch", "-q", "origin")
    data = status(opened.path)
    four = phases(data)[PHASE_4]
    assert four["remote_state"] == "ahead" and four["foreign_commits"] == [fix]
    assert four["cherry_pick"] == f"git cherry-pick {fix[:12]}"
    # Nothing to push: the pull request already shows the reviewer's commit.
    assert four["pull_state"] == "open"
    assert data["next"]["command"] is None


def test_a_phase_merged_before_the_last_split_is_shown_from_the_earlier_record(
    split: GitRepo,
) -> None:
    tree = split.git("rev-parse", f"{PHASE_1}^{{tree}}")
    squashed = split.git("commit-tree", "-p", "main", "-m", "phase 1 (#1)", tree)
    split.git("update-ref", "refs/heads/main", squashed)
    again = stager(split.path, "split", "--all", "--base", "main", "--force")
    assert again.exit_code == 0, again.output
    data = status(split.path, "--remote", "nowhere")
    # The last split has no phase 1 any more: the earlier record's is shown, merged.
    assert list(phases(data)) == [PHASE_1, PHASE_3, PHASE_4]
    one = phases(data)[PHASE_1]
    assert (one["merged"]["state"], one["merged"]["how"]) == ("merged", "squash or rebase")
    assert phases(data)[PHASE_3]["behind_base"] == 0  # built onto main's new tip
    # Rebuilt already, and not on the remote: pushing them (and their pull requests) is next.
    assert data["next"]["command"] == "stager open-pr --all", data["next"]


def test_a_phase_split_with_nothing_on_top_of_its_start_is_empty_and_asks_for_nothing(
    split: GitRepo,
) -> None:
    # Phase 1's content reached main by another way than its pull request (the record
    # lost): split builds it with no commit, at main's tip.
    tree = split.git("rev-parse", f"{PHASE_1}^{{tree}}")
    squashed = split.git("commit-tree", "-p", "main", "-m", "phase 1's files", tree)
    split.git("update-ref", "refs/heads/main", squashed)
    split.git("update-ref", "-d", RECORD)
    for branch in (PHASE_1, PHASE_3, PHASE_4):
        split.git("branch", "-D", branch)
    again = stager(split.path, "split", "--all", "--base", "main")
    assert again.exit_code == 0, again.output
    data = status(split.path, "--remote", "nowhere")
    one = phases(data)[PHASE_1]
    assert one["empty"] and one["built"] == squashed and one["merged"] is None
    # No pull request for it: GitHub would refuse one ("no commits between").
    assert data["next"]["why"] == "phases 3, 4: the branch is not on the remote"


def test_independent_phases_pull_requests_all_go_into_the_base(
    repo: GitRepo, remote: Remote, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_command, "CLIENT_SETTINGS", QUICK)
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("feature", SMALL_FEATURE)
    built = stager(repo.path, "split", "--all", "--base", "main", "--layout", "independent")
    assert built.exit_code == 0, built.output
    repo.git("remote", "add", "origin", str(remote.path))
    branches = [PHASE_1, PHASE_3, PHASE_4]
    repo.git("push", "-q", "--atomic", "origin", "main", *branches, RECORD)
    for branch in branches:
        github.add_pull(branch, "main", f"phase {branch}", "", github.login)
    data = status(repo.path)
    assert data["layout"] == "independent"
    assert {phase["pull_state"] for phase in data["phases"]} == {"open"}


def test_without_a_token_the_pull_requests_are_unknown_and_the_branches_still_read(
    opened: GitRepo, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    only_git = tmp_path / "bin"  # git on PATH, and no gh CLI to ask for a token
    only_git.mkdir()
    (only_git / "git").symlink_to(str(shutil.which("git")))
    monkeypatch.setenv("PATH", str(only_git))
    data = status(opened.path)
    assert data["github"].startswith("unknown: no GitHub token for ")
    assert "GITHUB_TOKEN" in data["github"] and "gh auth login" in data["github"]
    assert {phase["pull_state"] for phase in data["phases"]} == {"unknown"}
    assert all(phase["remote_state"] == "same" for phase in data["phases"])
    assert (
        data["next"]["command"] is None
        and "pull requests' state is unknown" in (data["next"]["why"])
    )
    assert github.requests == []


def test_a_change_to_a_merged_phases_file_after_the_split_is_in_no_phase_left(
    split: GitRepo,
) -> None:
    tree = split.git("rev-parse", f"{PHASE_1}^{{tree}}")
    squashed = split.git("commit-tree", "-p", "main", "-m", "phase 1 (#1)", tree)
    split.git("update-ref", "refs/heads/main", squashed)
    split.commit("fix the model", {"backend/app/models/thing.py": "class Thing:\n    x = 1\n"})
    data = status(split.path, "--remote", "nowhere")
    assert data["new_paths"] == ["backend/app/models/thing.py"]
    assert data["next"]["command"] == "stager sync"


def test_a_base_that_moved_on_the_remote_asks_for_sync_before_anything_else(
    opened: GitRepo, tmp_path: Path
) -> None:
    # Someone squash-merged phase 1 on the remote (GitHub's button): nothing fetched here.
    remote_path = opened.git("remote", "get-url", "origin")
    other = GitRepo(tmp_path / "other", opened.env)
    opened.git("clone", "-q", "-b", "main", remote_path, str(other.path))
    tree = other.git("merge-tree", "--write-tree", "main", f"origin/{PHASE_1}")
    squashed = other.git("commit-tree", "-p", "main", "-m", "phase 1 (#1)", tree)
    other.git("push", "-q", "origin", f"{squashed}:refs/heads/main")
    data = status(opened.path)
    assert data["base_on_remote"] == squashed
    assert data["next"]["command"] == "stager sync"
    assert "has not fetched" in data["next"]["why"]
