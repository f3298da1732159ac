"""`stager open-pr` end to end: real git, a bare remote, real PyGithub, the fake GitHub API."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from stager.github.body import BEGIN, END
from tests.github.fake_github import FakeGitHub
from tests.github.fixtures import NAME, OWNER, TOKEN, Remote, github, remote
from tests.github.phase_branches import analysis_of, build_phase_branches
from tests.gitrepo import GitRepo
from tests.progress_lines import without_progress

__all__ = ["github", "remote"]  # fixtures

REPO = f"{OWNER}/{NAME}"
BRANCHES = ["stage/1-foundation", "stage/2-data", "stage/3-application", "stage/4-etl-and-contract"]


@dataclass(frozen=True)
class Stack:
    path: Path
    git: GitRepo
    remote: Remote
    fake: FakeGitHub

    def open_pr(self, *args: str, repo: str | None = REPO) -> Result:
        extra = ["--github-repo", repo] if repo else []
        command = ["-C", str(self.path), "open-pr", *extra, *args]
        return CliRunner().invoke(cli, command, catch_exceptions=False)

    def split(self, *args: str) -> Result:
        """`stager split --all` in place of the hand-made branches (stager replaces no branch
        it did not create, even with --force)."""
        for branch in self.git.git(
            "branch", "--list", "--format=%(refname:short)", "stage/*"
        ).split():
            self.git.git("branch", "-D", branch)
        return CliRunner().invoke(cli, ["-C", str(self.path), "split", "--all", *args])

    def open_pr_json(self, *args: str, repo: str | None = REPO) -> dict[str, Any]:
        result = self.open_pr("--all", "--format", "json", *args, repo=repo)
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data


def make_stack(path: Path, git_env: dict[str, str], remote: Remote, fake: FakeGitHub) -> Stack:
    repo = GitRepo(path, git_env)
    # The demo comes with a fictional GitHub origin: point it at the local bare remote.
    verb = "set-url" if "origin" in repo.git("remote").split() else "add"
    repo.git("remote", verb, "origin", str(remote.path))
    repo.git("push", "-q", "origin", "main")
    return Stack(path, repo, remote, fake)


@pytest.fixture
def stack(
    demo: DemoRepository, git_env: dict[str, str], remote: Remote, github: FakeGitHub
) -> Stack:
    """The demo with one branch per phase (stacked) and a bare remote holding main."""
    built = build_phase_branches(
        demo.path, analysis_of(demo.path, demo.base_branch, demo.head_branch)
    )
    assert list(built.values()) == BRANCHES
    return make_stack(demo.path, git_env, remote, github)


SMALL_FEATURE = {
    "backend/app/models/thing.py": "class Thing:\n    pass\n",
    "backend/app/service.py": "def f():\n    return 1\n",
    "etl/load.py": "x = 1\n",
}
SMALL_BRANCHES = ["stage/1-foundation", "stage/3-application", "stage/4-etl-and-contract"]


@pytest.fixture
def small(repo: GitRepo, git_env: dict[str, str], remote: Remote, github: FakeGitHub) -> Stack:
    """A small project (no migrations, three phases): quick to analyse."""
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("feature", SMALL_FEATURE)
    built = build_phase_branches(repo.path, analysis_of(repo.path, "main", "feature"))
    assert list(built.values()) == SMALL_BRANCHES
    return make_stack(repo.path, git_env, remote, github)


def test_first_run_pushes_and_creates_the_stack(stack: Stack) -> None:
    result = stack.open_pr("--all")
    assert result.exit_code == 0, result.output
    for branch in BRANCHES:
        assert stack.remote.branch(branch) == stack.git.git("rev-parse", branch)
    pulls = sorted(stack.fake.pulls.values(), key=lambda p: p.number)
    assert [(p.head, p.base) for p in pulls] == [
        ("stage/1-foundation", "main"),
        ("stage/2-data", "stage/1-foundation"),
        ("stage/3-application", "stage/2-data"),
        ("stage/4-etl-and-contract", "stage/3-application"),
    ]
    assert all(p.state == "open" and not p.draft for p in pulls)
    assert pulls[0].title.startswith("Foundation") and pulls[0].title.endswith("(phase 1/4)")
    assert "REQUIRES MAINTENANCE WINDOW" in pulls[3].title
    for pull in pulls:
        assert pull.body.startswith(BEGIN) and pull.body.endswith(END)
        for other in pulls:  # every body links the whole stack
            assert f"#{other.number}" in pull.body or other is pull
    assert [p.labels for p in pulls] == [
        ["risk:high"],
        ["risk:high"],
        ["risk:high"],
        ["risk:critical"],
    ]
    assert (
        "created" in result.stdout
        and "https://github.example/acme/fuel-credits/pull/1" in result.stdout
    )
    assert "token from GITHUB_TOKEN" in result.stdout


def test_second_run_makes_zero_writes(stack: Stack) -> None:
    first = stack.open_pr_json()
    assert [pr["action"] for pr in first["pull_requests"]] == ["created"] * 4
    assert first["pushed"] == BRANCHES
    writes = len(stack.fake.writes)
    second = stack.open_pr_json()
    assert len(stack.fake.writes) == writes
    assert second["pushed"] == []
    assert [pr["action"] for pr in second["pull_requests"]] == ["unchanged"] * 4
    assert [pr["writes"] for pr in second["pull_requests"]] == [[]] * 4
    entry = second["pull_requests"][1]
    assert set(entry) >= {"phase", "branch", "base", "number", "url", "action"}
    assert (entry["phase"], entry["branch"], entry["number"]) == (2, "stage/2-data", 2)
    assert entry["url"] == "https://github.example/acme/fuel-credits/pull/2"


def test_a_remote_branch_stager_did_not_push_is_refused(small: Stack) -> None:
    theirs = small.git.git("rev-parse", "main")
    small.git.git("push", "-q", "origin", "main:stage/3-application")  # someone's, same name
    result = small.open_pr("--all")
    assert result.exit_code == 1
    assert "'stage/3-application' already exists on origin" in result.stderr
    assert "stager did not push it" in result.stderr
    assert small.remote.branch("stage/3-application") == theirs
    assert small.remote.branch("stage/1-foundation") is None  # nothing was pushed
    assert small.fake.writes == []


def test_a_persons_edit_outside_the_markers_survives(stack: Stack) -> None:
    assert stack.open_pr("--all").exit_code == 0
    pull = stack.fake.pulls[2]
    # GitHub's web editor stores CRLF; the reviewer adds notes above and below
    pull.body = ("Reviewer notes: run on staging first.\n\n" + pull.body + "\n\nThanks!").replace(
        "\n", "\r\n"
    )
    writes = len(stack.fake.writes)
    assert stack.open_pr("--all").exit_code == 0
    assert len(stack.fake.writes) == writes  # only people's text changed: nothing to write

    generated = pull.body[pull.body.index(BEGIN) : pull.body.index(END)]
    pull.body = pull.body.replace(generated, BEGIN + "\r\nstale text\r\n")
    data = stack.open_pr_json()
    assert data["pull_requests"][1]["action"] == "updated"
    assert data["pull_requests"][1]["writes"] == ["body"]
    assert pull.body.startswith("Reviewer notes: run on staging first.\r\n\r\n" + BEGIN)
    assert pull.body.endswith(END + "\r\n\r\nThanks!")
    assert "stale text" not in pull.body and "## Overview" in pull.body


def test_retargeting_after_a_phase_is_added(
    repo: GitRepo, git_env: dict[str, str], remote: Remote, github: FakeGitHub
) -> None:
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "feature", {"backend/app/service.py": "def f():\n    return 1\n", "etl/load.py": "x = 1\n"}
    )
    stack = make_stack(repo.path, git_env, remote, github)
    built = build_phase_branches(repo.path, analysis_of(repo.path, "main", "feature"))
    assert list(built.values()) == ["stage/3-application", "stage/4-etl-and-contract"]
    first = stack.open_pr_json()
    assert [(pr["number"], pr["base"]) for pr in first["pull_requests"]] == [
        (1, "main"),
        (2, "stage/3-application"),
    ]
    # the branch gains a model: a foundation phase appears below the others
    repo.commit("model", {"backend/app/models/thing.py": "class Thing:\n    pass\n"})
    rebuilt = build_phase_branches(repo.path, analysis_of(repo.path, "main", "feature"))
    assert list(rebuilt) == [1, 3, 4]
    second = stack.open_pr_json()
    assert second["pushed"] == [
        "stage/1-foundation",
        "stage/3-application",
        "stage/4-etl-and-contract",
    ]
    assert [
        (pr["phase"], pr["number"], pr["base"], pr["action"]) for pr in second["pull_requests"]
    ] == [
        (1, 3, "main", "created"),
        (3, 1, "stage/1-foundation", "updated"),  # retargeted, same pull request
        (4, 2, "stage/3-application", "updated"),
    ]
    assert "base" in second["pull_requests"][1]["writes"]
    assert all(pull.state == "open" for pull in github.pulls.values())  # none closed
    assert github.pulls[1].base == "stage/1-foundation"
    assert (len(github.writes), stack.open_pr_json()["pushed"]) == (len(github.writes), [])


def test_independent_layout_bases_every_pull_request_on_the_base_branch(
    demo: DemoRepository, git_env: dict[str, str], remote: Remote, github: FakeGitHub
) -> None:
    analysis = analysis_of(demo.path, demo.base_branch, demo.head_branch)
    build_phase_branches(demo.path, analysis, stacked=False)
    stack = make_stack(demo.path, git_env, remote, github)
    data = stack.open_pr_json()
    assert {pr["base"] for pr in data["pull_requests"]} == {"main"}


def test_one_phase_pushes_its_bases_too(stack: Stack) -> None:
    result = stack.open_pr("--phase", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["pushed"] == ["stage/1-foundation", "stage/2-data"]
    assert [pr["phase"] for pr in data["pull_requests"]] == [2]
    (pull,) = stack.fake.pulls.values()
    assert pull.base == "stage/1-foundation"
    assert "`stage/1-foundation`" in pull.body  # phase 1 has no pull request yet


def test_draft_at_creation_only(small: Stack) -> None:
    assert small.open_pr("--phase", "1").exit_code == 0
    result = small.open_pr("--all", "--draft")
    assert result.exit_code == 0
    drafts = [p.draft for p in sorted(small.fake.pulls.values(), key=lambda p: p.number)]
    assert drafts == [False, True, True]
    assert "--draft applies only when stager opens a pull request" in result.stdout


def test_reviewers_per_category_from_the_rules(stack: Stack) -> None:
    rules = stack.path / ".stager" / "rules.toml"
    rules.parent.mkdir()
    rules.write_text(
        'extends = "default"\n\n[github.reviewers]\nmigration-data = ["dba-alice"]\n'
        'migration-destructive = ["dba-alice", "lead-bob"]\n\n'
        '[github.team_reviewers]\netl-and-scripts = ["data-platform"]\n'
    )
    assert stack.open_pr("--all").exit_code == 0
    pulls = stack.fake.pulls
    assert (pulls[1].requested_users, pulls[1].requested_teams) == ([], [])
    assert pulls[2].requested_users == ["dba-alice"]
    assert pulls[4].requested_users == ["dba-alice", "lead-bob"]
    assert pulls[4].requested_teams == ["data-platform"]
    pulls[4].requested_users.remove("lead-bob")
    pulls[4].reviews.append("lead-bob")  # reviewed: GitHub removes the request
    writes = len(stack.fake.writes)
    assert stack.open_pr("--all").exit_code == 0
    assert len(stack.fake.writes) == writes  # nobody asked twice


def test_dry_run_renders_everything_without_network(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")  # no token needed either
    result = stack.open_pr("--all", "--dry-run")
    assert result.exit_code == 0, result.output
    assert stack.fake.requests == []
    assert all(stack.remote.branch(branch) is None for branch in BRANCHES)
    out = result.stdout
    assert out.count("Title: ") == 4 and out.count("## Overview") == 4
    assert "git push --atomic --porcelain" in out
    assert "--force-with-lease=refs/heads/stage/1-foundation: " in out
    assert f"POST /repos/{REPO}/pulls  head=stage/2-data base=stage/1-foundation" in out
    data = stack.open_pr_json("--dry-run")
    assert [pr["action"] for pr in data["pull_requests"]] == ["dry-run"] * 4
    assert data["push"][:3] == ["git", "push", "--atomic"]
    assert data["pull_requests"][0]["body"].startswith("## Overview")


def test_dry_run_derives_a_ghe_api_from_the_remote(
    small: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_API_URL")
    small.git.git("remote", "set-url", "origin", "git@ghe.corp.example:fuel/credits.git")
    data = small.open_pr_json("--dry-run", repo=None)
    assert (data["repository"], data["api_url"]) == (
        "fuel/credits",
        "https://ghe.corp.example/api/v3",
    )
    result = small.open_pr("--all", "--dry-run", repo=None)
    assert "GitHub: fuel/credits at https://ghe.corp.example/api/v3" in result.stdout


def test_missing_phase_branches_say_to_split_first(
    demo: DemoRepository, git_env: dict[str, str], remote: Remote, github: FakeGitHub
) -> None:
    stack = make_stack(demo.path, git_env, remote, github)
    result = stack.open_pr("--all")
    assert result.exit_code == 1
    assert "stage/1-foundation" in result.stderr
    assert "run `stager split --all` first" in result.stderr


def test_phase_and_all_are_exclusive(small: Stack) -> None:
    assert small.open_pr().exit_code == 2
    assert small.open_pr("--all", "--phase", "1").exit_code == 2
    result = small.open_pr("--phase", "9")
    assert result.exit_code == 1 and "pick one of the phases with files: 1, 3, 4" in result.stderr


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("bad-token", "401 Unauthorized"),
        ("missing-repo", "404 Not Found"),
        ("forbidden", "403 Forbidden"),
        ("invalid", "422 Unprocessable Entity"),
        ("outage", "GitHub answered 503"),
    ],
)
def test_http_errors_are_clear_and_never_show_the_token(
    small: Stack, monkeypatch: pytest.MonkeyPatch, setup: str, expected: str
) -> None:
    repo = REPO
    if setup == "bad-token":
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN + "-revoked")
    elif setup == "missing-repo":
        repo = "acme/missing"
    elif setup == "forbidden":
        small.fake.fail("POST", "/pulls$", 403, message=f"token {TOKEN} may not create PRs")
    elif setup == "invalid":
        assert small.open_pr("--all").exit_code == 0
        small.fake.pulls[1].title = "renamed by hand"
        small.fake.fail("PATCH", "/pulls/", 422, message=f"Validation Failed for {TOKEN}")
    else:
        small.fake.fail("GET", f"/repos/{REPO}$", 503, times=100)
    result = small.open_pr("--all", repo=repo)
    assert result.exit_code == 1
    assert expected in result.stderr
    for text in (result.stdout, result.stderr):
        assert TOKEN not in text
    if setup in ("bad-token", "missing-repo", "outage"):
        assert small.remote.branch("stage/1-foundation") is None  # checked before pushing


def test_the_real_split_then_open_pr(stack: Stack) -> None:
    """With `stager split` building the branches (re-chained migrations and all)."""
    split = stack.split()
    assert split.exit_code == 0, split.output
    first = stack.open_pr_json()
    assert [pr["action"] for pr in first["pull_requests"]] == ["created"] * 4
    writes = len(stack.fake.writes)
    assert stack.open_pr_json()["pull_requests"][0]["action"] == "unchanged"
    assert len(stack.fake.writes) == writes
    # split --force again: the phases are unchanged, so nothing is force-pushed
    forced = CliRunner().invoke(cli, ["-C", str(stack.path), "split", "--all", "--force"])
    assert forced.exit_code == 0, forced.output
    again = stack.open_pr_json()
    assert again["pushed"] == [] and len(stack.fake.writes) == writes


def test_verbose_logs_never_show_the_token(small: Stack, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        command = ["-v", "-C", str(small.path), "open-pr", "--all", "--github-repo", REPO]
        result = CliRunner().invoke(cli, command, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert any("/pulls" in record.getMessage() for record in caplog.records)
    assert TOKEN not in caplog.text and TOKEN not in result.output


def test_markdown_lists_the_pull_requests(small: Stack) -> None:
    result = small.open_pr("--all", "--format", "markdown")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("- [#1 ") and lines[0].endswith(
        "](https://github.example/acme/fuel-credits/pull/1) — created"
    )


def test_a_phase_that_empties_leaves_its_pull_request_open_with_a_note(small: Stack) -> None:
    first = small.open_pr_json()
    assert [pr["phase"] for pr in first["pull_requests"]] == [1, 3, 4]
    small.git.remove("backend/app/models/thing.py")
    small.git.commit("drop the model")
    rebuilt = build_phase_branches(small.path, analysis_of(small.path, "main", "feature"))
    assert list(rebuilt) == [3, 4]
    second = small.open_pr_json()
    assert [(pr["phase"], pr["base"]) for pr in second["pull_requests"]] == [
        (3, "main"),
        (4, "stage/3-application"),
    ]
    assert second["stale"] == [
        {
            "phase": 1,
            "branch": "stage/1-foundation",
            "number": 1,
            "url": "https://github.example/acme/fuel-credits/pull/1",
        }
    ]
    assert small.fake.pulls[1].state == "open"  # never closed, its branch never deleted
    assert small.remote.branch("stage/1-foundation") is not None
    table = small.open_pr("--all")
    assert "note: #1 (stage/1-foundation) is still open" in table.stdout


def test_a_remote_tracking_base_is_the_remote_branch(small: Stack) -> None:
    small.git.git("fetch", "-q", "origin")
    data = small.open_pr_json("--base", "origin/main", "--head", "feature", "--dry-run")
    assert data["pull_requests"][0]["base"] == "main"
    tag = small.open_pr("--all", "--base", small.git.git("rev-parse", "main"), "--dry-run")
    assert tag.exit_code == 1 and "is not a branch" in tag.stderr


def test_a_template_error_stops_before_any_push_or_api_call(small: Stack) -> None:
    template = small.path / ".stager" / "templates" / "phases" / "application" / "pr_body.md.j2"
    template.parent.mkdir(parents=True)
    template.write_text("## Overview\n\n{{ phase.nmae }}\n")
    result = small.open_pr("--all")
    assert result.exit_code == 1
    assert "phases/application/pr_body.md.j2:3" in result.stderr and "nmae" in result.stderr
    assert all(small.remote.branch(branch) is None for branch in SMALL_BRANCHES)
    assert small.fake.requests == []
    assert small.fake.pulls == {}


def test_a_template_that_would_never_finish_stops_at_once(
    repo: GitRepo, git_env: dict[str, str], remote: Remote, github: FakeGitHub
) -> None:
    """A repository's template asking for 10 GB: exit 1 at once, naming it; nothing pushed."""
    bomb = "## Overview\n{{ 'a' * 10**10 }}\n"
    repo.commit("base", {"README.md": "hello\n", ".stager/templates/pr_body.md.j2": bomb})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("feature", SMALL_FEATURE)
    build_phase_branches(repo.path, analysis_of(repo.path, "main", "feature"))
    stack = make_stack(repo.path, git_env, remote, github)
    # A process of its own with a timeout: without the limit it would never return.
    command = ["-C", str(stack.path), "open-pr", "--github-repo", REPO, "--all", "--dry-run"]
    dry_run = subprocess.run(
        [sys.executable, "-m", "stager", *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dry_run.returncode == 1, dry_run.stderr
    where = f"{stack.path}/.stager/templates/pr_body.md.j2:2"
    assert f"{where}: repeating it 10,000,000,000 times would make a string" in dry_run.stderr
    assert dry_run.stdout == ""
    result = stack.open_pr("--all")
    assert result.exit_code == 1 and where in result.stderr
    assert all(stack.remote.branch(branch) is None for branch in SMALL_BRANCHES)
    assert stack.fake.requests == []


@pytest.mark.parametrize(
    "change", [{"backend/app/extra.py": "y = 2\n"}, {"etl/load.py": "x = 2\n"}]
)
def test_phase_branches_older_than_the_branch_are_refused(
    small: Stack, change: dict[str, str]
) -> None:
    assert small.open_pr("--all").exit_code == 0
    pushed = {branch: small.remote.branch(branch) for branch in SMALL_BRANCHES}
    writes = len(small.fake.writes)
    small.git.commit("after the split", change)  # no new split
    result = small.open_pr("--all")
    assert result.exit_code == 1
    assert "do not match feature" in result.stderr and next(iter(change)) in result.stderr
    assert "run `stager split --all --force` first" in result.stderr
    assert {branch: small.remote.branch(branch) for branch in SMALL_BRANCHES} == pushed
    assert len(small.fake.writes) == writes


def test_a_merged_phase_is_neither_pushed_nor_reopened(small: Stack) -> None:
    assert small.open_pr("--all").exit_code == 0
    # Merge #1 as GitHub does (main moves to its branch), delete its branch, retarget #2.
    merged_sha = small.remote.branch("stage/1-foundation")
    small.remote.repo.git("update-ref", "refs/heads/main", str(merged_sha))
    small.remote.repo.git("update-ref", "-d", "refs/heads/stage/1-foundation")
    small.fake.merge(1)
    small.fake.pulls[2].base = "main"
    data = small.open_pr_json()
    assert data["closed"] == [
        {
            "phase": 1,
            "branch": "stage/1-foundation",
            "number": 1,
            "url": "https://github.example/acme/fuel-credits/pull/1",
            "merged": True,
        }
    ]
    assert [(pr["phase"], pr["number"], pr["base"]) for pr in data["pull_requests"]] == [
        (3, 2, "main"),
        (4, 3, "stage/3-application"),
    ]
    assert small.remote.branch("stage/1-foundation") is None  # not pushed again
    assert "stage/1-foundation" not in data["pushed"]
    assert sorted(small.fake.pulls) == [1, 2, 3]  # no duplicate of #1
    assert small.fake.pulls[2].base == "main"
    table = small.open_pr("--all")
    assert table.exit_code == 0 and "note: #1 (stage/1-foundation) was merged" in table.stdout


def test_a_closed_phase_pull_request_is_not_reopened_as_a_new_one(small: Stack) -> None:
    assert small.open_pr("--all").exit_code == 0
    small.fake.pulls[3].state = "closed"  # someone closed phase 4's pull request
    data = small.open_pr_json()
    assert [c["number"] for c in data["closed"]] == [3] and not data["closed"][0]["merged"]
    assert sorted(small.fake.pulls) == [1, 2, 3]
    assert [pr["phase"] for pr in data["pull_requests"]] == [1, 3]


def test_a_refused_reviewer_is_a_note_and_the_run_goes_on(stack: Stack) -> None:
    rules = stack.path / ".stager" / "rules.toml"
    rules.parent.mkdir()
    rules.write_text(
        'extends = "default"\n\n[github.reviewers]\nmigration-data = ["outsider"]\n'
        'migration-destructive = ["dba-alice"]\n'
    )
    refusal = (
        "Reviews may only be requested from collaborators. One or more of the users or teams "
        "you specified is not a collaborator of the acme/fuel-credits repository."
    )
    stack.fake.fail("POST", r"/pulls/2/requested_reviewers$", 422, message=refusal)
    result = stack.open_pr("--all")
    assert result.exit_code == 0, result.output
    assert "note: #2: GitHub refused to request reviews from outsider" in result.stdout
    assert "Reviews may only be requested from collaborators" in result.stdout
    assert "[github.reviewers]" in result.stdout and ".stager/rules.toml" in result.stdout
    assert len(stack.fake.pulls) == 4  # the later pull requests were still handled
    assert stack.fake.pulls[4].requested_users == ["dba-alice"]
    assert stack.fake.pulls[4].labels == ["risk:critical"]


def test_dry_run_shows_the_configuration_error_a_real_run_would_stop_at(
    small: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    small.git.git("remote", "set-url", "origin", "git@ghe.corp.example:fuel/credits.git")
    monkeypatch.setenv("GITHUB_API_URL", "https://api.github.com")  # another host's runner
    result = small.open_pr("--all", "--dry-run", repo=None)
    assert result.exit_code == 0
    assert "GITHUB_API_URL is https://api.github.com, but remote 'origin' is on" in result.stdout
    data = small.open_pr_json("--dry-run", repo=None)
    assert data["repository"] is None and "ghe.corp.example" in data["github_error"]


def test_dry_run_needs_no_remote(small: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    small.git.git("remote", "remove", "origin")
    data = small.open_pr_json("--dry-run")
    assert (data["repository"], data["github_error"]) == (REPO, None)
    assert "no git remote named 'origin'" in data["remote_error"]
    assert len(data["pull_requests"]) == len(SMALL_BRANCHES)
    wanted = f"POST /repos/{REPO}/pulls  head=stage/1-foundation base=main"
    assert any(call.startswith(wanted) for call in data["calls"])
    result = small.open_pr("--all", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "> a real run would stop here: no git remote named 'origin'" in result.stdout
    assert f"GitHub: {REPO} at " in result.stdout
    unknown = small.open_pr_json("--dry-run", repo=None)  # nothing tells the repository
    assert unknown["repository"] is None and "--github-repo" in unknown["github_error"]
    assert small.fake.requests == []
    real = small.open_pr("--all")
    assert real.exit_code == 1 and "no git remote named 'origin'" in real.stderr


def test_pygithub_log_lines_stay_off_stderr_without_verbose(small: Stack) -> None:
    small.fake.fail("POST", "/pulls$", 403, message="Resource not accessible by integration")
    result = small.open_pr("--all")
    assert result.exit_code == 1
    lines = without_progress(result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stager: error: GitHub answered 403"), lines


def test_a_token_with_a_line_break_is_refused_and_never_shown(
    small: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", f"{TOKEN}\nsecond")
    result = small.open_pr("--all")
    assert result.exit_code == 1
    assert "GITHUB_TOKEN contains whitespace or a control character" in result.stderr
    assert TOKEN not in result.output and "second" not in result.stderr
    assert small.fake.requests == [] and small.remote.branch("stage/1-foundation") is None


def test_the_next_feature_reuses_the_branch_names_of_a_merged_stack(small: Stack) -> None:
    assert small.open_pr("--all").exit_code == 0
    # The whole stack is merged (merge commits keep the heads in main), branches deleted.
    small.remote.repo.git(
        "update-ref", "refs/heads/main", str(small.remote.branch("stage/4-etl-and-contract"))
    )
    for number in (1, 2, 3):
        small.fake.merge(number)
    for branch in SMALL_BRANCHES:
        small.remote.repo.git("update-ref", "-d", f"refs/heads/{branch}")
    # The next feature, from the new main: same default branch names.
    small.git.git("checkout", "-q", "main")
    small.git.git("pull", "-q", "--ff-only", "origin", "main")
    small.git.git("checkout", "-q", "-b", "feature2")
    small.git.commit("f2", {"backend/app/models/other.py": "class O:\n    pass\n", "etl/b.py": ""})
    built = build_phase_branches(small.path, analysis_of(small.path, "main", "feature2"))
    assert list(built.values()) == ["stage/1-foundation", "stage/4-etl-and-contract"]
    data = small.open_pr_json("--head", "feature2")
    assert data["closed"] == []
    assert data["pushed"] == ["stage/1-foundation", "stage/4-etl-and-contract"]
    assert [(pr["number"], pr["base"], pr["action"]) for pr in data["pull_requests"]] == [
        (4, "main", "created"),
        (5, "stage/1-foundation", "created"),
    ]
    writes = len(small.fake.writes)
    assert small.open_pr_json("--head", "feature2")["pushed"] == []
    assert len(small.fake.writes) == writes


def test_a_pull_request_github_closed_with_its_merged_base_gets_a_new_one(small: Stack) -> None:
    assert small.open_pr("--all").exit_code == 0
    merged_sha = small.remote.branch("stage/1-foundation")
    small.fake.merge(1)
    small.remote.repo.git("update-ref", "refs/heads/main", str(merged_sha))
    # deleted with `git push --delete`: GitHub closes #2, whose base it was
    small.remote.repo.git("update-ref", "-d", "refs/heads/stage/1-foundation")
    data = small.open_pr_json()
    assert small.fake.pulls[2].state == "closed"
    assert [c["number"] for c in data["closed"]] == [1]
    assert [
        (pr["phase"], pr["number"], pr["base"], pr["action"]) for pr in data["pull_requests"]
    ] == [
        (3, 4, "main", "created"),
        (4, 3, "stage/3-application", "updated"),
    ]
    writes = len(small.fake.writes)
    again = small.open_pr_json()
    assert len(small.fake.writes) == writes and again["pushed"] == []
    assert [pr["action"] for pr in again["pull_requests"]] == ["unchanged", "unchanged"]
    assert small.remote.branch("stage/1-foundation") is None


def test_new_work_on_a_merged_phase_is_pointed_out(small: Stack) -> None:
    assert small.open_pr("--all").exit_code == 0
    merged_sha = small.remote.branch("stage/1-foundation")
    small.remote.repo.git("update-ref", "refs/heads/main", str(merged_sha))
    small.fake.merge(1)
    small.fake.pulls[2].base = "main"
    small.remote.repo.git("update-ref", "-d", "refs/heads/stage/1-foundation")
    unchanged = small.open_pr("--all")
    assert unchanged.exit_code == 0 and "has changed since #1" not in unchanged.stdout
    small.git.commit("another model", {"backend/app/models/more.py": "class M:\n    pass\n"})
    build_phase_branches(small.path, analysis_of(small.path, "main", "feature"))
    result = small.open_pr("--all", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "phase 1's branch stage/1-foundation has changed since #1 was merged" in result.stderr
    assert "`stager split --all --force`" in result.stderr
    assert small.remote.branch("stage/1-foundation") is None


def test_after_a_squash_merge_and_a_new_split_the_next_phase_gets_a_new_pull_request(
    small: Stack,
) -> None:
    assert small.open_pr("--all").exit_code == 0
    small.fake.merge(1)
    small.git.git("checkout", "-q", "main")  # squash #1 into main
    small.git.git("checkout", "stage/1-foundation", "--", ".")
    small.git.git("commit", "-q", "-m", "Foundation (#1)")
    small.git.git("push", "-q", "origin", "main")
    small.remote.repo.git("update-ref", "-d", "refs/heads/stage/1-foundation")  # closes #2
    small.git.git("checkout", "-q", "feature")
    small.git.git("rebase", "-q", "main")
    built = build_phase_branches(small.path, analysis_of(small.path, "main", "feature"))
    assert list(built) == [3, 4]  # phase 1 is in main now
    data = small.open_pr_json()
    assert small.fake.pulls[2].state == "closed"
    assert data["closed"] == []
    assert [
        (pr["phase"], pr["number"], pr["base"], pr["action"]) for pr in data["pull_requests"]
    ] == [
        (3, 4, "main", "created"),
        (4, 3, "stage/3-application", "updated"),
    ]
    writes = len(small.fake.writes)
    again = small.open_pr_json()
    assert len(small.fake.writes) == writes and again["pushed"] == []
    assert [pr["action"] for pr in again["pull_requests"]] == ["unchanged", "unchanged"]


def test_new_work_on_a_squash_merged_phase_gets_a_new_pull_request(small: Stack) -> None:
    assert small.open_pr("--all").exit_code == 0
    small.fake.pulls[2].base = "main"  # as GitHub retargets when the merge deletes the branch
    small.git.git("checkout", "-q", "main")  # squash #1 into main
    small.git.git("checkout", "stage/1-foundation", "--", ".")
    small.git.git("commit", "-q", "-m", "Foundation (#1)")
    small.git.git("push", "-q", "origin", "main")
    small.fake.merge(1, merge_commit=small.git.git("rev-parse", "main"))
    small.remote.repo.git("update-ref", "-d", "refs/heads/stage/1-foundation")
    small.git.git("checkout", "-q", "feature")
    small.git.commit("another model", {"backend/app/models/more.py": "class M:\n    pass\n"})
    small.git.git("rebase", "-q", "main")
    built = build_phase_branches(small.path, analysis_of(small.path, "main", "feature"))
    assert list(built) == [1, 3, 4]
    result = small.open_pr("--all", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "has changed since" not in result.stderr
    data = json.loads(result.stdout)
    assert data["closed"] == []
    first = data["pull_requests"][0]
    assert (first["phase"], first["number"], first["base"], first["action"]) == (
        1,
        4,
        "main",
        "created",
    )
    assert small.remote.branch("stage/1-foundation") == small.git.git(
        "rev-parse", "stage/1-foundation"
    )


def test_one_phase_also_updates_the_open_pull_requests_of_the_branches_it_pushes(
    small: Stack,
) -> None:
    assert small.open_pr("--all").exit_code == 0
    build_phase_branches(small.path, analysis_of(small.path, "main", "feature"), stacked=False)
    assert small.open_pr("--all").exit_code == 0
    assert {pull.base for pull in small.fake.pulls.values()} == {"main"}
    build_phase_branches(small.path, analysis_of(small.path, "main", "feature"))  # stacked again
    result = small.open_pr("--phase", "4", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["pushed"] == ["stage/3-application", "stage/4-etl-and-contract"]
    # phase 3's branch now holds phase 1 too: its pull request must go into stage/1 again
    assert [(pr["phase"], pr["base"]) for pr in data["pull_requests"]] == [
        (3, "stage/1-foundation"),
        (4, "stage/3-application"),
    ]
    pull = small.fake.open_pull("stage/3-application")
    assert pull is not None and pull.base == "stage/1-foundation"


def recorded(stack: Stack) -> dict[str, Any]:
    ref = "refs/stager/record/feature/fuel-credits-overhaul"
    data: dict[str, Any] = json.loads(stack.git.git("show", f"{ref}:record.json"))
    return data


def test_bodies_read_what_split_onto_the_base_built(stack: Stack) -> None:
    """Split --onto main re-chains phase 1 onto main's head 0c2e4a6c8e0f: its rollback goes
    back there (not to the merge base's d1f3b5d7f9b1, which would undo main's migration too),
    and no finding asks for the re-chaining the branch already has."""
    split = stack.split("--onto", "main")
    assert split.exit_code == 0, split.output
    data = stack.open_pr_json("--dry-run")
    bodies = {pr["phase"]: pr["body"] for pr in data["pull_requests"]}
    # Phase 1 opens with the history warning: the phases count main's 0c2e4a6c8e0f as run
    # below every branch revision, and a database that ran the feature branch never ran it.
    # Such a database goes back to the merge base from a checkout of the feature branch.
    warning, overview, rest = bodies[1].partition("## Overview\n")
    assert warning.startswith("> ⚠️ Databases whose `alembic current` shows any of ")
    assert (
        "downgraded to `d1f3b5d7f9b1` from a checkout of the feature branch "
        "(`alembic -c backend/alembic.ini downgrade d1f3b5d7f9b1`)" in warning
    )
    bodies[1] = one = overview + rest
    assert "alembic -c backend/alembic.ini downgrade 0c2e4a6c8e0f" in one
    assert "downgrade d1f3b5d7f9b1" not in one
    assert "SG008" not in one and "re-chain a3c5e7f9b1d3" not in one
    starts = {phase["number"]: phase["chain"]["start_heads"] for phase in recorded(stack)["phases"]}
    for number, body in bodies.items():  # every downgrade names the head the phase sits on
        targets = set(re.findall(r"alembic(?: -c \S+)? downgrade (\w+)", body))
        assert targets <= {"+".join(starts[number])}, (number, targets)
    downgrades = {number for number, body in bodies.items() if re.search(r" downgrade \w", body)}
    assert downgrades == {1, 2, 4}


def test_the_record_is_pushed_with_the_branches_in_one_atomic_push(stack: Stack) -> None:
    split = stack.split()
    assert split.exit_code == 0, split.output
    ref = "refs/stager/record/feature/fuel-credits-overhaul"
    local = stack.git.git("rev-parse", ref)
    dry = stack.open_pr_json("--dry-run")
    assert f"--force-with-lease={ref}:" in dry["push"] and f"{local}:{ref}" in dry["push"]
    assert dry["push"].count("--atomic") == 1
    first = stack.open_pr_json()
    assert first["pushed"] == [*BRANCHES, ref]
    # The record pushed says which phase commits were pushed; the local one says the same.
    noted = stack.git.git("rev-parse", ref)
    assert stack.remote.repo.git("rev-parse", ref) == noted != local
    assert stack.git.git("rev-parse", f"{ref}^@") == stack.git.git("rev-parse", f"{local}^@")
    pushed = json.loads(stack.git.git("show", f"{ref}:record.json"))["pushed"]
    assert [(tip["branch"], tip["commit"]) for tip in pushed] == [
        (branch, stack.git.git("rev-parse", branch)) for branch in BRANCHES
    ]
    assert stack.open_pr_json()["pushed"] == []


@pytest.mark.parametrize(
    ("link", "target"),
    [
        (".stager/templates/pr_title.j2", "hosts.yml"),
        (".stager/templates/phases/application", "folder"),
        (".stager/templates", "folder"),
        (".stager", "dot-stager"),
    ],
)
def test_a_template_that_links_out_of_the_tree_is_refused(
    small: Stack, tmp_path: Path, link: str, target: str
) -> None:
    """A template linked to gh's hosts.yml would print and post the token (issue 11, A)."""
    outside = tmp_path / "outside"
    for folder in (outside / "folder", outside / "folder" / "phases" / "application"):
        folder.mkdir(parents=True)
    secret = "oauth_token: gho_0123456789secret\n"
    for name in ("hosts.yml", "folder/pr_title.j2", "folder/pr_body.md.j2"):
        (outside / name).write_text(secret)
    (outside / "folder" / "phases" / "application" / "pr_body.md.j2").write_text(secret)
    (outside / "dot-stager").mkdir()
    (outside / "dot-stager" / "templates").symlink_to(outside / "folder")
    path = small.path / link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(outside / target)
    for args in (("--all", "--dry-run"), ("--all",)):
        result = small.open_pr(*args)
        assert result.exit_code == 1, result.output
        assert "gho_" not in result.output
        assert "symbolic link" in result.stderr and link in result.stderr
    assert all(small.remote.branch(branch) is None for branch in SMALL_BRANCHES)
    assert small.fake.requests == []


def test_dry_run_markdown_is_the_bodies(small: Stack) -> None:
    """`--format markdown` gives what would be pasted: each title and body, no call list."""
    result = small.open_pr("--all", "--dry-run", "--format", "markdown")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("## Overview") == 3
    assert "Would run" not in out and "POST " not in out and "Title: " not in out
    assert out.startswith("# Foundation: additive schema, reference data, models (phase 1/4)")
    table = small.open_pr("--all", "--dry-run").stdout
    assert "Would run" in table


def test_dry_run_json_has_notes_as_documented(small: Stack) -> None:
    data = small.open_pr_json("--dry-run")
    assert all(pr["notes"] == [] for pr in data["pull_requests"])


def test_a_body_says_what_its_phase_holds(small: Stack) -> None:
    """Phase 1 of the small project holds one model and no migration: its body says so."""
    body = small.open_pr_json("--dry-run")["pull_requests"][0]["body"]
    assert "It holds 1 file of models." in body
    assert "new tables" not in body and "models that map them" not in body
