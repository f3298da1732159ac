"""No hook runs, but pre-push: the hooks contract of docs/split.md.

Every hook git knows is installed in the repository and writes its name to a
log when it runs; the commands that write objects and local refs must leave
the log empty, and a push must still run pre-push (git-lfs uploads there).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.git.remote import push
from stager.git.repository import Repository
from tests.branches.helpers import feature_repo
from tests.gitrepo import GitRepo

# githooks(5)
HOOKS = [
    *("applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit"),
    *("prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout"),
    *("post-merge", "pre-push", "pre-receive", "update", "proc-receive", "post-receive"),
    *("post-update", "reference-transaction", "push-to-checkout", "pre-auto-gc"),
    *("post-rewrite", "sendemail-validate", "fsmonitor-watchman", "p4-changelist"),
    *("p4-prepare-changelist", "p4-post-changelist", "p4-pre-submit", "post-index-change"),
]


@pytest.fixture
def hooked(repo: GitRepo, tmp_path: Path) -> tuple[GitRepo, Path]:
    """The feature repository with every hook installed; the log they write to."""
    feature_repo(repo)
    log = tmp_path / "hooks.log"
    for name in HOOKS:
        hook = repo.path / ".git" / "hooks" / name
        hook.write_text(f'#!/bin/sh\necho {name} >> "{log}"\n')
        hook.chmod(0o755)
    repo.git("update-ref", "refs/heads/probe", "HEAD")  # the hooks run when git runs them
    assert log.read_text().split() == ["reference-transaction"] * 2
    log.unlink()
    return repo, log


def ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.mark.parametrize(
    "command",
    [
        ["split", "--all"],
        ["split", "--all", "--strategy", "patch"],  # a temporary index: post-index-change
        ["verify", "--all", "--check", "true"],  # a worktree: post-checkout
        ["split", "--undo"],
    ],
)
def test_no_hook_runs(hooked: tuple[GitRepo, Path], command: list[str]) -> None:
    repo, log = hooked
    if command[0] != "split" or command[1] == "--undo":
        assert CliRunner().invoke(cli, ["-C", str(repo.path), "split", "--all"]).exit_code == 0
        log.unlink(missing_ok=True)
    result = CliRunner().invoke(cli, ["-C", str(repo.path), *command])
    assert result.exit_code == 0, result.output
    assert ran(log) == []


def test_a_push_runs_the_pre_push_hook(hooked: tuple[GitRepo, Path], tmp_path: Path) -> None:
    repo, log = hooked
    remote = tmp_path / "remote.git"
    GitRepo.init(remote, repo.env).git("init", "-q", "--bare")
    repo.git("remote", "add", "origin", str(remote))
    push(Repository(repo.path), "origin", [], ["refs/heads/feature:refs/heads/feature"])
    assert "pre-push" in ran(log)


def test_config_the_user_passes_in_the_environment_is_kept(
    hooked: tuple[GitRepo, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, log = hooked
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "stager.probe")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "kept")
    found = Repository(repo.path)
    assert found.run(["config", "stager.probe"]) == b"kept\n"
    found.run(["update-ref", "refs/heads/probe", "HEAD^"])
    assert ran(log) == []
