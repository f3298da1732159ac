"""`stager verify` as a user runs it: a table, exit 4 when a check fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from tests.gitrepo import GitRepo

BRANCHES = ("stage/1-foundation", "stage/2-data", "stage/3-application", "stage/4-etl-and-contract")


def stager(demo: DemoRepository, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(demo.path), *args])


def test_verify_passes_after_split(demo: DemoRepository) -> None:
    assert stager(demo, "split", "--all").exit_code == 0
    table = stager(demo, "verify")
    assert table.exit_code == 0, table.output
    assert "stage/3-application" in table.stdout and "every check passed" in table.stdout
    lines = table.stdout.splitlines()  # a pipe gets rich's table whole, never wrapped
    assert lines[0].split() == ["Phase", "Branch", "Plan", "Alembic", "Compiles", "Check"]
    assert set(lines[1]) == {"─"}
    for branch, line in zip(BRANCHES, lines[2:6], strict=True):
        assert line.split()[-5:] == [branch, "ok", "ok", "ok", "-"]
    assert "1. Foundation: additive schema, reference data, models" in lines[2]  # no wrap
    assert lines[6:8] == ["", next(line for line in lines if "every check passed" in line)]
    data = json.loads(stager(demo, "verify", "--format", "json").stdout)
    assert data["ok"] and data["lossless"]["ok"]
    assert [p["branch"] for p in data["phases"]] == [
        "stage/1-foundation",
        "stage/2-data",
        "stage/3-application",
        "stage/4-etl-and-contract",
    ]
    assert {c["name"] for c in data["phases"][0]["checks"]} == {"plan", "alembic", "compiles"}
    markdown = stager(demo, "verify", "--phase", "2", "--format", "markdown")
    assert markdown.exit_code == 0 and "| 2. Data migrations | `stage/2-data` |" in markdown.stdout


def test_a_failing_check_exits_4(demo: DemoRepository, git_env: dict[str, str]) -> None:
    assert stager(demo, "split", "--all").exit_code == 0
    repo = GitRepo(demo.path, git_env)
    repo.git("branch", "-f", "stage/4-etl-and-contract", "stage/3-application")
    result = stager(demo, "verify")
    assert result.exit_code == 4, result.output
    assert "FAIL" in result.stdout and "nothing lost:" in result.stdout
    row = next(line for line in result.stdout.splitlines() if BRANCHES[3] in line)
    assert row.split()[-5:] == [BRANCHES[3], "FAIL", "ok", "ok", "-"]
    assert "\n  phase 4 plan: " in result.stdout
    checked = stager(demo, "verify", "--phase", "1", "--check", "exit 3")
    assert checked.exit_code == 4 and "phase 1 check: exit 3" in checked.stdout


def test_one_missing_phase_branch_is_a_failed_check(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    """As docs/split.md says: exit 4, the other phases still checked; none at all is exit 1."""
    assert stager(demo, "split", "--all").exit_code == 0
    GitRepo(demo.path, git_env).git("branch", "-D", "stage/2-data")
    result = stager(demo, "verify")
    assert result.exit_code == 4, result.output
    assert "phase 2 plan: branch stage/2-data does not exist" in result.stdout
    row = next(line for line in result.stdout.splitlines() if BRANCHES[0] in line)
    assert row.split()[-5:] == [BRANCHES[0], "ok", "ok", "ok", "-"]
    docs = (Path(__file__).parents[2] / "docs" / "split.md").read_text(encoding="utf-8")
    assert "a missing phase branch is a failed check" in " ".join(docs.lower().split())


def test_errors_that_stop_verify_exit_1(demo: DemoRepository) -> None:
    missing = stager(demo, "verify")
    assert missing.exit_code == 1 and "stager split --all" in missing.stderr
    assert stager(demo, "verify", "--phase", "1", "--all").exit_code == 2


def test_a_clone_verifies_from_the_record(
    demo: DemoRepository, git_env: dict[str, str], tmp_path: Path
) -> None:
    """A clone has the phase branches as origin/…, and its origin/HEAD is the feature
    branch itself: the fetched record says the base, the start (--onto main) and the commits."""
    assert stager(demo, "split", "--all", "--onto", "main").exit_code == 0
    clone = GitRepo(tmp_path / "clone", git_env)
    GitRepo(tmp_path, git_env).git("clone", "-q", str(demo.path), str(clone.path))
    assert clone.git("branch", "--list", "stage/*") == ""
    without = CliRunner().invoke(cli, ["-C", str(clone.path), "verify"])
    assert without.exit_code == 1, without.output
    clone.git("fetch", "-q", "origin", "refs/stager/record/*:refs/stager/record/*")
    result = CliRunner().invoke(cli, ["-C", str(clone.path), "verify", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["lossless"]["ok"] and data["onto"] == "main"
    assert data["start"] == demo.base and data["merge_base"] == demo.merge_base
    original = GitRepo(demo.path, git_env)
    tips = {p["branch"]: p["commit"] for p in data["phases"]}
    assert tips == {branch: original.git("rev-parse", branch) for branch in BRANCHES}


def test_without_a_record_verify_reads_the_layout_from_the_branches(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    assert stager(demo, "split", "--all", "--onto", "main").exit_code == 0
    repo = GitRepo(demo.path, git_env)
    repo.git("update-ref", "-d", f"refs/stager/record/{demo.head_branch}")
    result = stager(demo, "verify", "--format", "json")
    data = json.loads(result.stdout)  # today's behaviour: from the merge base, so it fails
    assert result.exit_code == 4 and data["onto"] is None
    assert data["start"] == demo.merge_base


def test_the_check_gets_no_token_and_its_output_is_redacted(
    demo: DemoRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "ghp_s3cretTokenValue0123456789"
    monkeypatch.setenv("GITHUB_TOKEN", secret)
    monkeypatch.setenv("GH_ENTERPRISE_TOKEN", "ghe_other_secret_value")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    assert stager(demo, "split", "--all").exit_code == 0
    show = (
        'echo "token=[$GITHUB_TOKEN] ghe=[$GH_ENTERPRISE_TOKEN] aws=[$AWS_SECRET_ACCESS_KEY] '
        'path=[${PATH:+set}] phase=[$STAGER_PHASE]"; exit 1'
    )
    sealed = stager(demo, "verify", "--phase", "1", "--check", show)
    assert sealed.exit_code == 4, sealed.output
    assert "token=[] ghe=[] aws=[] path=[set] phase=[1]" in sealed.stdout

    passed = ("--check-env", "GITHUB_TOKEN", "--check-env", "GH_ENTERPRISE_TOKEN")
    for output_format in ("table", "json", "markdown"):
        opted = stager(
            demo, "verify", "--phase", "1", *passed, "--check", show, "--format", output_format
        )
        assert opted.exit_code == 4, opted.output
        assert secret not in opted.output and "ghe_other_secret_value" not in opted.output
        assert "token=[[redacted]] ghe=[[redacted]] aws=[]" in opted.stdout

    usage = stager(demo, "verify", "--check-env", "GITHUB_TOKEN")
    assert usage.exit_code == 2 and "add --check" in usage.output
