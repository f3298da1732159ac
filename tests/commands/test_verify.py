"""`stager verify` as a user runs it: a table, exit 4 when a check fails."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from tests.gitrepo import GitRepo


def stager(demo: DemoRepository, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(demo.path), *args])


def test_verify_passes_after_split(demo: DemoRepository) -> None:
    assert stager(demo, "split", "--all").exit_code == 0
    table = stager(demo, "verify")
    assert table.exit_code == 0, table.output
    assert "stage/3-application" in table.stdout and "every check passed" in table.stdout
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
    checked = stager(demo, "verify", "--phase", "1", "--check", "exit 3")
    assert checked.exit_code == 4 and "phase 1 check: exit 3" in checked.stdout


def test_errors_that_stop_verify_exit_1(demo: DemoRepository) -> None:
    missing = stager(demo, "verify")
    assert missing.exit_code == 1 and "stager split --all" in missing.stderr
    assert stager(demo, "verify", "--phase", "1", "--all").exit_code == 2
