"""`stager demo` as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from stager.cli import cli


def test_demo_builds_the_repository_and_prints_the_risk_table(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    target = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", str(target)])
    assert result.exit_code == 0, result.output
    for text in ("Risk assessment", "Can stage first?", "Proposed phases", "Try next", str(target)):
        assert text in result.stdout
    assert (target / "backend" / "alembic.ini").is_file()
    report = tmp_path / "demo-stager-report.md"
    assert report.read_text().startswith("## Branch analysis")


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path, git_env: dict[str, str]) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine\n")
    result = CliRunner().invoke(cli, ["demo", str(tmp_path / "busy")])
    assert result.exit_code == 1
    assert "not empty" in result.stderr
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine\n"


def test_demo_in_a_real_subprocess_defaults_to_a_new_temp_folder(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stager", "demo"],
        capture_output=True,
        text=True,
        check=False,
        env={**git_env, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "Demo repository" in result.stdout and str(tmp_path) in result.stdout


def test_the_demo_suggests_open_pr_dry_run_and_it_works_offline(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    target = tmp_path / "demo"
    assert "stager open-pr --all --dry-run" in CliRunner().invoke(cli, ["demo", str(target)]).stdout
    result = CliRunner().invoke(cli, ["-C", str(target), "open-pr", "--all", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "GitHub was not contacted" in result.stdout
    assert result.stdout.count("## Phase ") == 4
