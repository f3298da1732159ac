"""`stager plan` as a user types it: CliRunner, and real subprocesses for determinism."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from tests.gitrepo import GitRepo
from tests.plan.helpers import RULES, make_branch
from tests.snapshot_files import check_snapshot

MODEL = "backend/app/models/compliance_report.py"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def plan_json(demo: DemoRepository, *extra: str) -> dict[str, object]:
    result = invoke("-C", str(demo.path), "plan", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_json_has_the_phases_of_analyze_and_the_conflicts(demo: DemoRepository) -> None:
    data = plan_json(demo)
    assert set(data) >= {"head", "merge_base", "phases", "conflicts", "dependencies", "findings"}
    analyzed = json.loads(invoke("-C", str(demo.path), "analyze", "--format", "json").stdout)
    assert data["phases"] == analyzed["phases"]  # analyze shows the plan's phases
    assert data["conflicts"] == analyzed["conflicts"]
    phases = data["phases"]
    assert isinstance(phases, list)
    for phase in phases:
        assert set(phase) == {
            "number",
            "name",
            "title",
            "files",
            "migrations",
            "depends_on",
            "risk",
            "maintenance_window",
            "derived",
        }
    by_path = {f["path"]: p["number"] for p in phases for f in p["files"]}
    versions = "backend/migrations/versions/"
    snapshot_column = by_path[
        f"{versions}2024_05_02_1600-8e2f4a6c8e0a_add_historical_snapshot_to_summary.py"
    ]
    backfill = by_path[f"{versions}2024_05_13_1000-c7a9e1b3d5f7_backfill_historical_snapshot.py"]
    drop = by_path[f"{versions}2024_05_20_1130-4f6a8c0e2a4c_drop_credits_offset_columns.py"]
    service = by_path["backend/app/services/compliance_service.py"]
    # The model gaining historical_snapshot never lands before the column's migration;
    assert by_path[MODEL] >= snapshot_column
    # the backfill comes after the column it fills;
    assert backfill > snapshot_column
    # the drop lands strictly after the code that stops using the dropped columns.
    assert drop > max(service, by_path[MODEL])
    conflicts = data["conflicts"]
    assert isinstance(conflicts, list)
    (conflict,) = conflicts
    assert conflict == {
        "path": MODEL,
        "asked": 1,
        "needed": 3,
        "kind": "model",
        "dependency": "backend/app/services/compliance_service.py",
        "reason": conflict["reason"],
        "strict": False,
    }


def test_strict_fails_listing_each_conflict(demo: DemoRepository) -> None:
    result = CliRunner().invoke(cli, ["-C", str(demo.path), "plan", "--strict"])
    assert result.exit_code == 1
    assert "--strict: the rules put 1 file before what it needs" in result.stderr
    assert f"{MODEL}: asked for phase 1 (foundation), needs phase 3 (application)" in result.stderr
    assert "stops mapping ComplianceReportSummary.credits_offset_a" in result.stderr


def test_write_makes_the_plan_file(demo: DemoRepository, tmp_path: Path) -> None:
    target = tmp_path / "stager-plan.toml"
    result = invoke("-C", str(demo.path), "plan", "--write", str(target), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["head"] == demo.head
    assert f"wrote {target}" in result.stderr
    text = target.read_text(encoding="utf-8")
    assert f'head = "{demo.head}"' in text
    assert text.count("[[phase]]") == 4


def test_table_names_every_phase_and_the_move(demo: DemoRepository) -> None:
    result = invoke("-C", str(demo.path), "plan")
    assert result.exit_code == 0
    for text in ("Phase 1: Foundation", "Phase 4: ETL and contract", "Moved by dependencies (1)"):
        assert text in result.stdout
    # the mixed 4f6a8c0e2a4c: its expand revision follows the backfill, its contract that
    (expand,) = re.findall(r"([0-9a-f]{12}) ← c7a9e1b3d5f7", result.stdout)
    assert f"4f6a8c0e2a4c ← {expand}" in result.stdout
    assert "Expand/contract splits (1)" in result.stdout


def test_markdown_staging_document_snapshot(demo: DemoRepository) -> None:
    result = invoke("-C", str(demo.path), "plan", "--format", "markdown")
    assert result.exit_code == 0
    text = result.stdout
    for heading in (
        "## Executive summary",
        "### Risk assessment",
        "## Phase 1: Foundation",
        "### What to include",
        "### What to exclude",
        "**Database impact:**",
        "**Backward compatibility:**",
        "**Rollback:**",
        "### Dependencies",
        "### PR title",
        "### Testing and verification",
        "alembic -c backend/alembic.ini upgrade head",
        # the downgrade starts with its precondition: the database is at phase 1's head
        "test \"$(alembic -c backend/alembic.ini current | cut -d' ' -f1)\" = 8e2f4a6c8e0a "
        "&& alembic -c backend/alembic.ini downgrade d1f3b5d7f9b1\n",
        "### Rollback steps",
    ):
        assert heading in text, heading
    check_snapshot("demo-plan.md", text)


def test_no_phases_is_a_clear_error(demo: DemoRepository, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[category]]\nname = "all"\npaths = ["*"]\nrisk = "low"\n')
    result = CliRunner().invoke(cli, ["-C", str(demo.path), "--rules", str(rules), "plan"])
    assert result.exit_code == 1
    assert "define no [[phase]]" in result.stderr


def test_same_inputs_give_byte_identical_output(demo: DemoRepository) -> None:
    # Separate processes with different hash seeds: no set order may leak into the output.
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-m", "stager", "-C", str(demo.path), "plan", "--format", "markdown"],
            capture_output=True,
            env=env,
            check=True,
        )
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]
    assert (
        outputs[0].decode("utf-8")
        == invoke("-C", str(demo.path), "plan", "--format", "markdown").stdout
    )


def test_strict_counts_several_conflicts_in_plain_words(repo: GitRepo, tmp_path: Path) -> None:
    make_branch(
        repo,
        {},
        {
            "app/helpers.py": "def fmt(x):\n    return str(x)\n",
            "app/models/a.py": "from app.helpers import fmt\n\nA = fmt(1)\n",
            "app/models/b.py": "from app.helpers import fmt\n\nB = fmt(2)\n",
        },
    )
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["-C", str(repo.path), "--rules", str(rules), "plan", "--strict"]
    )
    assert result.exit_code == 1
    assert "--strict: the rules put 2 files before what they need:" in result.stderr


def test_write_from_a_subfolder_names_the_plan_split_must_read(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_branch(repo, {}, {"app/models/a.py": "A = 1\n"})
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    sub = repo.path / "app"
    monkeypatch.chdir(sub)
    written = invoke("--rules", str(rules), "plan", "--write", "stager-plan.toml")
    assert written.exit_code == 0, written.output
    # relative to the current folder, like every path option; split only finds the
    # top-level one by itself, so the hint must name this one with --plan
    assert (sub / "stager-plan.toml").is_file()
    assert not (repo.path / "stager-plan.toml").exists()
    assert f"`stager split --plan {sub / 'stager-plan.toml'}`" in written.stderr
    split = invoke(
        "--rules",
        str(rules),
        "split",
        "--all",
        "--dry-run",
        "--plan",
        str(sub / "stager-plan.toml"),
    )
    assert split.exit_code == 0, split.output

    top = invoke("--rules", str(rules), "plan", "--write", "../stager-plan.toml")
    assert top.exit_code == 0, top.output
    assert (repo.path / "stager-plan.toml").is_file()
    assert "--plan" not in top.stderr
    assert "`stager split` and `stager open-pr` use it" in top.stderr


def test_a_template_linked_out_of_the_tree_is_refused(repo: GitRepo, tmp_path: Path) -> None:
    secret = tmp_path / "hosts.yml"
    secret.write_text("oauth_token: gho_secret\n")
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("work", {"backend/app/models/thing.py": "class Thing:\n    pass\n"})
    link = repo.path / ".stager" / "templates" / "plan.md.j2"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    repo.commit("a template that is a link")
    result = invoke("-C", str(repo.path), "plan", "--format", "markdown")
    assert result.exit_code == 1
    assert "gho_secret" not in result.output
    assert ".stager/templates/plan.md.j2" in result.stderr and "symbolic link" in result.stderr


def test_a_plan_file_that_is_not_one_says_what_to_pass_instead(repo: GitRepo) -> None:
    """Empty, someone else's TOML, a device: each gets the fix that applies, never a
    suggestion to write a plan over pyproject.toml or /dev/null."""
    make_branch(repo, {}, {"app/a.py": "A = 1\n"})
    folder = str(repo.path)
    empty = repo.path / "empty.toml"
    empty.write_text("")
    other = repo.path / "pyproject.toml"
    other.write_text('[project]\nname = "x"\n')
    split = ("-C", folder, "split", "--all", "--dry-run", "--plan")

    result = invoke(*split, str(empty))
    assert result.exit_code == 1, result.output
    command = "stager plan --base main --head HEAD --write"
    assert f"{empty}: empty: not a plan file — write the plan into it: {command} {empty}" in (
        result.stderr
    )
    written = invoke("-C", folder, "plan", "--write", str(empty))  # the fix works
    assert written.exit_code == 0, written.output
    assert invoke(*split, str(empty)).exit_code == 0

    result = invoke(*split, str(other))
    assert result.exit_code == 1, result.output
    assert f"{other}: not a plan file stager wrote (it has no `version`)" in result.stderr
    assert f"{command} stager-plan.toml" in result.stderr
    assert f"--write {other}" not in result.stderr

    result = invoke(*split, os.devnull)
    assert result.exit_code == 1, result.output
    assert f"{os.devnull}: not a regular file" in result.stderr
    assert f"--write {os.devnull}" not in result.stderr

    result = invoke("-C", folder, "plan", "--write", os.devnull)
    assert result.exit_code == 1, result.output
    assert f"--write {os.devnull} is not a regular file" in result.stderr
    assert "--write stager-plan.toml" in result.stderr and "delete" not in result.stderr
