"""`stager verify --database` as a user runs it: the demo's real migrations, phase by phase."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.database.binaries import Binaries
from stager.demo import build_demo_repository

pytestmark = pytest.mark.usefixtures("alembic_driver")


def test_the_demo_is_green_phase_by_phase_and_its_edited_applied_revision_is_a_warning(
    tmp_path: Path, postgres_binaries: Binaries
) -> None:
    demo = build_demo_repository(tmp_path / "demo")
    runner = CliRunner()
    # From the merge base: the end state of a split onto main's tip (split's default, main
    # moved) is not compared yet.
    split = runner.invoke(cli, ["-C", str(demo.path), "split", "--all", "--from-merge-base"])
    assert split.exit_code == 0
    result = runner.invoke(cli, ["-C", str(demo.path), "verify", "--database", "--format", "json"])
    data = json.loads(result.stdout)
    database = data["database"]
    steps = [
        (
            run["number"],
            run["upgrade"]["status"],
            run["downgrade"]["status"],
            run["reupgrade"]["status"],
        )
        for run in database["phases"]
    ]
    assert steps == [
        (0, "ok", "skipped", "skipped"),
        (1, "ok", "ok", "ok"),
        (2, "ok", "ok", "ok"),
        (3, "ok", "ok", "ok"),
        (4, "ok", "ok", "ok"),
    ], result.output
    changes = {run["number"]: run["schema_change"] for run in database["phases"][1:]}
    assert "+ table penalty_log" in [line.split(":")[0] for line in changes[1]["changes"]]
    assert "+ enum value user_role.BETA_TESTER" in changes[1]["changes"]
    # expand/contract on a real server: the mixed migration's expand revision adds its
    # column in phase 2, and phase 4's contract part only drops
    assert changes[2]["summary"] == "+1 column"
    assert [line for line in changes[2]["changes"] if "legacy_id" in line], changes[2]
    assert changes[3]["summary"] == "none"
    assert changes[4]["summary"] == "-3 columns"
    assert all(not run["warnings"] and not run["problems"] for run in database["phases"])
    # The branch edits create_transfer (c2d4e6f8a0b1), which the base had already applied:
    # a database upgraded phase by phase never gets the index the edit adds. SG006 already
    # says so; the end state names it as a warning, not a difference of the phases.
    assert database["end_state"]["problems"] == []
    assert database["end_state"]["warnings"] == [
        "head's edit of c2d4e6f8a0b1 never runs on a database already past it: "
        "index ix_transfer_agreement_date exists only on databases created from scratch (SG006)"
    ]
    assert database["notes"] == ["data migrations ran on empty tables: not proven"]
    assert data["lossless"]["ok"] and data["ok"], result.output
    assert result.exit_code == 0
    # Progress is never shown with --format json outside a terminal (render/progress.py)
    assert "stager: starting PostgreSQL" not in result.stderr


def test_database_url_needs_database_and_database_runs_every_phase() -> None:
    runner = CliRunner()
    alone = runner.invoke(cli, ["verify", "--database-url", "postgresql://x@localhost/db"])
    assert alone.exit_code == 2 and "add --database" in alone.stderr
    one = runner.invoke(cli, ["verify", "--database", "--phase", "2"])
    assert one.exit_code == 2 and "leave out --phase" in one.stderr


def test_the_help_says_that_the_projects_own_code_runs() -> None:
    help_text = CliRunner().invoke(cli, ["verify", "--help"]).stdout
    assert "RUNS THE PROJECT'S OWN CODE" in " ".join(help_text.split())


def _server_folders() -> set[Path]:
    return set(Path("/tmp").glob("stager-postgres-*")) | set(
        Path(tempfile.gettempdir()).glob("stager-postgres-*")
    )


def _postgres_processes() -> set[int]:
    """Postmasters of stager's throwaway servers (their command line names the folder)."""
    found: set[int] = set()
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if b"stager-postgres-" in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
    return found


def test_sigterm_in_the_middle_of_a_phase_leaves_no_server_database_or_worktree(
    tmp_path: Path, postgres_binaries: Binaries
) -> None:
    demo = build_demo_repository(tmp_path / "demo")
    assert CliRunner().invoke(cli, ["-C", str(demo.path), "split", "--all"]).exit_code == 0
    folders, processes = _server_folders(), _postgres_processes()
    child = subprocess.Popen(
        [sys.executable, "-m", "stager", "-C", str(demo.path), "verify", "--database"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert child.stderr is not None
    seen: list[str] = []
    for line in child.stderr:
        seen.append(line)
        if "phase 1 (stage/1-foundation): alembic upgrade heads" in line:
            break
    assert not _server_folders() <= folders, seen  # its server runs now
    child.send_signal(signal.SIGTERM)
    rest = child.stderr.read()
    child.stderr.close()
    assert child.wait(60) == 143, rest
    assert "terminated (SIGTERM)" in rest
    assert _server_folders() <= folders
    deadline = time.monotonic() + 10
    while _postgres_processes() - processes and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _postgres_processes() - processes
    worktrees = subprocess.run(
        ["git", "-C", str(demo.path), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert worktrees.count("worktree ") == 1, worktrees
