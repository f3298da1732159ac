"""`verify --check` says which check runs, on stderr, while it runs; never in stdout or JSON."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from stager.cli import cli
from tests.branches.helpers import feature_repo
from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parents[2]


def test_check_progress_is_on_stderr_while_the_check_runs(repo: GitRepo, tmp_path: Path) -> None:
    feature_repo(repo)
    assert CliRunner().invoke(cli, ["-C", str(repo.path), "split", "--all"]).exit_code == 0
    stderr, seen = tmp_path / "stderr.log", tmp_path / "seen.log"
    # The check reads stager's stderr as it is at that moment: the line is there already.
    check = f"cat {shlex.quote(str(stderr))} > {shlex.quote(str(seen))}"
    with stderr.open("w") as errors:
        run = subprocess.run(
            [sys.executable, "-m", "stager", "-C", str(repo.path), "verify", "--check", check],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**repo.env, "PYTHONPATH": str(ROOT)},
            check=False,
        )
    assert run.returncode == 0, stderr.read_text()
    assert seen.read_text().splitlines()[-1].startswith("stager: phase ")
    assert seen.read_text().rstrip().endswith(f"check: {check} …")
    lines = stderr.read_text().splitlines()
    started = [line for line in lines if line.endswith(" …")]
    ended = [line for line in lines if line.endswith(" s") and "check: " in line]
    assert len(started) == len(ended) >= 2  # each phase's check, from start to end
    assert "stager:" not in run.stdout and "every check passed" in run.stdout

    as_json = CliRunner().invoke(
        cli, ["-C", str(repo.path), "verify", "--check", "true", "--format", "json"]
    )
    assert as_json.exit_code == 0 and as_json.stderr == ""
    assert json.loads(as_json.output)["ok"]  # stdout and stderr together: the JSON alone
