"""Errors a user can cause: one clear line with the fix, exit 1; crashes exit 3; Ctrl-C 130."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import stager.commands.analyze
from stager import __version__
from stager.cli import cli
from tests.gitrepo import GitRepo


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("stager: error: ")
    assert " — " in lines[0], "every error message says how to fix it"
    return lines[0]


@pytest.fixture
def branch(repo: GitRepo) -> GitRepo:
    repo.commit("base", {"app.py": "x = 1\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("work", {"app.py": "x = 2\n"})
    return repo


def test_not_a_git_repository(tmp_path: Path, git_env: dict[str, str]) -> None:
    line = one_error_line(invoke("-C", str(tmp_path), "analyze"))
    assert "not inside a git repository" in line


def test_unknown_ref(branch: GitRepo) -> None:
    line = one_error_line(invoke("-C", str(branch.path), "analyze", "--base", "nope"))
    assert "nope" in line


def test_no_merge_base(branch: GitRepo) -> None:
    branch.git("checkout", "-q", "--orphan", "other")
    branch.commit("unrelated", {"z.py": "z = 1\n"})
    line = one_error_line(
        invoke("-C", str(branch.path), "analyze", "--base", "main", "--head", "other")
    )
    assert "history" in line or "merge base" in line


def test_malformed_rules(branch: GitRepo) -> None:
    rules = branch.path / "custom.toml"
    rules.write_text('[[category]]\nname = "x"\npaths = ["*"]\nrisk = "severe"\n')
    line = one_error_line(invoke("-C", str(branch.path), "--rules", str(rules), "analyze"))
    assert "custom.toml:4: " in line and "risk" in line


def test_missing_rules_file(branch: GitRepo) -> None:
    line = one_error_line(invoke("-C", str(branch.path), "--rules", "missing.toml", "analyze"))
    assert "missing.toml" in line


def test_no_base_branch_found(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("only", {"a.py": "a = 1\n"})
    line = one_error_line(invoke("-C", str(repo.path), "analyze"))
    assert "--base" in line


def test_unparsable_migration_is_a_finding_not_a_crash(branch: GitRepo) -> None:
    branch.commit(
        "broken migration",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/versions/0001_x.py": (
                "revision = 'a1'\ndown_revision = None\ndef upgrade(:\n"
            ),
        },
    )
    result = invoke("-C", str(branch.path), "analyze", "--format", "json", "--fail-on", "high")
    assert result.exit_code == 4, result.output
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["path"], f["line"]) for f in findings] == [
        ("SG007", "migrations/versions/0001_x.py", 3)
    ]


def test_unexpected_crash_exits_3_with_a_log(
    branch: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def explode(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(stager.commands.analyze, "analyze_branch", explode)
    result = invoke("-C", str(branch.path), "analyze")
    assert result.exit_code == 3
    log = tmp_path / "cache" / "stager" / "stager-crash.log"
    assert str(log) in result.stderr
    assert "RuntimeError: boom" in log.read_text()


def test_ctrl_c_exits_130(branch: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(stager.commands.analyze, "analyze_branch", interrupt)
    assert invoke("-C", str(branch.path), "analyze").exit_code == 130


def test_usage_error_exits_2(branch: GitRepo) -> None:
    assert invoke("-C", str(branch.path), "analyze", "--format", "yaml").exit_code == 2


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_errors_through_the_real_console_script(tmp_path: Path, git_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stager", "-C", str(tmp_path), "analyze"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("stager: error: ") and "Traceback" not in result.stderr


def test_verbose_shows_each_git_command(branch: GitRepo) -> None:
    result = invoke("-C", str(branch.path), "-v", "analyze", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "stager: git merge-base --all" in result.stderr
    assert "stager: git diff --raw --numstat" in result.stderr
