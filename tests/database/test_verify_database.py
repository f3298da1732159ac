"""`stager verify --database` as a user runs it: the demo's real migrations, phase by phase."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.database.binaries import Binaries
from stager.demo import DemoRepository
from tests.database.project import env_py_with, feature_branch
from tests.demo_copies import copy_demo
from tests.gitrepo import GitRepo
from tests.processes import ends_soon, started

pytestmark = pytest.mark.usefixtures("alembic_driver")


def test_the_demo_split_onto_mains_tip_is_green_and_its_end_state_is_compared(
    tmp_path: Path, demo_template: DemoRepository, postgres_binaries: Binaries
) -> None:
    demo = copy_demo(demo_template, tmp_path / "demo")
    runner = CliRunner()
    # split's default: main moved since the merge base, so the phases are built onto its tip
    split = runner.invoke(cli, ["-C", str(demo.path), "split", "--all"])
    assert split.exit_code == 0 and "built onto main's tip" in split.output, split.output
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
    # The end state is compared with git's merge of main's tip and head, which the lossless
    # proof builds. The branch edits create_transfer (c2d4e6f8a0b1), which the base had
    # already applied: a database upgraded phase by phase never gets the index the edit
    # adds. SG006 already says so; the end state names it as a warning.
    end_state = database["end_state"]
    assert not end_state["skipped"] and end_state["problems"] == [], end_state
    assert end_state["warnings"] == [
        "head's edit of c2d4e6f8a0b1 never runs on a database already past it: "
        "index ix_transfer_agreement_date exists only on databases created from scratch (SG006)"
    ]
    assert end_state["against"] == "the merge of main and head"
    assert database["notes"] == [
        "data migrations ran on empty tables: not proven (set [verify] seed)"
    ]
    assert data["lossless"]["ok"] and data["ok"], result.output
    assert result.exit_code == 0
    # Progress is never shown with --format json outside a terminal (render/progress.py)
    assert "stager: starting PostgreSQL" not in result.stderr


def test_a_split_onto_the_moved_base_ends_where_the_merge_of_base_and_head_does(
    repo: GitRepo, postgres_binaries: Binaries
) -> None:
    # main gained the table audit: head alone has no audit, the merge of main and head has
    feature_branch(repo, base_moves=True)
    runner = CliRunner()
    assert runner.invoke(cli, ["-C", str(repo.path), "split", "--all"]).exit_code == 0
    # the seed, from the work tree: rows the phases' and the reference's migrations run on
    repo.write(".stager/rules.toml", 'extends = "default"\n[verify]\nseed = "fixtures/seed.sql"\n')
    repo.write("fixtures/seed.sql", "INSERT INTO account VALUES (1), (2);\n")
    result = runner.invoke(cli, ["-C", str(repo.path), "verify", "--database", "--format", "json"])

    database = json.loads(result.stdout)["database"]
    end_state = database["end_state"]
    assert (end_state["ok"], end_state["skipped"]) == (True, False), result.output
    assert end_state["problems"] == end_state["warnings"] == []
    assert end_state["against"] == "the merge of main and head"
    assert database["notes"][0].startswith("data: the seed fixtures/seed.sql loaded")
    assert [run["data_change"] for run in database["phases"]] == [None, []]
    assert result.exit_code == 0, result.output


def test_a_project_that_keeps_alembic_version_in_a_schema_of_its_own_is_proven(
    repo: GitRepo, postgres_binaries: Binaries
) -> None:
    # a multi-tenant project's env.py: its version table in the schema app_meta, which it
    # creates itself; stager reads that from env.py, probes there and reads each step's
    # heads there
    in_app_meta = env_py_with(
        ["CREATE SCHEMA IF NOT EXISTS app_meta"], ', version_table_schema="app_meta"'
    )
    feature_branch(repo, base_changes={"migrations/env.py": in_app_meta})
    runner = CliRunner()
    assert runner.invoke(cli, ["-C", str(repo.path), "split", "--all"]).exit_code == 0
    repo.write(".stager/rules.toml", 'extends = "default"\n[verify]\nseed = "seed.sql"\n')
    repo.write("seed.sql", "INSERT INTO account VALUES (1);\n")
    result = runner.invoke(cli, ["-C", str(repo.path), "verify", "--database", "--format", "json"])

    database = json.loads(result.stdout)["database"]
    assert [run["problems"] for run in database["phases"]] == [[], []], result.output
    # the version table, whose row each step changes, is no table of the project's data
    assert [run["data_change"] for run in database["phases"]] == [None, []]
    assert database["end_state"]["ok"] and database["end_state"]["problems"] == []
    assert result.exit_code == 0, result.output


def test_a_version_table_env_py_computes_is_named_and_verify_version_table_fixes_it(
    repo: GitRepo, postgres_binaries: Binaries
) -> None:
    computed = env_py_with(
        ["CREATE SCHEMA IF NOT EXISTS app_meta"],
        ", version_table_schema=META",
        top='META = "app_meta"\n',
    )
    feature_branch(repo, base_changes={"migrations/env.py": computed})
    runner = CliRunner()
    assert runner.invoke(cli, ["-C", str(repo.path), "split", "--all"]).exit_code == 0
    refused = runner.invoke(cli, ["-C", str(repo.path), "verify", "--database"])
    message = " ".join(refused.stderr.split())
    assert refused.exit_code == 1, refused.output
    assert (
        "did not read the probe revision stager wrote into public.alembic_version: its env.py "
        "(migrations/env.py) passes context.configure version_table_schema=META (line "
    ) in message, message
    assert '[verify] version_table = "SCHEMA.alembic_version"' in message

    repo.write(
        ".stager/rules.toml",
        'extends = "default"\n[verify]\nversion_table = "app_meta.alembic_version"\n',
    )
    result = runner.invoke(cli, ["-C", str(repo.path), "verify", "--database", "--format", "json"])
    database = json.loads(result.stdout)["database"]
    assert [run["problems"] for run in database["phases"]] == [[], []], result.output
    assert result.exit_code == 0, result.output


def test_database_url_needs_database_and_database_runs_every_phase() -> None:
    runner = CliRunner()
    alone = runner.invoke(cli, ["verify", "--database-url", "postgresql://x@localhost/db"])
    assert alone.exit_code == 2 and "add --database" in alone.stderr
    one = runner.invoke(cli, ["verify", "--database", "--phase", "2"])
    assert one.exit_code == 2 and "leave out --phase" in one.stderr


def test_the_help_says_that_the_projects_own_code_runs() -> None:
    help_text = CliRunner().invoke(cli, ["verify", "--help"]).stdout
    assert "RUNS THE PROJECT'S OWN CODE" in " ".join(help_text.split())


def _parent(pid: int) -> int | None:
    with contextlib.suppress(OSError, IndexError, ValueError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rpartition(")")[2].split()[1])
    return None


def _servers_of(pid: int) -> dict[int, Path]:
    """The postmasters that process ``pid`` started, with their folders.

    Only its own: other tests (another xdist worker, another suite on the machine)
    start and stop servers of their own meanwhile, in the same /tmp.
    """
    found: dict[int, Path] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            words = (entry / "cmdline").read_bytes().split(b"\0")
            if b"-D" in words and _parent(int(entry.name)) == pid:
                data = Path(os.fsdecode(words[words.index(b"-D") + 1]))
                if data.parent.name.startswith("stager-postgres-"):
                    found[int(entry.name)] = data.parent
    return found


def test_sigterm_in_the_middle_of_a_phase_leaves_no_server_database_or_worktree(
    repo: GitRepo, postgres_binaries: Binaries
) -> None:
    feature_branch(repo)
    assert CliRunner().invoke(cli, ["-C", str(repo.path), "split", "--all"]).exit_code == 0
    child = subprocess.Popen(
        [sys.executable, "-m", "stager", "-C", str(repo.path), "verify", "--database"],
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
    servers = _servers_of(child.pid)
    assert len(servers) == 1, seen  # its server runs now
    births = {pid: started(pid) for pid in servers}  # a pid alone may be reused
    child.send_signal(signal.SIGTERM)
    rest = child.stderr.read()
    child.stderr.close()
    assert child.wait(60) == 143, rest
    assert "terminated (SIGTERM)" in rest
    assert all(ends_soon(pid, start=births[pid]) for pid in servers), servers
    assert not any(folder.exists() for folder in servers.values()), servers
    worktrees = subprocess.run(
        ["git", "-C", str(repo.path), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert worktrees.count("worktree ") == 1, worktrees
