"""`stager demo` as a user runs it."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
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


README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("command", ["analyze", "plan"])
def test_the_readme_sample_is_what_stager_prints_on_the_demo(
    tmp_path: Path, git_env: dict[str, str], command: str
) -> None:
    """README's reports are pasted output: every line of them must still be printed.

    The samples were taken from a pipe, where no line wraps; a line ending in "…" is cut
    short on purpose.
    """
    sample = README.read_text(encoding="utf-8").split(f"$ stager {command}\n", 1)[1]
    sample = sample.split("```", 1)[0]
    assert CliRunner().invoke(cli, ["demo", str(tmp_path / "demo")]).exit_code == 0
    result = CliRunner().invoke(cli, ["-C", str(tmp_path / "demo"), command])
    assert result.exit_code == 0, result.output
    printed = [line.rstrip() for line in result.stdout.splitlines()]
    for line in sample.rstrip().splitlines():
        if line.strip() == "…":
            continue
        if line.endswith("…"):
            start = line[:-1].rstrip()
            assert any(out.startswith(start) for out in printed), line
        else:
            assert line.rstrip() in printed, line


def test_demo_directory_is_relative_to_dash_c(tmp_path: Path, git_env: dict[str, str]) -> None:
    """`stager -C PATH demo DIR` runs as if started in PATH, like every other command."""
    (tmp_path / "work").mkdir()
    result = CliRunner().invoke(cli, ["-C", str(tmp_path / "work"), "demo", "demo"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "work" / "demo" / "backend" / "alembic.ini").is_file()
    assert (tmp_path / "work" / "demo-stager-report.md").is_file()


def test_demo_follows_rules_given_with_dash_dash_rules(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    """`stager --rules FILE demo` tries a project's rules on the demo instead of ignoring them."""
    rules = tmp_path / "mine.toml"
    rules.write_text('extends = "default"\n[split]\nbranch = "mine/{number}-{name}"\n')
    result = CliRunner().invoke(cli, ["--rules", str(rules), "demo", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "mine/1-foundation" in result.stdout


def test_every_command_the_demo_suggests_works(tmp_path: Path, git_env: dict[str, str]) -> None:
    """A newcomer pastes the "Try next" lines one by one: each must do what it says."""
    target = tmp_path / "demo"
    output = CliRunner().invoke(cli, ["demo", str(target)], env={"COLUMNS": "200"}).stdout
    lines = output.split("Try next:", 1)[1].splitlines()
    commands = [line.split("  #")[0].strip() for line in lines if line.startswith("  stager ")]
    assert len(commands) >= 10, commands
    for command in commands:
        args = shlex.split(command)[1:]
        result = CliRunner().invoke(cli, ["-C", str(target), *args])
        # 4: the demo has high-risk findings (lint fails on high by default).
        expected = 4 if "--fail-on" in args or args[0] == "lint" else 0
        assert result.exit_code == expected, (command, result.output)
    assert (target / "stager-plan.toml").is_file()  # --write went into the demo, as -C says
    git = subprocess.run(
        ["git", "-C", str(target), "branch", "--list", "stage/*"],
        capture_output=True,
        text=True,
        check=True,
        env=git_env,
    )
    assert git.stdout == ""  # the last suggestion, split --undo, removed the branches


def test_the_demo_shows_its_expand_contract_split_as_the_plan_made_it(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    """The demo's mixed migration: its two parts and the model's early hunk, from the plan."""
    target = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", str(target)])
    assert result.exit_code == 0, result.output
    shown = " ".join(result.stdout.split())
    plan = json.loads(
        CliRunner().invoke(cli, ["-C", str(target), "plan", "--format", "json"]).stdout
    )
    (split,) = plan["splits"]
    (partial,) = plan["partials"]
    revision, expand = split["revision"], split["expand_revision"]
    assert (
        f"{revision}: its expand part (add_column legacy_id) is the new revision {expand} in "
        f"phase {split['expand_phase']}; {revision} keeps its contract part (drop_column "
        "credits_offset_c, drop_column credits_offset_b, drop_column credits_offset_a) in "
        f"phase {split['contract_phase']}"
    ) in shown
    assert (
        f"{partial['path']}: its hunk adding legacy_id (2 of 3) ships in phase {partial['phase']}"
    ) in shown
    # and the split branches hold it: verify passes on them
    assert "stager verify: every check passed" in shown
