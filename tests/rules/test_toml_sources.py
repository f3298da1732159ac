"""Only regular files are read as TOML: a device, a pipe or a folder is an error, never a hang."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from stager.cli import cli
from tests.gitrepo import GitRepo


def test_rules_from_dev_zero_is_an_error_not_a_hang(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--rules", "/dev/zero", "-C", str(tmp_path), "lint"])
    assert result.exit_code == 1, result.output
    assert "/dev/zero: not a regular file" in result.output


def test_a_plan_that_is_a_pipe_is_an_error(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("base", {"a.txt": "a\n"})
    repo.checkout("-q", "-b", "feature")
    repo.commit("change", {"a.txt": "b\n"})
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    args = ["-C", str(repo.path), "split", "--all", "--base", "main", "--dry-run"]
    result = CliRunner().invoke(cli, [*args, "--plan", str(fifo)])
    assert result.exit_code == 1, result.output
    assert "not a regular file" in result.output


def test_a_folder_in_place_of_the_default_plan_is_not_silently_skipped(repo: GitRepo) -> None:
    repo.commit("base", {"a.txt": "a\n"})
    repo.checkout("-q", "-b", "feature")
    repo.commit("change", {"a.txt": "b\n"})
    (repo.path / "stager-plan.toml").mkdir()
    args = ["-C", str(repo.path), "split", "--all", "--base", "main", "--dry-run"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "stager-plan.toml: not a regular file" in result.output
