"""Every file stager writes (-o/--output, plan --write): never through a symbolic link,
never inside the git directory (issue 11, items B and 10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from tests.gitrepo import GitRepo
from tests.progress_lines import without_progress


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def refused(result: Result, *words: str) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = without_progress(result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stager: error: "), result.stderr
    assert " — " in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def branch(repo: GitRepo) -> GitRepo:
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("work", {"backend/app/models/thing.py": "class Thing:\n    pass\n"})
    return repo


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "hosts.yml"
    path.parent.mkdir()
    path.write_text("oauth_token: gho_secret\n")
    return path


def test_plan_write_force_does_not_follow_a_committed_symlink(
    branch: GitRepo, secret: Path
) -> None:
    (branch.path / "stager-plan.toml").symlink_to(secret)
    branch.commit("a plan that is a link")
    status = branch.git("status", "--porcelain")
    for extra in ((), ("--force",)):
        result = invoke("-C", str(branch.path), "plan", "--write", "stager-plan.toml", *extra)
        refused(result, "stager-plan.toml", "symbolic link")
        assert secret.read_text() == "oauth_token: gho_secret\n"
    assert (branch.path / "stager-plan.toml").is_symlink()
    assert branch.git("status", "--porcelain") == status


@pytest.mark.parametrize("command", ["analyze", "plan"])
def test_output_does_not_follow_a_symlink(branch: GitRepo, secret: Path, command: str) -> None:
    link = branch.path / "report.md"
    link.symlink_to(secret)
    result = invoke("-C", str(branch.path), command, "--format", "markdown", "-o", "report.md")
    refused(result, "report.md", "symbolic link")
    assert secret.read_text() == "oauth_token: gho_secret\n"
    assert link.is_symlink()


def test_a_dangling_symlink_is_not_created_through(branch: GitRepo, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.md"
    (branch.path / "report.md").symlink_to(target)
    refused(invoke("-C", str(branch.path), "analyze", "-o", "report.md"), "symbolic link")
    assert not target.exists()


@pytest.mark.parametrize(
    "args",
    [
        ("analyze", "-o", ".git/HEAD"),
        ("analyze", "--output", ".git/refs/heads/main"),
        ("plan", "-o", ".git/config"),
        ("plan", "--write", ".git/HEAD"),
        ("plan", "--write", ".git/new-file.toml"),
    ],
)
def test_output_inside_the_git_directory_is_refused(branch: GitRepo, args: tuple[str, ...]) -> None:
    git_dir = branch.path / ".git"
    before = {path: path.read_bytes() for path in git_dir.rglob("*") if path.is_file()}
    refused(invoke("-C", str(branch.path), *args), args[-1], "git directory")
    after = {path: path.read_bytes() for path in git_dir.rglob("*") if path.is_file()}
    assert after == before
    assert branch.git("rev-parse", "--abbrev-ref", "HEAD") == "feature"


def test_output_relative_to_the_current_folder_inside_git_dir(
    branch: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(branch.path / ".git")
    head = (branch.path / ".git" / "HEAD").read_bytes()
    refused(invoke("analyze", "-o", "HEAD"), "git directory")
    assert (branch.path / ".git" / "HEAD").read_bytes() == head


def test_output_into_a_linked_worktree_git_dir_or_gitfile(branch: GitRepo, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    branch.git("worktree", "add", "-q", "-b", "other", str(linked), "feature")
    gitfile = (linked / ".git").read_bytes()
    refused(invoke("-C", str(linked), "analyze", "-o", ".git"), "git directory")
    assert (linked / ".git").read_bytes() == gitfile
    worktree_head = branch.path / ".git" / "worktrees" / "linked" / "HEAD"
    head = worktree_head.read_bytes()
    refused(invoke("-C", str(linked), "analyze", "-o", str(worktree_head)), "git directory")
    assert worktree_head.read_bytes() == head
    # through a folder that links into the common git directory
    (linked / "gitlink").symlink_to(branch.path / ".git")
    refused(invoke("-C", str(linked), "analyze", "-o", "gitlink/HEAD"), "git directory")
    assert (branch.path / ".git" / "HEAD").read_text() == "ref: refs/heads/feature\n"


def test_a_regular_output_file_is_still_written(branch: GitRepo, tmp_path: Path) -> None:
    result = invoke("-C", str(branch.path), "analyze", "-o", "report.txt")
    assert result.exit_code == 0, result.output
    assert "Foundation" in (branch.path / "report.txt").read_text()
    result = invoke("-C", str(branch.path), "plan", "--write", "stager-plan.toml")
    assert result.exit_code == 0, result.output
    assert (branch.path / "stager-plan.toml").is_file()
